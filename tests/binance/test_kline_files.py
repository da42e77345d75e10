"""Reading Binance kline CSV files: formats, header, µs timestamps, ordering, bad rows, real data."""

from __future__ import annotations

import gzip
import lzma
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from shared_paths import KLINES_DIR
from soroka.history.klinefiles import (
    KlineFileError,
    find_kline_files,
    iter_kline_files,
    load_klines,
    read_kline_file,
)

HEADER = "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,ignore\n"
T0 = 1735689600000  # 2025-01-01


def _rows(n: int = 5, start: int = T0, us: bool = False) -> str:
    lines = []
    for i in range(n):
        ot = start + i * 60_000
        t = ot * 1000 if us else ot
        ct = (ot + 59_999) * (1000 if us else 1) + (999 if us else 0)
        lines.append(f"{t},0.1{i},0.3{i},0.0{i},0.2{i},10{i}.5,{ct},2{i}.125,{7 + i},1.0,2.0,0\n")
    return "".join(lines)


def _write(path: Path, text: str) -> Path:
    data = text.encode()
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(data))
    elif path.name.endswith(".xz"):
        path.write_bytes(lzma.compress(data))
    elif path.name.endswith(".zip"):
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr(path.name.replace(".zip", ".csv"), data)
    else:
        path.write_bytes(data)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".csv.xz", ".zip"])
@pytest.mark.parametrize("header", [True, False])
def test_every_format_with_or_without_header_reads_the_same_candles(
    tmp_path: Path, suffix: str, header: bool
) -> None:
    path = _write(tmp_path / f"ABCUSDT-1m-2025-01{suffix}", (HEADER if header else "") + _rows())
    symbol, a = read_kline_file(path)
    assert symbol == "ABCUSDT"
    assert len(a) == 5
    assert a.open_time.tolist() == [T0 + i * 60_000 for i in range(5)]
    assert a.close.tolist() == [0.2, 0.21, 0.22, 0.23, 0.24]
    assert a.high[1] == 0.31 and a.low[2] == 0.02 and a.open[3] == 0.13
    assert a.volume[4] == 104.5 and a.quote_volume[0] == 20.125
    assert a.trades.tolist() == [7, 8, 9, 10, 11]


def test_microsecond_timestamps_are_normalised_per_row(tmp_path: Path) -> None:
    text = _rows(3, us=True) + _rows(2, start=T0 + 3 * 60_000)
    _, a = read_kline_file(_write(tmp_path / "ABCUSDT-1m-2025-01.csv", text))
    assert a.open_time.tolist() == [T0 + i * 60_000 for i in range(5)]


def test_rows_are_sorted_and_duplicates_dropped(tmp_path: Path) -> None:
    lines = _rows(4).splitlines(keepends=True)
    text = lines[2] + lines[0] + lines[1] + lines[0] + lines[3]
    _, a = read_kline_file(_write(tmp_path / "ABCUSDT-1m-2025-01.csv", text))
    assert a.open_time.tolist() == [T0 + i * 60_000 for i in range(4)]
    assert len(np.unique(a.open_time)) == 4


def test_decimals_parse_exactly_as_python_float(tmp_path: Path) -> None:
    values = [
        "0.1",
        "0.30000000000000004",
        "2.269",
        "109075.69000000",
        "0.00012345",
        "1e-8",
        "12345678.12345678",
    ]
    text = "".join(
        f"{T0 + i * 60000},{v},{v},{v},{v},{v},{T0 + i * 60000 + 59999},{v},1,0,0,0\n"
        for i, v in enumerate(values)
    )
    _, a = read_kline_file(_write(tmp_path / "ABCUSDT-1m-2025-01.csv", text))
    assert a.close.tolist() == [float(v) for v in values]
    assert a.quote_volume.tolist() == [float(v) for v in values]


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ("1735689780000,0.1,0.3,0.0,abc,1,1735689839999,1,7,1,2,0\n", "not a kline row"),
        ("1735689780000,0.1,0.3\n", "expected 12 columns"),
        ("1735689780000,0.1,0.3,0.0,,1,1735689839999,1,7,1,2,0\n", "not a kline row"),
    ],
)
def test_a_bad_row_names_file_and_line(tmp_path: Path, bad: str, expected: str) -> None:
    path = _write(
        tmp_path / "ABCUSDT-1m-2025-01.csv.gz", HEADER + _rows(3) + bad + _rows(1, start=T0 + 10 * 60_000)
    )
    with pytest.raises(KlineFileError, match=rf"ABCUSDT-1m-2025-01.csv.gz:5: {expected}"):
        read_kline_file(path)


def test_unusable_files_are_refused_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(KlineFileError, match="file name must look like"):
        read_kline_file(_write(tmp_path / "klines.csv", _rows()))
    broken = tmp_path / "ABCUSDT-1m-2025-01.csv.xz"
    broken.write_bytes(b"not xz")
    with pytest.raises(KlineFileError, match="cannot read/decompress"):
        read_kline_file(broken)
    two = tmp_path / "ABCUSDT-1m-2025-02.zip"
    with zipfile.ZipFile(two, "w") as zf:
        zf.writestr("a.csv", _rows())
        zf.writestr("b.csv", _rows())
    with pytest.raises(KlineFileError, match="exactly one CSV, found 2"):
        read_kline_file(two)


def test_files_are_found_and_merged_per_symbol(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "ABCUSDT-1m-2025-01.csv", _rows(3))
    _write(tmp_path / "sub" / "ABCUSDT-1m-2025-02.csv.gz", _rows(3, start=T0 + 2 * 60_000))
    _write(tmp_path / "XYZUSDT-1m-2025-01.zip", _rows(2))
    _write(tmp_path / "notes.txt", "hello")
    files = find_kline_files(tmp_path)
    assert [f.name for f in files] == [
        "ABCUSDT-1m-2025-01.csv",
        "XYZUSDT-1m-2025-01.zip",
        "ABCUSDT-1m-2025-02.csv.gz",
    ]
    assert [f.name for f in find_kline_files(tmp_path, ["xyzusdt"])] == ["XYZUSDT-1m-2025-01.zip"]
    assert [s for s, _ in iter_kline_files(files)] == ["ABCUSDT", "XYZUSDT", "ABCUSDT"]
    merged = load_klines(files)
    assert sorted(merged) == ["ABCUSDT", "XYZUSDT"]
    assert merged["ABCUSDT"].open_time.tolist() == [T0 + i * 60_000 for i in range(5)]


def test_real_monthly_files_read_fast_and_whole() -> None:
    files = find_kline_files(KLINES_DIR)
    assert files, "the shared Binance kline files are missing"
    t0 = time.perf_counter()
    rows = 0
    for symbol, a in iter_kline_files(files):
        rows += len(a)
        assert len(a) == 30 * 1440, symbol  # September: every minute present
        assert np.all(np.diff(a.open_time) == 60_000)
        assert np.all(a.high >= np.maximum(a.open, a.close)) and np.all(a.low <= np.minimum(a.open, a.close))
    rate = rows / (time.perf_counter() - t0)
    print(f"klinefiles: {rows} rows at {rate:,.0f} rows/s")
    assert rate > 50_000
