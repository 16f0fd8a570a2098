"""Storage-level training and scoring steps the ML assets call (plain Python, no Dagster; TensorFlow on call only)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict, Unpack

import pandas as pd
import pyarrow as pa

from blockanalytix_assets import table_names as tn
from blockanalytix_assets.storage import Storage

if TYPE_CHECKING:
    from blockanalytix_assets.ml.scoring import ScoringModels
    from blockanalytix_assets.ml.specs import ModelSpec
    from blockanalytix_assets.ml.tracked_run import RunResult
    from blockanalytix_assets.ml.training import Split

LABELS_ASSET, LABELS_KEY = tn.ADDRESS_LABELS, "all"  # address_labels is stored at <root>/address_labels/all


class MissingInputError(RuntimeError):
    """A training window or scoring input that has not been materialised yet."""


class WindowConfig(TypedDict):
    """The run config of a trainer on a window of ranges: TrainingConfig's fields (ml/training_assets.py)."""

    window_ranges: int
    epochs: int
    val_fraction: float
    batch_size: int | None  # None: the spec's own


def read_labels(store: Storage) -> pa.Table | None:
    """address_labels, or None before it is materialised (every transaction then counts as negative)."""
    return store.read(LABELS_ASSET, LABELS_KEY) if store.exists(LABELS_ASSET, LABELS_KEY) else None


def read_window(store: Storage, asset: str, window_ranges: int) -> dict[str, pa.Table]:
    """The latest `window_ranges` partitions of an asset, keyed by partition key."""
    from blockanalytix_assets.ml.training import window_keys

    keys = store.keys(asset)
    if not keys:
        raise MissingInputError(f"no {asset} partitions yet: materialise {asset} for some block ranges first")
    return {k: store.read(asset, k) for k in window_keys(keys, window_ranges)}


def window_split(store: Storage, table: str, window_ranges: int, val_fraction: float) -> Split:
    """The latest window of a feature table with labels, split by block order (earlier ranges train)."""
    from blockanalytix_assets.features.address import ADDRESS_MODEL_COLUMNS
    from blockanalytix_assets.features.transaction import FEATURE_COLUMNS
    from blockanalytix_assets.ml.data import address_split, transaction_split
    from blockanalytix_assets.ml.lineage import table_uri

    splitters = {
        tn.TRANSACTION_FEATURES: (transaction_split, FEATURE_COLUMNS),
        tn.ADDRESS_FEATURES: (address_split, ADDRESS_MODEL_COLUMNS),
    }
    if table not in splitters:
        raise ValueError(f"no training split for {table!r}; known: {', '.join(splitters)}")
    split_fn, columns = splitters[table]
    split = split_fn(read_window(store, table, window_ranges), read_labels(store), list(columns), val_fraction)
    split.source = table_uri(store.root, table)  # logged as the runs' input (ml.lineage)
    return split


def train_supervised(store: Storage, spec: ModelSpec, model_name: str, **run: Unpack[WindowConfig]) -> RunResult:
    """A Keras binary classifier (spec.builder) on its feature table + address_labels, beside a tree baseline."""
    from blockanalytix_assets.ml.training import supervised_run

    split = window_split(store, spec.deps[0], run["window_ranges"], run["val_fraction"])
    params = {**{k: str(v) for k, v in spec.params.items()}, "window_ranges": run["window_ranges"]}
    build = lambda x: spec.builder(x, **spec.params)  # noqa: E731
    batch = run["batch_size"] or spec.batch_size
    return supervised_run(spec.asset, model_name, build, split, params, run["epochs"], batch, spec.patience)


def train_autoencoder(store: Storage, spec: ModelSpec, model_name: str, **run: Unpack[WindowConfig]) -> RunResult:
    """transaction_autoencoder with its k-means clusters and 2-D projection."""
    from blockanalytix_assets.ml.unsupervised import autoencoder_run

    split = window_split(store, spec.deps[0], run["window_ranges"], run["val_fraction"])
    batch = run["batch_size"] or spec.batch_size
    return autoencoder_run(model_name, split, run["epochs"], dict(spec.params), batch, spec.patience, spec.builder)


def train_forecaster(
    store: Storage, spec: ModelSpec, model_name: str, window_ranges: int, epochs: int, bucket_blocks: int, window: int
) -> RunResult:
    """activity_forecaster on per-bucket aggregates of raw_blocks."""
    from blockanalytix_assets.ml.forecasting import block_aggregates, forecaster_run
    from blockanalytix_assets.ml.lineage import table_uri

    tables = read_window(store, tn.RAW_BLOCKS, window_ranges)
    cols = ["number", "base_fee_per_gas", "transaction_count"]
    blocks = pd.concat([t.select(cols).to_pandas() for t in tables.values()], ignore_index=True)
    return forecaster_run(
        model_name,
        block_aggregates(blocks, bucket_blocks),
        window,
        epochs,
        partitions=sorted(tables),
        bucket_blocks=bucket_blocks,
        source=table_uri(store.root, tn.RAW_BLOCKS),
        build=spec.builder,
        params=dict(spec.params),
        batch_size=spec.batch_size,
    )


def score_partition(
    store: Storage, key: str, models: ScoringModels, labels: pa.Table | None
) -> tuple[pa.Table, pa.Table]:
    """(anomaly_scores, transaction_clusters) of one range, with value/fee from cleaned_transactions."""
    from concurrent.futures import ThreadPoolExecutor

    from blockanalytix_assets.api.summaries import with_summary
    from blockanalytix_assets.ml.scoring import align_amounts, score_transactions

    def amounts() -> pa.Table | None:
        if not store.exists(tn.CLEANED_TRANSACTIONS, key):
            return None
        return store.read(tn.CLEANED_TRANSACTIONS, key, columns=["hash", "value_eth", "fee_eth"])

    with ThreadPoolExecutor(1) as pool:  # the two reads overlap: Parquet decoding releases the GIL
        reading = pool.submit(amounts)
        features = store.read(tn.TRANSACTION_FEATURES, key)
        cleaned = reading.result()
    value_eth = fee_eth = None
    if cleaned is not None:
        value_eth, fee_eth = align_amounts(features.column("hash"), cleaned)
    scores, clusters = score_transactions(features, models, labels, value_eth, fee_eth)
    return with_summary(scores), clusters  # the footer summary lets the API list ranges without reading rows
