"""Reading Binance 1m kline CSV files (plain, .gz, .xz, .zip) into CandleArrays: the backtest's and replay's input.

Layout as on data.binance.vision: 12 columns (open time, OHLC, volume, close time, quote volume, trades,
taker buy base/quote, ignore), header row optional, open times in ms or µs (spot files from 2025 carry µs;
detected per row: > 1e14 means µs). Numbers are parsed by pyarrow, which rounds decimals correctly.
"""

from __future__ import annotations

import csv
import gzip
import io
import lzma
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.csv as pacsv  # type: ignore[import-untyped]

from soroka.core.candles import CandleArrays

SUFFIXES = (".csv", ".csv.gz", ".csv.xz", ".zip")
_NAME = re.compile(r"^(?P<symbol>[A-Z0-9]+)-1m-")
_US_THRESHOLD = 100_000_000_000_000  # 1e14: an open time above this is in microseconds
# Column index -> type; only the columns Soroka uses are converted.
_COLUMNS: dict[str, pa.DataType] = {
    "f0": pa.int64(),
    "f1": pa.float64(),
    "f2": pa.float64(),
    "f3": pa.float64(),
    "f4": pa.float64(),
    "f5": pa.float64(),
    "f7": pa.float64(),
    "f8": pa.int64(),
}
_NAMES = [f"f{i}" for i in range(12)]


class KlineFileError(ValueError):
    """A kline file cannot be read: the message names the file (and line) and what is wrong. Permanent."""


def symbol_of(path: Path) -> str:
    m = _NAME.match(path.name)
    if m is None:
        raise KlineFileError(f"{path}: file name must look like SYMBOL-1m-....csv[.gz|.xz] or .zip")
    return m.group("symbol")


def _decompressed(path: Path) -> bytes:
    name = path.name
    try:
        if name.endswith(".gz"):
            return gzip.decompress(path.read_bytes())
        if name.endswith(".xz"):
            return lzma.decompress(path.read_bytes())
        if name.endswith(".zip"):
            with zipfile.ZipFile(path) as zf:
                members = [i for i in zf.infolist() if not i.is_dir()]
                if len(members) != 1:
                    raise KlineFileError(
                        f"{path}: a kline zip must hold exactly one CSV, found {len(members)}"
                    )
                return zf.read(members[0])
        return path.read_bytes()
    except (OSError, EOFError, lzma.LZMAError, zipfile.BadZipFile, gzip.BadGzipFile) as e:
        raise KlineFileError(f"{path}: cannot read/decompress: {e}") from e


def _has_header(data: bytes) -> bool:
    first = data[: data.find(b"\n") if b"\n" in data else len(data)].strip()
    return bool(first) and not first[:1].isdigit()


def _first_bad_line(path: Path, data: bytes, header: bool) -> str:
    """Slow path, only after the fast parser failed: find the first line that is not a kline row."""
    text = io.StringIO(data.decode("utf-8", errors="replace"))
    for lineno, row in enumerate(csv.reader(text), start=1):
        if lineno == 1 and header:
            continue
        if not row:
            continue
        if len(row) != 12:
            return f"{path}:{lineno}: expected 12 columns, found {len(row)}"
        try:
            for i in (0, 8):
                int(row[i])
            for i in (1, 2, 3, 4, 5, 7):
                float(row[i])
        except ValueError:
            return f"{path}:{lineno}: not a kline row: {','.join(row)[:120]!r}"
    return f"{path}: unreadable CSV"


def _parse(path: Path, data: bytes) -> pa.Table:
    header = _has_header(data)
    try:
        return pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=_NAMES, skip_rows=1 if header else 0),
            convert_options=pacsv.ConvertOptions(column_types=_COLUMNS, include_columns=list(_COLUMNS)),
        )
    except pa.ArrowInvalid as e:
        raise KlineFileError(_first_bad_line(path, data, header)) from e


def _col_f(table: pa.Table, name: str) -> npt.NDArray[np.float64]:
    return np.asarray(table.column(name).to_numpy(), dtype=np.float64)


def _col_i(table: pa.Table, name: str) -> npt.NDArray[np.int64]:
    return np.asarray(table.column(name).to_numpy(), dtype=np.int64)


def read_kline_file(path: str | Path) -> tuple[str, CandleArrays]:
    """One file -> (symbol, candles sorted by open time in ms, duplicate open times removed)."""
    p = Path(path)
    symbol = symbol_of(p)
    data = _decompressed(p)
    table = _parse(p, data)
    if any(table.column(n).null_count for n in _COLUMNS):
        raise KlineFileError(_first_bad_line(p, data, _has_header(data)))
    ot = _col_i(table, "f0")
    ot = np.where(ot > _US_THRESHOLD, ot // 1000, ot)
    arrays = CandleArrays(
        ot,
        _col_f(table, "f1"),
        _col_f(table, "f2"),
        _col_f(table, "f3"),
        _col_f(table, "f4"),
        _col_f(table, "f5"),
        _col_f(table, "f7"),
        _col_i(table, "f8"),
    )
    return symbol, sorted_unique(arrays)


def sorted_unique(a: CandleArrays) -> CandleArrays:
    """Sort by open time and keep the first row of each open time."""
    order = np.argsort(a.open_time, kind="stable")
    ot = a.open_time[order]
    keep = np.ones(ot.shape[0], dtype=bool)
    keep[1:] = ot[1:] != ot[:-1]
    idx = order[keep]
    if idx.shape[0] == ot.shape[0] and np.array_equal(order, np.arange(ot.shape[0])):
        return a
    return CandleArrays(*(col[idx] for col in _columns(a)))  # type: ignore[arg-type]


def _columns(a: CandleArrays) -> tuple[npt.NDArray[np.int64] | npt.NDArray[np.float64], ...]:
    return (a.open_time, a.open, a.high, a.low, a.close, a.volume, a.quote_volume, a.trades)


def concat(parts: Sequence[CandleArrays]) -> CandleArrays:
    """Join candle arrays of one symbol (e.g. monthly files) into one sorted, de-duplicated array."""
    if not parts:
        return CandleArrays.empty()
    cols = [np.concatenate([_columns(p)[i] for p in parts]) for i in range(8)]
    return sorted_unique(CandleArrays(*cols))  # type: ignore[arg-type]


def find_kline_files(directory: str | Path, symbols: Iterable[str] | None = None) -> list[Path]:
    """The 1m kline files under a directory (recursively), sorted by name; optionally only some symbols."""
    wanted = {s.upper() for s in symbols} if symbols is not None else None
    found = []
    for p in sorted(Path(directory).rglob("*")):
        if not p.is_file() or not p.name.endswith(SUFFIXES) or _NAME.match(p.name) is None:
            continue
        if wanted is None or symbol_of(p) in wanted:
            found.append(p)
    return found


def iter_kline_files(paths: Iterable[str | Path]) -> Iterator[tuple[str, CandleArrays]]:
    """Read files one at a time, so memory holds one file's candles at once."""
    for p in paths:
        yield read_kline_file(p)


def load_klines(paths: Iterable[str | Path]) -> dict[str, CandleArrays]:
    """All files merged per symbol (several months of one symbol become one array)."""
    parts: dict[str, list[CandleArrays]] = {}
    for symbol, arrays in iter_kline_files(paths):
        parts.setdefault(symbol, []).append(arrays)
    return {s: concat(p) for s, p in sorted(parts.items())}
