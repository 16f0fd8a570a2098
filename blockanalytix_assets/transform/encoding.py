"""Integer codes for string columns (addresses, hashes) and grouped reductions over them, in Arrow/numpy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def encode(*columns: pa.Array | pa.ChunkedArray) -> tuple[list[np.ndarray], pa.Array]:
    """One code space over all columns: int64 codes per column (-1 for null) and the distinct values."""
    chunks = [c for col in columns for c in (col.chunks if isinstance(col, pa.ChunkedArray) else [col])]
    chunks = [c.cast(pa.large_string()) for c in chunks]  # large offsets: the concatenation may exceed 2 GiB
    combined = pa.concat_arrays(chunks) if chunks else pa.array([], pa.large_string())
    encoded = pc.dictionary_encode(combined)
    codes = pc.fill_null(encoded.indices.cast(pa.int64()), -1).to_numpy()
    out, start = [], 0
    for col in columns:
        out.append(codes[start : start + len(col)])
        start += len(col)
    return out, encoded.dictionary


def grouped_min_max(codes: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-code min and max of values (0 where a code has no values)."""
    mn, mx = np.full(n, np.inf), np.full(n, -np.inf)
    np.minimum.at(mn, codes, values)
    np.maximum.at(mx, codes, values)
    return np.where(np.isfinite(mn), mn, 0.0), np.where(np.isfinite(mx), mx, 0.0)


def unique_pairs(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """Distinct (a, b) code pairs packed as a * n + b; rows where b < 0 are dropped (hash-based, unsorted)."""
    ok = b >= 0
    return pd.unique(a[ok].astype(np.int64) * n + b[ok])
