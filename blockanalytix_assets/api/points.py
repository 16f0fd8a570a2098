"""Point reads in Parquet files sorted by a key: one row group per file, footers and key statistics cached."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from blockanalytix_assets.storage import Storage

MAX_CACHED_FILES = 4096  # footers of the covers (tens of files) and the newest leaves
MAX_CACHED_BYTES = 128 * 2**20  # footers grow with row groups x columns (4 MB for a 512-range profile node)


class PointReader:
    """Rows whose sorted `column` equals a value, reading only the row groups whose min/max hold it."""

    def __init__(self, storage: Storage, max_files: int = MAX_CACHED_FILES, max_bytes: int = MAX_CACHED_BYTES):
        self.fs, _ = storage._fs()
        self.is_s3 = storage.is_s3
        self.max_files, self.max_bytes, self.cached_bytes = max_files, max_bytes, 0
        self._cache: OrderedDict[tuple[str, str, str], tuple[pq.FileMetaData, list[tuple]]] = OrderedDict()
        self._lock = threading.Lock()

    def _fs_path(self, path: str) -> str:
        return path[len("s3://") :] if self.is_s3 else os.path.abspath(path)

    def _footer(self, path: str, token: str, column: str) -> tuple[pq.FileMetaData, list[tuple]]:
        """The file's metadata and each row group's (min, max) of column, cached by (path, token)."""
        key = (path, token, column)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        meta = pq.read_metadata(self._fs_path(path), filesystem=self.fs)
        col = meta.schema.to_arrow_schema().get_field_index(column)
        bounds = []
        for i in range(meta.num_row_groups):
            stats = meta.row_group(i).column(col).statistics
            has = stats is not None and stats.has_min_max
            bounds.append((stats.min, stats.max) if has else (None, None))
        with self._lock:
            if key not in self._cache:
                self.cached_bytes += meta.serialized_size
            self._cache[key] = (meta, bounds)
            while len(self._cache) > 1 and (len(self._cache) > self.max_files or self.cached_bytes > self.max_bytes):
                self.cached_bytes -= self._cache.popitem(last=False)[1][0].serialized_size
        return meta, bounds

    def lookup(
        self, path: str, token: str, column: str, value: object, columns: list[str] | None = None
    ) -> pa.Table | None:
        """The rows of one file with column == value (None when none), with only `columns` when given.

        `token` changes when the file does.
        """
        meta, bounds = self._footer(path, token, column)
        groups = [i for i, (lo, hi) in enumerate(bounds) if lo is None or (lo <= value <= hi)]
        if not groups:
            return None
        with self.fs.open_input_file(self._fs_path(path)) as fh:
            pf = pq.ParquetFile(fh, metadata=meta)
            found = []
            for i in groups:
                keys = pf.read_row_group(i, columns=[column], use_threads=False).column(0)  # the pool is parallel
                hit = pc.indices_nonzero(pc.equal(keys, value))
                if len(hit):
                    found.append(pf.read_row_group(i, columns=columns, use_threads=False).take(hit))
        return pa.concat_tables(found) if found else None
