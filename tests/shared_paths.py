"""Paths of the test data: the shared real klines beside the checkout and the recorded payloads."""

from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
KLINES_DIR = SHARED / "data" / "binance-klines"
RESOURCES = Path(__file__).parent / "resources"
