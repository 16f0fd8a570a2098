"""Vectorised encoders for the synthetic serving store: hex strings, id -> address, Zipf ids, exact wei."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from blockanalytix_assets.ingest.schema import WEI

EOA, CONTRACT, LABEL_SALT = 0, 1, 3  # salts: the two address populations, and which ids carry labels
TYPOLOGIES = np.array(["phishing_drain", "peel_chain", "wash_trading", "dusting", "fan_out_burst"])
_LUT = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def hex_strings(raw: np.ndarray) -> pa.StringArray:
    """'0x' + lower-case hex of each row of an (n, k) uint8 array, built without per-row Python strings."""
    n, k = raw.shape
    digits = np.empty((n, 2 + 2 * k), dtype=np.uint8)
    digits[:, 0], digits[:, 1] = ord("0"), ord("x")
    digits[:, 2::2], digits[:, 3::2] = _LUT[raw >> 4], _LUT[raw & 15]
    offsets = np.arange(0, (2 + 2 * k) * (n + 1), 2 + 2 * k, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(digits.ravel()))


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a bijection on uint64 whose outputs look uniform."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def mixed(ids: np.ndarray, salt: int) -> np.ndarray:
    """A stable pseudo-random uint64 per (id, salt)."""
    return _mix(ids.astype(np.uint64) * np.uint64(4) + np.uint64(salt))


def addresses(ids: np.ndarray, salt: int = EOA) -> pa.StringArray:
    """The 20-byte hex address of each id (salt EOA or CONTRACT picks the population)."""
    words = np.stack([mixed(ids * 3 + j, salt) for j in range(3)], axis=1)
    return hex_strings(words.view(np.uint8).reshape(len(ids), 24)[:, :20])


def random_hashes(rng: np.random.Generator, n: int) -> pa.StringArray:
    return hex_strings(rng.integers(0, 256, size=(n, 32), dtype=np.uint8))


def zipf_ids(rng: np.random.Generator, n: int, population: int, a: float) -> np.ndarray:
    """n ids in [0, population) with P(id) ~ (id + 1)^-a (inverse CDF of a truncated Pareto)."""
    u = rng.random(n)
    top = float(population + 1) ** (1.0 - a)
    ranks = (1.0 - u * (1.0 - top)) ** (1.0 / (1.0 - a))
    return np.minimum(ranks.astype(np.int64) - 1, population - 1)


def wei(gwei: np.ndarray) -> pa.Array:
    """Exact decimal128(38, 0) wei = gwei * 1e9 for 0 <= gwei < 2^53, from 16-byte little-endian words."""
    g = gwei.astype(np.uint64)
    lo, hi = (g & np.uint64(0xFFFFFFFF)) * np.uint64(10**9), (g >> np.uint64(32)) * np.uint64(10**9)
    low = lo + ((hi & np.uint64(0xFFFFFFFF)) << np.uint64(32))
    high = (hi >> np.uint64(32)) + (low < lo).astype(np.uint64)
    words = np.stack([low, high], axis=1)
    return pa.Array.from_buffers(WEI, len(g), [None, pa.py_buffer(words.tobytes())])


def pick(names: list[str], codes: np.ndarray) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(names)).dictionary_decode()


def labelled(ids: np.ndarray, every: int) -> np.ndarray:
    """Whether each EOA id carries a label (a fixed pseudo-random subset)."""
    return mixed(ids, LABEL_SALT) % np.uint64(every) == 0


def typology(ids: np.ndarray) -> pa.Array:
    codes = (mixed(ids, LABEL_SALT) // np.uint64(7919) % np.uint64(len(TYPOLOGIES))).astype(np.int32)
    return pa.array(TYPOLOGIES[codes], pa.string())
