"""The drift reference: the champion's training window read back from Storage, sampled, cached per version."""

from __future__ import annotations

import json
import math
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from blockanalytix_assets import table_names as tn
from blockanalytix_assets.features.transaction import FEATURE_COLUMNS
from blockanalytix_assets.storage import Storage

if TYPE_CHECKING:
    from mlflow.entities import Run

SAMPLE_ROWS = 200_000  # at most this many rows of the reference window (and of a checked range) are compared
CACHE_SIZE = 8
# Not stationary by construction, so left out of the pass/fail decision by default (their PSI is still shown):
# calendar features (a range covers a few hours of one day), the sender's nonce (grows with the chain's age) and
# the activity-history features (counts, gaps and new-address flags depend on how much history the lookback holds
# and on the population's growth: the first ranges after the start have no history at all).
UNMONITORED_FEATURES = (
    "hour_of_day",
    "hour_sin",
    "hour_cos",
    "log_nonce",
    "log_minutes_since_sender_prev_tx",
    "sender_is_new",
    "receiver_is_new",
    *(c for c in FEATURE_COLUMNS if c.endswith(("_range", "_lookback"))),
)
MONITORED_FEATURES = tuple(c for c in FEATURE_COLUMNS if c not in UNMONITORED_FEATURES)


@dataclass(frozen=True)
class Champion:
    """A registry champion and the partition keys of the training window it was fitted on."""

    model_name: str
    version: str
    partitions: list[str]

    @property
    def label(self) -> str:
        return f"{self.model_name}/{self.version}"


@dataclass(frozen=True)
class Reference:
    """Sampled rows of the champion's training window that are stored now (`found`, a subset of its partitions)."""

    champion: Champion
    found: list[str]
    table: pa.Table


def tracking_reachable(tracking_uri: str, timeout_s: float = 3.0) -> bool:
    """Whether an http(s) tracking server answers (MLflow's client would retry for minutes); local URIs: True."""
    import requests

    if not tracking_uri.startswith(("http://", "https://")):
        return True
    try:
        requests.get(f"{tracking_uri.rstrip('/')}/health", timeout=timeout_s)
    except requests.RequestException:
        return False
    return True


def run_partitions(run: Run) -> list[str]:
    """The partition keys a training run recorded: its tags, else the sources of its logged datasets."""
    tags = run.data.tags
    keys = [k for name in ("partitions", "train_partitions", "val_partitions") for k in tags.get(name, "").split(",")]
    if not any(keys):
        for ds in getattr(run.inputs, "dataset_inputs", None) or []:
            try:
                keys += json.loads(ds.dataset.source).get("partitions") or []
            except (ValueError, AttributeError):
                continue
    return sorted({k for k in keys if k})


def champion(tracking_uri: str, model_name: str) -> Champion | None:
    """The model's `champion` version and its training partitions; None when it has no champion."""
    from mlflow import MlflowClient

    from blockanalytix_assets.ml.champions import champion_version

    version = champion_version(model_name, tracking_uri)
    if version is None:
        return None
    run = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri).get_run(version.run_id)
    return Champion(model_name, str(version.version), run_partitions(run))


def sample(table: pa.Table, rows: int, seed: str) -> pa.Table:
    """At most `rows` rows of the table, chosen by a generator seeded with `seed` (deterministic), in order."""
    if table.num_rows <= rows:
        return table
    rng = np.random.default_rng(zlib.crc32(seed.encode()))
    return table.take(pa.array(np.sort(rng.choice(table.num_rows, rows, replace=False))))


def read_sampled(
    store: Storage, asset: str, keys: list[str], columns: list[str], rows: int = SAMPLE_ROWS
) -> tuple[pa.Table | None, list[str]]:
    """Up to `rows` rows over the stored partitions among `keys` (an equal share each), and the keys found."""
    found = [k for k in keys if store.exists(asset, k)]
    if not found:
        return None, []
    share = max(1, math.ceil(rows / len(found)))
    parts = [sample(store.read(asset, k, columns), share, f"{asset}/{k}") for k in found]
    return pa.concat_tables(parts, promote_options="default"), found


def scored_by(scores: pa.Table, champ: Champion) -> pa.Table:
    """The anomaly_scores rows this champion scored (ranges are re-scored a little after a promotion)."""
    return scores.filter(pc.equal(scores.column("classifier_version"), champ.version))


_cache: dict[tuple[object, ...], Reference] = {}
_lock = threading.Lock()


def _cached(key: tuple[object, ...], load: Callable[[], Reference | None]) -> Reference | None:
    """load() once per key in this process (at most CACHE_SIZE kept); a None (nothing stored yet) is not kept."""
    with _lock:
        if key in _cache:
            return _cache[key]
    value = load()
    if value is None:
        return None
    with _lock:
        if len(_cache) >= CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = value
    return value


def feature_reference(store: Storage, champ: Champion, rows: int = SAMPLE_ROWS) -> Reference | None:
    """transaction_features of the champion's training window (sampled); None when none of it is stored."""

    def load() -> Reference | None:
        table, found = read_sampled(store, tn.TRANSACTION_FEATURES, champ.partitions, list(FEATURE_COLUMNS), rows)
        return None if table is None else Reference(champ, found, table)

    return _cached((tn.TRANSACTION_FEATURES, store.root, champ.label, tuple(champ.partitions), rows), load)


def score_reference(store: Storage, champ: Champion, rows: int = SAMPLE_ROWS) -> Reference | None:
    """anomaly_score of the training window's ranges as scored by this champion; None when there are none yet."""

    def load() -> Reference | None:
        cols = ["anomaly_score", "classifier_version"]
        table, found = read_sampled(store, tn.ANOMALY_SCORES, champ.partitions, cols, rows)
        table = None if table is None else scored_by(table, champ)
        if table is None or not table.num_rows:
            return None
        return Reference(champ, found, table.select(["anomaly_score"]))

    return _cached((tn.ANOMALY_SCORES, store.root, champ.label, tuple(champ.partitions), rows), load)


def clear_cache() -> None:
    """Forget every cached reference (tests)."""
    with _lock:
        _cache.clear()
