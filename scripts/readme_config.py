"""Rewrite the configuration reference in README.md from the settings models (`make generate`)."""

from __future__ import annotations

from pathlib import Path

from soroka.commands.config import reference

START, END = "<!-- config-reference:start -->\n", "<!-- config-reference:end -->"


def main() -> None:
    readme = Path(__file__).resolve().parents[1] / "README.md"
    text = readme.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(head + START + reference() + END + tail)
    print("README.md: configuration reference rewritten")


if __name__ == "__main__":
    main()
