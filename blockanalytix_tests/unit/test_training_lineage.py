"""Training runs name their input (storage path, partitions, feature spec, digest); experiments carry their kind."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pytest

from blockanalytix_assets.ml import lineage
from blockanalytix_assets.ml.experiments import CUSTOM_MODEL_DEVELOPMENT, EXPERIMENT_KIND_TAG, ensure_experiment
from blockanalytix_assets.ml.training import Split

KEYS = ["000000000-000000099", "000000100-000000199", "000000200-000000299"]


def _split(source: str | None, spec: str | None = "1", seed: int = 0) -> Split:
    rng = np.random.default_rng(seed)
    x, y = rng.random((50, 3), dtype=np.float32), (rng.random(50) < 0.2).astype("int32")
    return Split(x[:40], y[:40], x[40:], y[40:], ["a", "b", "c"], KEYS[:2], KEYS[2:], spec, source)


def test_table_uri_is_absolute_and_drops_credentials(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert lineage.table_uri("./data", "transaction_features") == str(tmp_path / "data" / "transaction_features")
    uri = lineage.table_uri("s3://AKIAKEY:s3cret@bucket/prefix?token=abc", "address_features")
    assert uri == "s3://bucket/prefix/address_features"


def test_window_dataset_names_paths_partitions_spec_and_digest():
    split = _split("/data/transaction_features")
    train, val = lineage.window_dataset(split, "training"), lineage.window_dataset(split, "validation")
    assert train.name == "transaction_features spec=1" and train.profile["rows"] == 40
    source = json.loads(train.source.to_json())
    assert source["partitions"] == KEYS[:2] and source["uri"] == "/data/transaction_features"
    assert source["paths"] == [f"/data/transaction_features/{k}.parquet" for k in KEYS[:2]]
    assert json.loads(val.source.to_json())["partitions"] == KEYS[2:]
    assert len(train.digest) == 8 and train.digest != val.digest
    assert lineage.window_dataset(_split("/data/transaction_features"), "training").digest == train.digest
    assert lineage.window_dataset(_split("/data/transaction_features", seed=1), "training").digest != train.digest
    assert lineage.window_dataset(_split("/data/transaction_features", spec="2"), "training").digest != train.digest


def test_tables_without_a_spec_version_are_named_by_their_columns():
    split = _split("/data/address_features", spec=None)
    label = lineage.spec_label(split)
    assert label.startswith("columns-") and lineage.window_dataset(split, "training").name.endswith(label)
    assert [c["name"] for c in lineage.window_dataset(split, "training").schema.to_dict()] == ["a", "b", "c"]


def test_many_partitions_keep_the_source_small():
    keys = [f"{i * 100:09d}-{i * 100 + 99:09d}" for i in range(3000)]
    source = lineage.PartitionedParquetSource("s3://bucket/prefix/transaction_features", keys)
    assert "paths" not in source.to_dict() and len(source.to_json()) < 65_535
    assert source.to_dict()["partition_count"] == 3000 and source.to_dict()["partition_span"].startswith(keys[0])
    assert len(lineage.PartitionedParquetSource("/d", keys[:2000]).to_dict()["partitions"]) == 2000


@pytest.fixture
def tracking_uri(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def test_experiment_kind_is_set_on_creation_and_on_old_experiments(tracking_uri):
    client = mlflow.MlflowClient(tracking_uri)
    new = ensure_experiment(client, "fresh")
    assert client.get_experiment(new).tags[EXPERIMENT_KIND_TAG] == CUSTOM_MODEL_DEVELOPMENT
    old = client.create_experiment("old")
    guessed = client.create_experiment("guessed", tags={EXPERIMENT_KIND_TAG: "genai_development_inferred"})
    chosen = client.create_experiment("chosen", tags={EXPERIMENT_KIND_TAG: "forecasting"})
    assert ensure_experiment(client, "old") == old and ensure_experiment(client, "guessed") == guessed
    for eid in (old, guessed):
        assert client.get_experiment(eid).tags[EXPERIMENT_KIND_TAG] == CUSTOM_MODEL_DEVELOPMENT
    ensure_experiment(client, "chosen")  # a kind a person chose is left alone
    assert client.get_experiment(chosen).tags[EXPERIMENT_KIND_TAG] == "forecasting"


def test_window_inputs_are_logged_on_the_run(tracking_uri):
    client = mlflow.MlflowClient(tracking_uri)
    mlflow.set_tracking_uri(tracking_uri)
    try:
        with mlflow.start_run(experiment_id=ensure_experiment(client, "lineage")) as run:
            lineage.log_window_inputs(_split("/data/transaction_features"))
    finally:
        mlflow.set_tracking_uri(None)
    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    contexts = {next(t.value for t in i.tags if t.key == "mlflow.data.context"): i.dataset for i in inputs}
    assert set(contexts) == {"training", "validation"}
    assert contexts["training"].source_type == lineage.SOURCE_TYPE
    assert json.loads(contexts["training"].source)["partitions"] == KEYS[:2]
