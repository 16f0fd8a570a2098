"""Parquet tables under a storage root (local path or s3://bucket/prefix), written atomically."""

from __future__ import annotations

import contextlib
import glob
import os
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from blockanalytix_assets.settings import Settings

# Fixed writer options so that the same table always gives the same bytes.
# Page checksums make a flipped byte an error on read instead of silently different rows.
WRITE_OPTIONS = dict(
    compression="zstd", use_dictionary=True, write_statistics=True, version="2.6", write_page_checksum=True
)
STALE_TMP_S = 3600  # a temp file this old belongs to a killed write, not a running one
# Random 32-byte hex ids: a dictionary never pays off, and their lengths apart from their bytes compress faster.
UNIQUE_ID_COLUMNS = frozenset({"hash", "transaction_hash", "block_hash"})


def write_options(schema: pa.Schema) -> dict:
    """WRITE_OPTIONS for one table: dictionaries only where values repeat (not floats or unique ids)."""
    ids = [f.name for f in schema if f.name in UNIQUE_ID_COLUMNS and pa.types.is_string(f.type)]
    dictionary = [f.name for f in schema if f.name not in ids and not pa.types.is_floating(f.type)]
    return {
        **WRITE_OPTIONS,
        "use_dictionary": dictionary,
        "column_encoding": dict.fromkeys(ids, "DELTA_LENGTH_BYTE_ARRAY"),
    }


def _remove_stale_tmp(pattern: str) -> None:
    cutoff = time.time() - STALE_TMP_S
    for stale in glob.glob(pattern):
        with contextlib.suppress(FileNotFoundError):
            if os.path.getmtime(stale) < cutoff:
                os.unlink(stale)


class CorruptTableError(RuntimeError):
    """A stored Parquet file that cannot be read back."""


@dataclass(frozen=True)
class Storage:
    """A storage root holding `<root>/<asset>/<partition key>.parquet` files."""

    root: str
    s3_endpoint_url: str | None = None
    s3_region: str | None = None

    def _fs(self) -> tuple[pafs.FileSystem, str]:
        if self.root.startswith("s3://"):
            u = urlparse(self.root)
            env = Settings.from_env()
            kwargs: dict = {"region": self.s3_region or env.aws_region}
            endpoint = self.s3_endpoint_url or env.aws_endpoint_url
            if endpoint:
                ep = urlparse(endpoint)
                kwargs["endpoint_override"] = ep.netloc or endpoint
                kwargs["scheme"] = ep.scheme or "http"
            return pafs.S3FileSystem(**kwargs), f"{u.netloc}{u.path}".rstrip("/")
        return pafs.LocalFileSystem(), os.path.abspath(self.root)

    @property
    def is_s3(self) -> bool:
        return self.root.startswith("s3://")

    def path(self, asset: str, key: str) -> str:
        """The location of one asset partition, as users see it (URI for S3)."""
        return f"{self.root.rstrip('/')}/{asset}/{key}.parquet"

    def _fs_path(self, asset: str, key: str) -> tuple[pafs.FileSystem, str]:
        fs, base = self._fs()
        return fs, f"{base}/{asset}/{key}.parquet"

    def exists(self, asset: str, key: str) -> bool:
        fs, p = self._fs_path(asset, key)
        return fs.get_file_info(p).type == pafs.FileType.File

    def write(self, asset: str, key: str, table: pa.Table, row_group_size: int | None = None) -> str:
        """Write a table atomically: a temporary file renamed into place (S3 PUTs are atomic already)."""
        opts = write_options(table.schema)
        return self._write_atomic(
            asset, key, lambda sink: pq.write_table(table, sink, row_group_size=row_group_size, **opts)
        )

    def write_stream(
        self,
        asset: str,
        key: str,
        schema: pa.Schema,
        tables: Iterable[pa.Table],
        statistics: list[str] | None = None,
        dictionary: bool = True,
    ) -> str:
        """Write tables one after another into one file atomically; each table becomes whole row groups.

        `statistics` limits min/max statistics to those columns (a sorted file needs them on its key only; the footer
        grows with row groups x columns with statistics); dictionary=False writes no dictionaries.
        """
        opts = write_options(schema) | ({"write_statistics": statistics} if statistics is not None else {})
        opts |= {} if dictionary else {"use_dictionary": False}

        def emit(sink: Any) -> None:
            with pq.ParquetWriter(sink, schema, **opts) as writer:
                for table in tables:
                    writer.write_table(table, row_group_size=max(1, table.num_rows))

        return self._write_atomic(asset, key, emit)

    def _write_atomic(self, asset: str, key: str, emit: Callable[[Any], None]) -> str:
        fs, p = self._fs_path(asset, key)
        parent = p.rsplit("/", 1)[0]
        fs.create_dir(parent, recursive=True)
        if self.is_s3:
            with fs.open_output_stream(p) as out:
                emit(out)
            return self.path(asset, key)
        _remove_stale_tmp(f"{glob.escape(parent)}/.{glob.escape(key)}.parquet.*.tmp")
        tmp = f"{parent}/.{key}.parquet.{uuid.uuid4().hex}.tmp"
        try:
            emit(tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, p)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return self.path(asset, key)

    def write_all(self, key: str, tables: dict[str, pa.Table]) -> dict[str, str]:
        """Write several assets' tables of one partition concurrently (Parquet encoding releases the GIL)."""
        with ThreadPoolExecutor(max(1, min(len(tables), 4))) as pool:
            futures = {asset: pool.submit(self.write, asset, key, table) for asset, table in tables.items()}
            return {asset: f.result() for asset, f in futures.items()}

    def read(self, asset: str, key: str, columns: list[str] | None = None) -> pa.Table:
        """Read one asset partition; a missing or corrupt file raises with the path and the fix."""
        fs, p = self._fs_path(asset, key)
        if fs.get_file_info(p).type != pafs.FileType.File:
            raise FileNotFoundError(
                f"{self.path(asset, key)} does not exist: materialise {asset} for partition {key} first."
            )
        try:
            return pq.read_table(p, filesystem=fs, columns=columns, page_checksum_verification=True)
        except (pa.ArrowInvalid, OSError) as exc:
            raise CorruptTableError(
                f"{self.path(asset, key)} is not a readable Parquet file ({exc}); re-materialise {asset} "
                f"for partition {key} to rewrite it."
            ) from exc

    def keys(self, asset: str) -> list[str]:
        """Partition keys stored for an asset, sorted."""
        fs, base = self._fs()
        sel = pafs.FileSelector(f"{base}/{asset}", allow_not_found=True)
        return sorted(
            i.base_name[: -len(".parquet")]
            for i in fs.get_file_info(sel)
            if i.type == pafs.FileType.File and i.base_name.endswith(".parquet") and not i.base_name.startswith(".")
        )

    def write_bytes(self, relpath: str, data: bytes) -> str:
        """Write an artefact (a report, a figure) atomically under the root; returns its location."""
        fs, base = self._fs()
        p = f"{base}/{relpath}"
        fs.create_dir(p.rsplit("/", 1)[0], recursive=True)
        if self.is_s3:
            with fs.open_output_stream(p) as out:
                out.write(data)
        else:
            head, name = p.rsplit("/", 1)
            tmp = f"{head}/.{name}.{uuid.uuid4().hex}.tmp"
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, p)
        return f"{self.root.rstrip('/')}/{relpath}"
