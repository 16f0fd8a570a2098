"""Grouped reductions (sum/min/max, exact 128-bit wei sums) over integer group codes, sorting once."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from blockanalytix_assets.ingest.schema import WEI

I64_MAX, I64_MIN = np.iinfo(np.int64).max, np.iinfo(np.int64).min
U64_MAX = np.iinfo(np.uint64).max
_LOW32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
Fill = float | np.generic  # a reduction's value for groups without rows


class Grouping:
    """Rows with codes in 0..n-1, sorted once (stably: input order within a group); results are length n."""

    def __init__(self, codes: np.ndarray, n: int, order: np.ndarray | None = None):
        codes = np.asarray(codes, dtype=np.int64)
        self.n = n
        self.order = np.argsort(codes, kind="stable") if order is None else order
        c = codes[self.order]
        new = np.empty(len(c), dtype=bool)
        new[:1] = True
        new[1:] = c[1:] != c[:-1]
        self.starts = np.flatnonzero(new)
        self.groups = c[self.starts]  # the codes present, ascending
        self.sizes = np.diff(np.append(self.starts, len(c)))
        self.row_group = np.repeat(np.arange(len(self.starts)), self.sizes)  # sorted row -> present-group index

    def _scatter(self, values: np.ndarray, fill: Fill) -> np.ndarray:
        if len(self.groups) == self.n:
            return values
        out = np.full((self.n, *values.shape[1:]), fill, dtype=values.dtype)
        out[self.groups] = values
        return out

    def reduce(self, values: np.ndarray, ufunc: np.ufunc, fill: Fill = 0) -> np.ndarray:
        """ufunc.reduceat per group (fill where a group has no rows)."""
        values = np.asarray(values)
        if not len(self.starts):
            return np.full((self.n, *values.shape[1:]), fill, dtype=values.dtype)
        return self._scatter(ufunc.reduceat(values[self.order], self.starts), fill)

    def count(self) -> np.ndarray:
        return self._scatter(self.sizes.astype(np.int64), 0)

    def wei_sum(self, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact sums of non-negative 128-bit integers given as (low, high) uint64 halves (32-bit limbs)."""
        s = list(np.moveaxis(self.reduce(np.stack([low & _LOW32, low >> _S32, high & _LOW32, high >> _S32], -1),
                                         np.add, np.uint64(0)), -1, 0))  # fmt: skip
        for i in range(3):
            s[i + 1] = s[i + 1] + (s[i] >> _S32)
            s[i] = s[i] & _LOW32
        return s[0] | (s[1] << _S32), s[2] | (s[3] << _S32)

    def wei_extreme(
        self, low: np.ndarray, high: np.ndarray, valid: np.ndarray, largest: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-group min (or max) of valid non-negative 128-bit values: (low, high, group has a value)."""
        ufunc, skip = (np.maximum, np.uint64(0)) if largest else (np.minimum, U64_MAX)
        hi = np.where(valid, high, skip)
        best_hi = self.reduce(hi, ufunc, skip)
        tie = valid & (hi == best_hi[self._codes()])
        best_lo = self.reduce(np.where(tie, low, skip), ufunc, skip)
        has = self.reduce(np.asarray(valid, dtype=bool), np.logical_or, False)
        return np.where(has, best_lo, 0), np.where(has, best_hi, 0), has

    def _codes(self) -> np.ndarray:
        """The code of each input row (in input order)."""
        if not hasattr(self, "_row_codes"):
            codes = np.empty(len(self.order), dtype=np.int64)
            codes[self.order] = self.groups[self.row_group]
            self._row_codes = codes
        return self._row_codes


def wei_parts(arr: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(low, high, valid) uint64 halves of a decimal128 column (0 where null)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks else pa.array([], WEI)
    n, off = len(arr), arr.offset
    if n == 0:
        z = np.zeros(0, np.uint64)
        return z, z, np.zeros(0, bool)
    data = np.frombuffer(arr.buffers()[1], dtype=np.uint64, count=2 * (off + n))[2 * off :].reshape(n, 2)
    valid = arr.is_valid().to_numpy(zero_copy_only=False) if arr.null_count else np.ones(n, bool)
    low, high = data[:, 0].copy(), data[:, 1].copy()
    low[~valid], high[~valid] = 0, 0
    return low, high, valid


def wei_array(low: np.ndarray, high: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A decimal128(38, 0) array from uint64 halves (null where not valid)."""
    n = len(low)
    data = np.empty((n, 2), dtype=np.uint64)
    data[:, 0], data[:, 1] = low, high
    validity = None
    if valid is not None and not np.all(valid):
        validity = pa.array(np.asarray(valid, dtype=bool)).buffers()[1]
    return pa.Array.from_buffers(WEI, n, [validity, pa.py_buffer(data.tobytes())])


def _address_words(address: pa.Array) -> list[np.ndarray] | None:
    """Big-endian uint64 words of bytes 2..42 of 42-byte strings sharing their first two bytes (0x), else None.

    Big-endian words of the raw bytes order like the strings (bytewise), so no hex decoding is needed.
    """
    n = len(address)
    if n == 0 or address.null_count or address.type not in (pa.string(), pa.large_string()):
        return None
    wide = address.type == pa.large_string()
    offsets = np.frombuffer(address.buffers()[1], dtype=np.int64 if wide else np.int32, count=n + 1,
                            offset=address.offset * (8 if wide else 4))  # fmt: skip
    if not np.all(np.diff(offsets) == 42):
        return None
    chars = np.frombuffer(address.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]].reshape(n, 42)
    if not (chars[:, :2] == chars[0, :2]).all():
        return None
    return list(np.ascontiguousarray(chars[:, 2:]).view(">u8").T)


def sort_addresses(address: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Stable order of the rows by address and, along it, True where a new address starts."""
    words = _address_words(address)
    n = len(address)
    new = np.ones(n, dtype=bool)
    if words is None:  # any other strings: Arrow's (stable) string sort
        order = pc.sort_indices(address).to_numpy()
        ordered = address.take(pa.array(order))
        if n > 1:
            ne = pc.not_equal(ordered.slice(1), ordered.slice(0, n - 1))
            new[1:] = pc.fill_null(ne, True).to_numpy(zero_copy_only=False)
        return order, new
    # sort on the first 8 bytes after 0x (runs of sorted inputs make this fast), then re-sort only the runs
    # where those tie between different addresses (rare but real: vanity 0x00000000... prefixes)
    order = np.argsort(words[0], kind="stable")
    s = [w[order] for w in words]
    same0 = s[0][1:] == s[0][:-1]
    same = same0.copy()
    for w in s[1:]:
        same &= w[1:] == w[:-1]
    if (same0 & ~same).any():
        run = np.cumsum(np.concatenate([[True], ~same0])) - 1
        pos = np.flatnonzero(np.isin(run, run[1:][same0 & ~same]))
        sub = np.lexsort([w[pos] for w in s[:0:-1]] + [run[pos]])
        order[pos] = order[pos][sub]
        s = [w[order] for w in words]
        same = np.ones(n - 1, dtype=bool)
        for w in s:
            same &= w[1:] == w[:-1]
    new[1:] = ~same
    return order, new


def combined(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    """One contiguous array (an empty one for a chunkless column)."""
    if isinstance(col, pa.ChunkedArray):
        return col.combine_chunks() if col.num_chunks else pa.array([], col.type)
    return col


def column_numpy(t: pa.Table, name: str) -> np.ndarray:
    """A table column as one numpy array."""
    return t.column(name).to_numpy(zero_copy_only=False)


def flag_numpy(t: pa.Table, name: str) -> np.ndarray:
    """A boolean column as a numpy bool array, null as False."""
    return pc.fill_null(t.column(name), False).to_numpy(zero_copy_only=False).astype(bool)


def filled_numpy(col: pa.Array, fill: Fill) -> np.ndarray:
    """numpy values with nulls replaced by fill (no copy through fill_null when there are none)."""
    return (pc.fill_null(col, fill) if col.null_count else col).to_numpy(zero_copy_only=False)


def group_addresses(address: pa.Array) -> tuple[np.ndarray, Grouping, pa.Array]:
    """Row -> group code in address order, the Grouping (input order within an address), distinct addresses."""
    order, new = sort_addresses(address)
    codes = np.empty(len(order), dtype=np.int64)
    codes[order] = np.cumsum(new) - 1
    return codes, Grouping(codes, int(new.sum()), order=order), address.take(pa.array(order[new]))


def extremes(codes: np.ndarray, values: np.ndarray, n: int) -> tuple[pa.Array, pa.Array]:
    """Per-code min and max (null where a code has no values) as int64 or float64 arrays."""
    g = Grouping(codes, n)
    out = []
    for ufunc, fill in ((np.minimum, np.inf), (np.maximum, -np.inf)):
        if values.dtype.kind != "f":
            fill = I64_MAX if fill > 0 else I64_MIN
        res = g.reduce(values, ufunc, fill)
        out.append(pa.array(res, mask=res == fill))
    return out[0], out[1]


def list_elements(lists: pa.Array, row_order: np.ndarray) -> np.ndarray:
    """Indices into a list column's flattened values, taking its rows in row_order."""
    offsets = lists.offsets.to_numpy().astype(np.int64)
    lengths = np.diff(offsets)[row_order]
    before = np.cumsum(lengths) - lengths
    return np.repeat(offsets[row_order] - offsets[0] - before, lengths) + np.arange(lengths.sum())


def merge_scalar(col: pa.Array, rule: str, g: Grouping) -> pa.Array:
    """Merge one scalar column by its rule (null = no value for min/max, unknown for known_sum); 1-D reduceat."""
    if rule == "known_sum":
        if len(col) and col.null_count == len(col):  # all unknown (no traces): nothing to add up
            return pa.nulls(g.n, col.type)
        total = merge_scalar(col, "sum", g)
        if not col.null_count:
            return total
        unknown = g.reduce(pc.is_null(col).to_numpy(zero_copy_only=False), np.logical_or, False)
        return pc.if_else(pa.array(unknown), pa.scalar(None, col.type), total)
    if col.type == WEI:
        low, high, valid = wei_parts(col)
        if rule == "sum":
            return wei_array(*g.wei_sum(low, high))
        return wei_array(*g.wei_extreme(low, high, valid, largest=rule == "max"))
    fill: Fill
    if rule in ("sum", "or"):
        fill, ufunc = (0, np.add) if rule == "sum" else (False, np.logical_or)
        return pa.array(g.reduce(filled_numpy(col, fill), ufunc, fill), col.type)
    largest = rule == "max"
    fill = (-np.inf if largest else np.inf) if pa.types.is_floating(col.type) else (I64_MIN if largest else I64_MAX)
    out = g.reduce(filled_numpy(col, fill), np.maximum if largest else np.minimum, fill)
    return pa.array(out, col.type, mask=out == fill)
