"""What a training run was trained on, as MLflow datasets: storage path, partition keys, feature spec, digest."""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import mlflow
import numpy as np
from mlflow.data.dataset_source import DatasetSource
from mlflow.data.meta_dataset import MetaDataset
from mlflow.types import ColSpec, DataType, Schema

if TYPE_CHECKING:
    from blockanalytix_assets.ml.training import Split

SOURCE_TYPE = "blockanalytix_parquet"
DIGEST_SAMPLE_ROWS = 10_000
MAX_LISTED_PATHS = 256
MAX_LISTED_PARTITIONS = 2000


def table_uri(root: str, asset: str) -> str:
    """The folder of an asset's Parquet partitions: absolute for local roots, without credentials for URLs."""
    parts = urlsplit(root)
    if parts.scheme and parts.netloc:
        netloc = parts.hostname or ""
        clean = urlunsplit((parts.scheme, f"{netloc}:{parts.port}" if parts.port else netloc, parts.path, "", ""))
        return f"{clean.rstrip('/')}/{asset}"
    return os.path.join(os.path.abspath(root), asset)


class PartitionedParquetSource(DatasetSource):
    """Partitions of one asset's Parquet table: `<uri>/<partition>.parquet` for each listed partition key."""

    def __init__(self, uri: str | None, partitions: list[str]):
        self.uri = uri
        self.partitions = list(partitions)

    @staticmethod
    def _get_source_type() -> str:
        return SOURCE_TYPE

    def load(self) -> list[str]:
        """The Parquet paths of the partitions (the tables themselves are read by the pipeline's Storage)."""
        return self.paths()

    def paths(self) -> list[str]:
        """One path per partition; empty when the rows did not come from storage."""
        return [f"{self.uri}/{key}.parquet" for key in self.partitions] if self.uri else []

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return False

    @classmethod
    def _resolve(cls, raw_source: Any) -> PartitionedParquetSource:
        raise NotImplementedError("built from a training split, never resolved from a string")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"uri": self.uri}
        if len(self.partitions) <= MAX_LISTED_PARTITIONS:  # MLflow keeps at most 64 KiB of source
            out["partitions"] = self.partitions
        else:
            listed = ",".join(self.partitions).encode()
            out["partition_span"] = f"{self.partitions[0]}..{self.partitions[-1]}"
            out["partition_count"] = len(self.partitions)
            out["partitions_sha256"] = hashlib.sha256(listed).hexdigest()
        if self.uri:
            out["path_pattern"] = f"{self.uri}/{{partition}}.parquet"
            if len(self.partitions) <= MAX_LISTED_PATHS:
                out["paths"] = self.paths()
        return out

    @classmethod
    def from_dict(cls, source_dict: dict[Any, Any]) -> PartitionedParquetSource:
        return cls(source_dict.get("uri"), source_dict.get("partitions") or [])


class WindowDataset(MetaDataset):
    """A training window's metadata dataset with a row profile (the rows stay in storage)."""

    def __init__(self, source: DatasetSource, name: str, digest: str, schema: Schema, profile: dict[str, Any]):
        self._profile = profile
        super().__init__(source, name=name, digest=digest, schema=schema)

    @property
    def profile(self) -> dict[str, Any]:
        return self._profile

    def to_dict(self) -> dict[str, str]:
        import json

        return {**super().to_dict(), "profile": json.dumps(self._profile)}


def spec_label(split: Split) -> str:
    """The feature-spec version, or (for tables without one) a hash of the ordered feature columns."""
    if split.feature_spec_version:
        return split.feature_spec_version
    return "columns-" + hashlib.sha256(",".join(split.feature_columns).encode()).hexdigest()[:8]


def data_digest(x: np.ndarray, y: np.ndarray, extra: list[str]) -> str:
    """Eight hex characters over shape, up to 10,000 evenly spaced rows, their labels and `extra` strings."""
    idx = np.unique(np.linspace(0, max(len(x) - 1, 0), min(len(x), DIGEST_SAMPLE_ROWS)).astype(np.int64))
    h = hashlib.sha256(np.asarray(x.shape, dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(x[idx]).tobytes())
    h.update(np.ascontiguousarray(np.asarray(y)[idx]).tobytes())
    for s in extra:
        h.update(s.encode())
    return h.hexdigest()[:8]


def table_dataset(
    x: np.ndarray, y: np.ndarray, uri: str | None, keys: list[str], columns: list[str], spec: str
) -> WindowDataset:
    """Rows read from partitions `keys` of the table at `uri` as an MLflow dataset named `<table> spec=<spec>`."""
    source = PartitionedParquetSource(uri, keys)
    asset = uri.rstrip("/").rsplit("/", 1)[-1] if uri else "features"
    schema = Schema([ColSpec(DataType.float, c) for c in columns])
    profile: dict[str, Any] = {"rows": len(y), "partitions": len(keys), "spec": spec}
    if np.ndim(y) == 1:
        profile["positives"] = int(np.asarray(y).sum())
    digest = data_digest(x, y, [source.to_json(), spec, *columns])
    return WindowDataset(source, f"{asset} spec={spec}", digest, schema, profile)


def window_dataset(split: Split, context: str) -> WindowDataset:
    """The training or validation rows of a split as an MLflow dataset (context: 'training' or 'validation')."""
    train = context == "training"
    x, y = (split.x_train, split.y_train) if train else (split.x_val, split.y_val)
    keys = (split.train_keys if train else split.val_keys) or split.partitions
    return table_dataset(x, y, split.source, keys, split.feature_columns, spec_label(split))


def log_inputs(datasets: dict[str, WindowDataset]) -> None:
    """Log datasets (context -> dataset) on the active run, each tagged with its feature spec."""
    for context, ds in datasets.items():
        mlflow.log_input(ds, context=context, tags={"feature_spec_version": ds.profile["spec"]})


def log_window_inputs(split: Split) -> dict[str, WindowDataset]:
    """Log the split's training (and, when it has rows, validation) dataset on the active run."""
    contexts = ["training"] + (["validation"] if len(split.y_val) else [])
    datasets = {c: window_dataset(split, c) for c in contexts}
    log_inputs(datasets)
    return datasets
