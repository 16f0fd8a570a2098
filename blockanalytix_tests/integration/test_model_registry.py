"""A model added as one spec trains through the Definitions, registers under its name and is watched (real MLflow)."""

from __future__ import annotations

import dataclasses

import dagster as dg
import mlflow
import pytest

from blockanalytix_assets.definitions import build_definitions
from blockanalytix_assets.ml.specs import MODELS, model
from blockanalytix_assets.ml.synthetic import synthetic_world
from blockanalytix_assets.resources import MlflowResource, StorageResource
from blockanalytix_assets.storage import Storage

pytestmark = pytest.mark.integration


def _events(sensor: dg.SensorDefinition, context: dg.SensorEvaluationContext) -> dict[str, dg.AssetMaterialization]:
    result = sensor(context)
    events = [] if isinstance(result, dg.SkipReason) else result.asset_events
    return {e.asset_key.to_user_string(): e for e in events}


def test_a_throwaway_spec_trains_registers_and_is_watched(tmp_path, mlflow_server):
    parts, labels = synthetic_world(n_partitions=2, rows_per_partition=600, seed=9)
    store = Storage(str(tmp_path / "data"))
    for key, table in parts.items():
        store.write("transaction_features", key, table)
    store.write("address_labels", "all", labels)
    spec = dataclasses.replace(
        model("anomaly_classifier"),
        asset="throwaway_classifier",
        registered_name="throwaway-clf",
        params={"hidden": (8,), "n_bins": 4},
        batch_size=128,
    )
    defs = build_definitions("local", models=(*MODELS, spec))
    mlflow_resource = MlflowResource(tracking_uri=mlflow_server, experiment_name="throwaway-test")
    resources = {"storage": StorageResource(root=store.root), "mlflow": mlflow_resource}
    instance = dg.DagsterInstance.ephemeral()
    config = {"ops": {"throwaway_classifier": {"config": {"window_ranges": 2, "epochs": 1}}}}
    result = dg.materialize(
        [defs.resolve_assets_def("throwaway_classifier")], resources=resources, instance=instance, run_config=config
    )
    mat = result.asset_materializations_for_node("throwaway_classifier")[0]
    assert mat.metadata["model_version"].value == "1" and mat.metadata["champion_promoted"].value is True
    assert mat.tags["dagster/data_version"] == "champion-1" and mat.tags["dagster/code_version"] == spec.code_version

    client = mlflow.MlflowClient(tracking_uri=mlflow_server)
    champion = client.get_model_version_by_alias("throwaway-clf", "champion")
    run = client.get_run(champion.run_id)
    assert run.info.run_name == run.data.tags["model_kind"] == "throwaway_classifier"
    assert run.data.params["batch_size"] == "128" and run.data.params["hidden"] == "(8,)"

    sensor = defs.get_repository_def().get_sensor_def("champion_alias_sensor")
    context = dg.build_sensor_context(instance=instance, resources={"mlflow": mlflow_resource})
    assert "throwaway_classifier" not in _events(sensor, context)  # Dagster recorded this champion already
    again = client.create_model_version("throwaway-clf", f"runs:/{run.info.run_id}/model", run.info.run_id)
    client.set_registered_model_alias("throwaway-clf", "champion", again.version)  # moved by hand, as in the UI
    moved = _events(sensor, context)["throwaway_classifier"]
    assert moved.tags["dagster/data_version"] == f"champion-{again.version}"
    assert moved.metadata["registered_model"].value == "throwaway-clf"
