"""The API's query engine: one in-process DuckDB database per process, a cursor per query."""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from urllib.parse import urlparse

import duckdb
import pyarrow as pa

from blockanalytix_assets.settings import Settings

DEFAULT_MEMORY_LIMIT = "512MB"


def _extension_directory() -> str | None:
    """Where the duckdb-ext-httpfs wheel put the httpfs extension (no download at run time)."""
    spec = importlib.util.find_spec("duckdb_ext")
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.join(list(spec.submodule_search_locations)[0], "extensions")


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def s3_secret_sql(s: Settings | None = None) -> str:
    """CREATE SECRET for S3 from the AWS_* settings (path-style URLs, SSL from the endpoint's scheme)."""
    s = s or Settings.from_env()
    parts = ["TYPE s3", "URL_STYLE 'path'", f"REGION {_quote(s.aws_region)}"]
    if s.aws_access_key_id:
        parts.append(f"KEY_ID {_quote(s.aws_access_key_id)}")
        parts.append(f"SECRET {_quote(s.aws_secret_access_key or '')}")
    if s.aws_session_token:
        parts.append(f"SESSION_TOKEN {_quote(s.aws_session_token)}")
    endpoint = s.aws_endpoint_url
    if endpoint:
        ep = urlparse(endpoint)
        parts.append(f"ENDPOINT {_quote(ep.netloc or endpoint)}")
        parts.append(f"USE_SSL {'false' if ep.scheme == 'http' else 'true'}")
    return f"CREATE OR REPLACE SECRET blockanalytix_s3 ({', '.join(parts)})"


def sql_list(paths: Sequence[str]) -> str:
    """A SQL list literal of file paths (paths come from the catalog, quoted all the same)."""
    return "[" + ", ".join(_quote(p) for p in paths) + "]"


class Engine:
    """One DuckDB database: bounded threads and memory, Parquet footers cached, S3 through httpfs."""

    def __init__(self, memory_limit: str = DEFAULT_MEMORY_LIMIT, threads: int | None = None, s3: bool = False):
        threads = threads or min(4, os.cpu_count() or 1)
        self.conn = duckdb.connect(config={"threads": threads, "memory_limit": memory_limit})
        self.conn.execute("SET GLOBAL parquet_metadata_cache = true")  # GLOBAL: request cursors see it too
        self.conn.execute("SET enable_progress_bar = false")
        self.conn.execute("SET autoinstall_known_extensions = false")
        self._lock = threading.Lock()
        self._s3 = False
        if s3:
            self.enable_s3()

    def enable_s3(self) -> None:
        """Load httpfs from the wheel and register the S3 secret (the secret's values are never logged)."""
        with self._lock:
            if self._s3:
                return
            directory = _extension_directory()
            if directory:
                self.conn.execute(f"SET extension_directory = {_quote(directory)}")
            self.conn.execute("LOAD httpfs")
            self.conn.execute(s3_secret_sql())
            self._s3 = True

    def query(self, sql: str, params: Sequence[object] | dict[str, object] = ()) -> pa.Table:
        """Run one statement on its own cursor (safe from concurrent request threads) and fetch Arrow."""
        cur = self.conn.cursor()
        try:
            return cur.execute(sql, params if isinstance(params, dict) else list(params)).fetch_arrow_table()
        finally:
            cur.close()

    def rows(self, sql: str, params: Sequence[object] | dict[str, object] = ()) -> list[dict]:
        """The statement's rows as dicts."""
        return self.query(sql, params).to_pylist()

    def close(self) -> None:
        self.conn.close()
