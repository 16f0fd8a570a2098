"""activity_forecaster end to end: raw_blocks -> GRU vs last value -> MLflow run, registry, champion."""

import dagster as dg
import mlflow
import numpy as np
import pyarrow as pa
import pytest

from blockanalytix_assets.ingest.schema import BLOCKS
from blockanalytix_assets.ml.specs import model
from blockanalytix_assets.ml.training_assets import training_asset
from blockanalytix_assets.ranges import format_key
from blockanalytix_assets.resources import MlflowResource, StorageResource
from blockanalytix_assets.storage import Storage

pytestmark = pytest.mark.integration
activity_forecaster = training_asset(model("activity_forecaster"))


def _blocks(first: int, n: int, rng: np.random.Generator) -> pa.Table:
    numbers = np.arange(first, first + n)
    # A daily-like cycle in activity and a base fee that follows it: something a model can beat last-value on.
    txs = (60 + 40 * np.sin(numbers / 15.0) + rng.normal(0, 3, n)).clip(1).astype(int)
    rows = {name: [None] * n for name in BLOCKS.names}
    rows.update(
        number=numbers.tolist(),
        hash=[f"0x{i:064x}" for i in numbers],
        timestamp=(1_700_000_000 + 12 * numbers).tolist(),
        transaction_count=txs.tolist(),
        base_fee_per_gas=(txs * 10**8).tolist(),
        gas_used=(txs * 21_000).tolist(),
    )
    return pa.Table.from_pydict(rows, schema=BLOCKS)


def test_forecaster_is_tracked_registered_and_compared_with_last_value(tmp_path, mlflow_server):
    store, rng = Storage(str(tmp_path / "data")), np.random.default_rng(3)
    for first in range(0, 600, 100):
        store.write("raw_blocks", format_key(first, first + 99), _blocks(first, 100, rng))
    resources = {
        "storage": StorageResource(root=store.root),
        "mlflow": MlflowResource(tracking_uri=mlflow_server, experiment_name="forecaster-test",
                                 forecaster_model_name="forecaster-test"),
    }  # fmt: skip
    config = {"ops": {"activity_forecaster": {"config": {"epochs": 5, "bucket_blocks": 10, "window": 8}}}}
    result = dg.materialize([activity_forecaster], resources=resources, run_config=config)
    assert result.success
    md = result.get_asset_materialization_events()[0].materialization.metadata
    assert md["champion_promoted"].value is True  # the first version always becomes champion
    assert md["val_mae_tx_count"].value > 0 and md["baseline_val_mae_tx_count"].value > 0

    mlflow.set_tracking_uri(mlflow_server)
    run = mlflow.get_run(md["mlflow_run_id"].value)
    assert {"val_mae_tx_count", "naive_val_mae_tx_count", "val_skill_tx_count"} <= set(run.data.metrics)
    assert run.data.params["bucket_blocks"] == "10"
    client = mlflow.MlflowClient()
    assert client.get_model_version_by_alias("forecaster-test", "champion").version == md["model_version"].value
