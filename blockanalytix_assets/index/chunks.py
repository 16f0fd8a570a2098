"""Chunked node merges: sort-key boundaries from row-group statistics and the chunks' filters."""

from __future__ import annotations

import pyarrow.compute as pc
import pyarrow.parquet as pq


def chunk_bounds(footers: list[pq.FileMetaData], sort_column: str, n: int) -> list:
    """Up to n-1 increasing sort-key values splitting the files' rows into ~equal parts ([] without statistics)."""
    mins: list[tuple] = []
    for md in footers:
        col = md.schema.to_arrow_schema().get_field_index(sort_column)
        for g in range(md.num_row_groups):
            st = md.row_group(g).column(col).statistics
            if st is None or not st.has_min_max:
                return []
            mins.append((st.min, md.row_group(g).num_rows))
    mins.sort(key=lambda m: m[0])
    total = sum(rows for _, rows in mins)
    bounds: list = []
    cum, j = 0, 1
    for value, rows in mins:
        if cum >= j * total / n:
            if not bounds or value > bounds[-1]:
                bounds.append(value)
            j = cum * n // total + 1
        cum += rows
    return bounds


def chunk_filters(sort_column: str, bounds: list) -> list[pc.Expression | None]:
    """Filters for the key ranges (-inf or null, b1), [b1, b2), ..., [bn, inf): every row in exactly one."""
    if not bounds:
        return [None]
    col = pc.field(sort_column)
    out = [col.is_null() | (col < bounds[0])]
    out += [(col >= lo) & (col < hi) for lo, hi in zip(bounds, bounds[1:], strict=False)]
    return [*out, col >= bounds[-1]]
