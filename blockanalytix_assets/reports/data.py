"""Reading the report inputs from Storage: only the columns the figures use."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from blockanalytix_assets import table_names as tn
from blockanalytix_assets.ml.pipeline import read_labels
from blockanalytix_assets.reports import summary
from blockanalytix_assets.storage import Storage

SCORE_COLUMNS = [
    "hash",
    "block_number",
    "block_timestamp",
    "from_address",
    "to_address",
    "value_eth",
    "fee_eth",
    "classifier_probability",
    "reconstruction_error",
    "anomaly_score",
    "rank",
    "cluster_id",
    "classifier_version",
    "autoencoder_version",
    "top_feature_1",
    "top_feature_2",
    "top_feature_3",
    "is_labelled",
    "label",
    "threshold",
]
CLUSTER_COLUMNS = ["hash", "block_number", "cluster_id", "embedding_x", "embedding_y", "is_labelled"]
TRANSACTION_COLUMNS = ["hash", "block_number", "value_eth", "fee_eth"]
LABEL_COLUMNS = ["address", "label", "category", "source", "first_seen"]


@dataclass(frozen=True)
class ReportInputs:
    """The frames one partition's anomaly report is drawn from."""

    scores: pd.DataFrame
    clusters: pd.DataFrame
    transactions: pd.DataFrame
    labels: pd.DataFrame


def _frame(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas()


def _labels(store: Storage) -> pd.DataFrame:
    """address_labels as a frame without duplicate rows; empty before it is materialised."""
    table = read_labels(store)
    if table is None:
        return pd.DataFrame(columns=LABEL_COLUMNS)
    out = _frame(table)
    return out.drop_duplicates(subset=[c for c in ("address", "label", "source") if c in out.columns])


def load_report_inputs(store: Storage, key: str) -> ReportInputs:
    """Scores, clusters and cleaned transactions of one range, plus all address labels."""
    return ReportInputs(
        scores=_frame(store.read(tn.ANOMALY_SCORES, key, columns=SCORE_COLUMNS)),
        clusters=_frame(store.read(tn.TRANSACTION_CLUSTERS, key, columns=CLUSTER_COLUMNS)),
        transactions=_frame(store.read(tn.CLEANED_TRANSACTIONS, key, columns=TRANSACTION_COLUMNS)),
        labels=_labels(store),
    )


def report_keys(store: Storage) -> list[str]:
    """Ranges that have scores, hence an anomaly report once the graph has caught up."""
    return store.keys(tn.ANOMALY_SCORES)


def overview_frame(store: Storage) -> pd.DataFrame:
    """One summary row per range that has cleaned transactions or scores."""
    scored = set(store.keys(tn.ANOMALY_SCORES))
    cleaned = set(store.keys(tn.CLEANED_TRANSACTIONS))
    score_cols = [
        "anomaly_score",
        "threshold",
        "is_labelled",
        "classifier_version",
        "autoencoder_version",
        "value_eth",
        "fee_eth",
    ]
    rows = []
    for key in sorted(scored | cleaned):
        scores = _frame(store.read(tn.ANOMALY_SCORES, key, columns=score_cols)) if key in scored else None
        tx = _frame(store.read(tn.CLEANED_TRANSACTIONS, key, columns=TRANSACTION_COLUMNS)) if key in cleaned else None
        rows.append(summary.range_summary(key, scores, tx))
    return summary.summary_frame(rows)
