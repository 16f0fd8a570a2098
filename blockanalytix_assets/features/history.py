"""Which ranges an address_features row set was computed over, kept in its footer to detect late backfills (pure)."""

from __future__ import annotations

import json

import pyarrow as pa

HISTORY_KEY = b"blockanalytix.history"


def with_history(table: pa.Table, keys: list[str]) -> pa.Table:
    """The table with the count and span of the history ranges it was computed over in its schema metadata."""
    keys = sorted(keys)
    doc = {"ranges": len(keys), "first": keys[0] if keys else None, "last": keys[-1] if keys else None}
    return table.replace_schema_metadata({**(table.schema.metadata or {}), HISTORY_KEY: json.dumps(doc).encode()})


def history_of(metadata: dict[bytes, bytes] | None) -> dict | None:
    """The stored history, or None for files written before it existed."""
    raw = (metadata or {}).get(HISTORY_KEY)
    return json.loads(raw) if raw else None


def missing_history(stored: dict | None, keys_now: list[str], key: str) -> int:
    """How many stored ranges up to `key` the computation did not see (a backfill landed after it ran)."""
    upto = [k for k in keys_now if k <= key]
    return len(upto) - (stored or {}).get("ranges", 0)
