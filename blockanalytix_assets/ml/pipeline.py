"""Storage-level training and scoring steps the ML assets call (plain Python, no Dagster)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from blockanalytix_assets.ml import models as M
from blockanalytix_assets.ml.lineage import table_uri
from blockanalytix_assets.ml.models import CLASSIFIER_MAX_BATCH, CLASSIFIER_PARAMS, CLASSIFIER_PATIENCE
from blockanalytix_assets.ml.training import RunResult, window_keys
from blockanalytix_assets.storage import Storage

LABELS_ASSET, LABELS_KEY = "address_labels", "all"  # address_labels is stored at <root>/address_labels/all
ADDRESS_BATCH = 256  # default training batch (the classifier's is in models.py, the autoencoder's in unsupervised.py)


class MissingInputError(RuntimeError):
    """A training window or scoring input that has not been materialised yet."""


def read_labels(store: Storage) -> pa.Table | None:
    """address_labels, or None before it is materialised (every transaction then counts as negative)."""
    return store.read(LABELS_ASSET, LABELS_KEY) if store.exists(LABELS_ASSET, LABELS_KEY) else None


def read_window(store: Storage, asset: str, window_ranges: int) -> dict[str, pa.Table]:
    """The latest `window_ranges` partitions of an asset, keyed by partition key."""
    keys = store.keys(asset)
    if not keys:
        raise MissingInputError(f"no {asset} partitions yet: materialise {asset} for some block ranges first")
    return {k: store.read(asset, k) for k in window_keys(keys, window_ranges)}


def _transaction_window_split(store: Storage, window_ranges: int, val_fraction: float):
    """The latest transaction_features window with labels, split by block order (shared by both tx models)."""
    from blockanalytix_assets.features.transaction import FEATURE_COLUMNS
    from blockanalytix_assets.ml.data import transaction_split

    tables = read_window(store, "transaction_features", window_ranges)
    split = transaction_split(tables, read_labels(store), list(FEATURE_COLUMNS), val_fraction)
    split.source = table_uri(store.root, "transaction_features")  # logged as the runs' input (ml.lineage)
    return split


def train_classifier(
    store: Storage,
    model_name: str,
    window_ranges: int,
    epochs: int,
    val_fraction: float = 0.25,
    batch_size: int | None = None,
) -> RunResult:
    """anomaly_classifier on transaction_features + address_labels, beside its tree baseline."""
    from blockanalytix_assets.ml.training import supervised_run

    split = _transaction_window_split(store, window_ranges, val_fraction)
    params = {**{k: str(v) for k, v in CLASSIFIER_PARAMS.items()}, "window_ranges": window_ranges}
    build = lambda x: M.build_anomaly_classifier(x, **CLASSIFIER_PARAMS)  # noqa: E731
    batch = batch_size or CLASSIFIER_MAX_BATCH
    return supervised_run("anomaly_classifier", model_name, build, split, params, epochs, batch, CLASSIFIER_PATIENCE)


def train_autoencoder(
    store: Storage,
    model_name: str,
    window_ranges: int,
    epochs: int,
    val_fraction: float = 0.25,
    batch_size: int | None = None,
) -> RunResult:
    """transaction_autoencoder with its k-means clusters and 2-D projection."""
    from blockanalytix_assets.ml.unsupervised import AUTOENCODER_BATCH, autoencoder_run

    split = _transaction_window_split(store, window_ranges, val_fraction)
    return autoencoder_run(model_name, split, epochs, batch_size=batch_size or AUTOENCODER_BATCH)


def train_address_model(
    store: Storage,
    model_name: str,
    window_ranges: int,
    epochs: int,
    val_fraction: float = 0.25,
    batch_size: int | None = None,
) -> RunResult:
    """address_risk_model on address_features + address_labels, beside its tree baseline."""
    from blockanalytix_assets.features.address import ADDRESS_FEATURE_COLUMNS
    from blockanalytix_assets.ml.accounts import ACCOUNT_CONFIG, FIT_KEYS
    from blockanalytix_assets.ml.data import address_split
    from blockanalytix_assets.ml.training import supervised_run

    tables = read_window(store, "address_features", window_ranges)
    split = address_split(tables, read_labels(store), list(ADDRESS_FEATURE_COLUMNS), val_fraction)
    split.source = table_uri(store.root, "address_features")
    arch = {k: v for k, v in ACCOUNT_CONFIG.items() if k not in FIT_KEYS}  # the evaluate-accounts architecture
    params = {**{k: str(v) for k, v in arch.items()}, "window_ranges": window_ranges}
    build = lambda x: M.build_address_risk_model(x, **arch)  # noqa: E731
    return supervised_run("address_risk_model", model_name, build, split, params, epochs, batch_size or ADDRESS_BATCH)


def train_forecaster(
    store: Storage, model_name: str, window_ranges: int, epochs: int, bucket_blocks: int, window: int
) -> RunResult:
    """activity_forecaster on per-bucket aggregates of raw_blocks."""
    from blockanalytix_assets.ml.forecasting import block_aggregates, forecaster_run

    tables = read_window(store, "raw_blocks", window_ranges)
    cols = ["number", "base_fee_per_gas", "transaction_count"]
    blocks = pd.concat([t.select(cols).to_pandas() for t in tables.values()], ignore_index=True)
    return forecaster_run(
        model_name,
        block_aggregates(blocks, bucket_blocks),
        window,
        epochs,
        partitions=sorted(tables),
        bucket_blocks=bucket_blocks,
        source=table_uri(store.root, "raw_blocks"),
    )


def score_partition(store: Storage, key: str, models, labels: pa.Table | None) -> tuple[pa.Table, pa.Table]:
    """(anomaly_scores, transaction_clusters) of one range, with value/fee from cleaned_transactions."""
    from concurrent.futures import ThreadPoolExecutor

    from blockanalytix_assets.api.summaries import with_summary
    from blockanalytix_assets.ml.scoring import align_amounts, score_transactions

    def amounts() -> pa.Table | None:
        if not store.exists("cleaned_transactions", key):
            return None
        return store.read("cleaned_transactions", key, columns=["hash", "value_eth", "fee_eth"])

    with ThreadPoolExecutor(1) as pool:  # the two reads overlap: Parquet decoding releases the GIL
        cleaned = pool.submit(amounts)
        features = store.read("transaction_features", key)
        cleaned = cleaned.result()
    value_eth = fee_eth = None
    if cleaned is not None:
        value_eth, fee_eth = align_amounts(features.column("hash"), cleaned)
    scores, clusters = score_transactions(features, models, labels, value_eth, fee_eth)
    return with_summary(scores), clusters  # the footer summary lets the API list ranges without reading rows


TRAINERS = {
    "anomaly_classifier": train_classifier,
    "transaction_autoencoder": train_autoencoder,
    "address_risk_model": train_address_model,
    "activity_forecaster": train_forecaster,
}
