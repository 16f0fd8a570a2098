"""Node shards: a key-sorted stream cut into files of at most shard_rows rows, only between different keys.

The cuts are a function of the row sequence alone (greedy: a shard ends before the run of equal keys that would
overflow it), and each shard's row groups start at its first row, so however the merge was chunked the shard
files have the same bytes. A run of one key longer than shard_rows gets a shard of its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc


def _run(keys: pa.ChunkedArray, i: int) -> tuple[int, int]:
    """[start, end) of the run of rows whose key equals keys[i] (sorted: equal keys, nulls too, are adjacent)."""
    value = keys[i]
    equal = pc.is_null(keys) if not value.is_valid else pc.equal(keys, value)
    start = pc.index(equal, True).as_py()
    return start, start + (pc.sum(equal).as_py() or 0)


class ShardCutter:
    """Row groups of consecutive shards of key-sorted tables; needs O(one input table + group_rows) memory."""

    def __init__(self, tables: Iterator[pa.Table], column: str, shard_rows: int, group_rows: int):
        self._tables, self.column, self.shard_rows, self.group_rows = tables, column, shard_rows, group_rows
        self._buf: pa.Table = next(tables)
        self._done = False
        self.shards = 0

    @property
    def schema(self) -> pa.Schema:
        return self._buf.schema

    def _pull(self) -> None:
        table = next(self._tables, None)
        if table is None:
            self._done = True
        elif table.num_rows:
            self._buf = pa.concat_tables([self._buf, table]) if self._buf.num_rows else table

    def more(self) -> bool:
        """Whether another shard follows (a node always has a first shard, perhaps empty)."""
        while not self._done and not self._buf.num_rows:
            self._pull()
        return self.shards == 0 or self._buf.num_rows > 0

    def _emit(self, n: int) -> Iterator[pa.Table]:
        head, self._buf = self._buf.slice(0, n), self._buf.slice(n)
        for s in range(0, n, self.group_rows):
            yield head.slice(s, self.group_rows).combine_chunks()

    def shard(self) -> Iterator[pa.Table]:
        """The next shard's row groups (after more() said True): group_rows rows each, the last one shorter."""
        self.shards += 1
        written = 0  # invariant: every written row's key differs from (precedes) every buffered row's key
        while True:
            buf, room = self._buf, self.shard_rows - written
            keys = buf.column(self.column)
            if buf.num_rows > room:  # the row that would overflow the shard is buffered: cut before its key
                start, end = _run(keys, room)
                cut = start if start > 0 or written > 0 else end  # a key filling the whole shard: cut after it
                if cut < buf.num_rows or self._done:
                    yield from self._emit(cut)
                    return
            elif self._done:
                yield from self._emit(buf.num_rows)
                return
            elif buf.num_rows:  # rows before the last key's run are in this shard: write whole groups of them
                n = _run(keys, buf.num_rows - 1)[0] // self.group_rows * self.group_rows
                yield from self._emit(n)
                written += n
            self._pull()


def track(groups: Iterator[pa.Table], column: str, info: dict) -> Iterator[pa.Table]:
    """Pass row groups through, recording rows and the first and last key (JSON-safe scalars) into info."""
    info.update(rows=0, key_min=None, key_max=None)
    for t in groups:
        if t.num_rows:
            if not info["rows"]:
                info["key_min"] = t.column(column)[0].as_py()
            info["key_max"] = t.column(column)[-1].as_py()
            info["rows"] += t.num_rows
        yield t


def chunk_ranges(bounds: list) -> list[tuple[Any, Any]]:
    """(low, high) of the chunks chunk_filters(bounds) makes; None is unbounded."""
    edges = [None, *bounds, None]
    return list(zip(edges, edges[1:], strict=False))


def overlaps(part: Any, low: Any, high: Any) -> bool:
    """Whether a part's [key_min, key_max] meets [low, high) (a part without key bounds always does)."""
    kmin, kmax = getattr(part, "key_min", None), getattr(part, "key_max", None)
    if kmin is None or kmax is None:
        return True
    return (low is None or kmax >= low) and (high is None or kmin < high)


def parts_for_key(cover: Sequence[Any], key: Any) -> list[Any]:
    """The cover parts that can hold key: parts without key bounds (leaves) and those whose bounds hold it."""
    out = []
    for p in cover:
        kmin, kmax = getattr(p, "key_min", None), getattr(p, "key_max", None)
        if kmin is None or kmax is None or kmin <= key <= kmax:
            out.append(p)
    return out
