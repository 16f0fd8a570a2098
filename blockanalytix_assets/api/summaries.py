"""A range's scoring summary, stored in the anomaly_scores footer so readers never scan the rows (pure)."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

SUMMARY_KEY = b"blockanalytix.summary"
SUMMARY_FIELDS = ("rows", "anomalies", "threshold", "max_score", "classifier_version", "autoencoder_version")


def _first_valid(column: pa.ChunkedArray) -> Any:
    valid = pc.drop_null(column)
    return valid[0].as_py() if len(valid) else None


def _max(table: pa.Table, name: str) -> Any:
    return pc.max(table[name]).as_py() if name in table.column_names and table.num_rows else None


def score_summary(scores: pa.Table) -> dict:
    """Rows, threshold (the first non-null `threshold`), anomalies at or above it, top score, model versions."""
    threshold = _first_valid(scores["threshold"]) if "threshold" in scores.column_names else None
    anomalies = None
    if threshold is not None:
        anomalies = pc.sum(pc.greater_equal(scores["anomaly_score"], threshold)).as_py() or 0
    max_score = _max(scores, "anomaly_score")
    return {
        "rows": scores.num_rows,
        "anomalies": anomalies,
        "threshold": None if threshold is None else float(threshold),
        "max_score": None if max_score is None else float(max_score),
        "classifier_version": _max(scores, "classifier_version"),
        "autoencoder_version": _max(scores, "autoencoder_version"),
    }


def summary_metadata(scores: pa.Table) -> dict[bytes, bytes]:
    """Parquet key-value metadata carrying score_summary(scores); merge it into the schema metadata on write."""
    return {SUMMARY_KEY: json.dumps(score_summary(scores), sort_keys=True).encode()}


def with_summary(scores: pa.Table) -> pa.Table:
    """The table with summary_metadata added to its schema metadata (pq.write_table stores it in the footer)."""
    return scores.replace_schema_metadata({**(scores.schema.metadata or {}), **summary_metadata(scores)})


def parse_summary(metadata: dict[bytes, bytes] | None) -> dict | None:
    """The summary stored in a file's footer metadata, or None when the file has none (older writers)."""
    raw = (metadata or {}).get(SUMMARY_KEY)
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return {k: data.get(k) for k in SUMMARY_FIELDS} if isinstance(data, dict) else None
