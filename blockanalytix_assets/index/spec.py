"""What a run tree merges (TreeSpec) and the files a reader merges (Part)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

SHARD_ROWS = 1_000_000


@dataclass(frozen=True)
class TreeSpec:
    """What a run tree merges: its leaf asset, sort column and merge function."""

    name: str
    leaf_asset: str
    sort_column: str
    merge: Callable[[list[pa.Table]], pa.Table]
    leaf_columns: list[str] | None = None
    leaf_transform: Callable[[pa.Table, int], pa.Table] | None = None
    fanout: int = 8
    row_group_rows: int = 8192
    shard_rows: int = SHARD_ROWS
    dictionary: bool = True  # False where every row has its own key: dictionaries only cost reads and bytes


@dataclass(frozen=True)
class Part:
    """One file of a cover: a leaf (level 0, the leaf asset's file) or one shard of a merged node."""

    level: int
    index: int
    first_key: str
    last_key: str
    path: str
    key_min: object = None  # the file's smallest and largest sort key (None for leaves)
    key_max: object = None
    shard: int = 0
