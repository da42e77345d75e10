"""Counter-based random numbers: any (stream, symbol, minute) cell can be drawn alone, in any order.

A splitmix64 hash of the cell's coordinates gives the same number every time, which is what lets the
synthetic market generate candles lazily and still return identical candles on every request.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]
_C = [np.array([c], dtype=np.uint64) for c in (0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB)]
_K = [np.array([c], dtype=np.uint64) for c in (0xD6E8FEB86659FD93, 0xA0761D6478BD642F, 0xE7037ED1A0B428DB)]


def _mix(z: U64) -> U64:
    z = z + _C[0]
    z = (z ^ (z >> np.uint64(30))) * _C[1]
    z = (z ^ (z >> np.uint64(27))) * _C[2]
    return z ^ (z >> np.uint64(31))


def hashed(seed: int, stream: int, a: npt.ArrayLike, b: npt.ArrayLike) -> U64:
    """64-bit hashes of the cells ``(a, b)`` (broadcast) for one seed and stream."""
    aa = np.atleast_1d(np.asarray(a, dtype=np.int64)).astype(np.uint64)
    bb = np.atleast_1d(np.asarray(b, dtype=np.int64)).astype(np.uint64)
    head = _mix(np.array([seed & 0xFFFFFFFF, stream], dtype=np.uint64))
    return _mix(_mix(aa * _K[0] + head[0:1]) ^ (bb * _K[1] + head[1:2]))


def uniform(seed: int, stream: int, a: npt.ArrayLike, b: npt.ArrayLike) -> F64:
    """Uniform numbers in (0, 1)."""
    return ((hashed(seed, stream, a, b) >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / 2**53)


def normal(seed: int, stream: int, a: npt.ArrayLike, b: npt.ArrayLike) -> F64:
    """Standard normal numbers (Box-Muller over two hashed streams)."""
    u1 = uniform(seed, 2 * stream, a, b)
    u2 = uniform(seed, 2 * stream + 1, a, b)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
