"""Regenerate the metrics table of docs/operations.md from the services' own metric registries.

Usage: python scripts/metrics_table.py [--check]   (--check exits 1 when the document is out of date)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "observability"))

from metric_catalog import (  # noqa: E402 - the catalog lives beside the tests that check it
    OPERATIONS_MD,
    TABLE_BEGIN,
    TABLE_END,
    catalog,
    documented_table,
    render_table,
)


def main(argv: list[str]) -> int:
    text = OPERATIONS_MD.read_text()
    current, wanted = documented_table(text), render_table(catalog())
    if current == wanted:
        print(f"{OPERATIONS_MD.relative_to(ROOT)}: metrics table up to date")
        return 0
    if "--check" in argv:
        print(f"{OPERATIONS_MD.relative_to(ROOT)}: metrics table out of date; run scripts/metrics_table.py")
        return 1
    block = f"{TABLE_BEGIN}\n{current}\n{TABLE_END}"
    OPERATIONS_MD.write_text(text.replace(block, f"{TABLE_BEGIN}\n{wanted}\n{TABLE_END}"))
    print(f"{OPERATIONS_MD.relative_to(ROOT)}: metrics table rewritten ({wanted.count(chr(10)) - 1} metrics)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
