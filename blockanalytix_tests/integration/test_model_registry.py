"""A model added as one spec trains through the Definitions, registers under its name and is watched (real MLflow)."""

from __future__ import annotations

import dataclasses

import dagster as dg
import mlflow
import pytest

from blockanalytix_assets.definitions import build_definitions
from blockanalytix_assets.ml.specs import MODELS, model
from blockanalytix_assets.ml.synthetic import stored_world
from blockanalytix_assets.resources import MlflowResource

pytestmark = pytest.mark.integration


def _events(sensor: dg.SensorDefinition, context: dg.SensorEvaluationContext) -> dict[str, dg.AssetMaterialization]:
    result = sensor(context)
    events = [] if isinstance(result, dg.SkipReason) else result.asset_events
    return {e.asset_key.to_user_string(): e for e in events}


def test_a_throwaway_spec_trains_registers_and_is_watched(tmp_path, mlflow_server, monkeypatch):
    store, _, _ = stored_world(str(tmp_path / "data"), n_partitions=2, rows_per_partition=600, seed=9)
    monkeypatch.setenv("BLOCKANALYTIX_STORAGE", store.root)  # the local Definitions' resources read these
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    spec = dataclasses.replace(
        model("anomaly_classifier"),
        asset="throwaway_classifier",
        registered_name="throwaway-clf",
        params={"hidden": (8,), "n_bins": 4},
        batch_size=128,
    )
    defs = build_definitions("local", models=(*MODELS, spec))
    instance = dg.DagsterInstance.ephemeral()
    config = {"ops": {"throwaway_classifier": {"config": {"window_ranges": 2, "epochs": 1}}}}
    result = defs.resolve_job_def("training_job").execute_in_process(
        config, instance=instance, asset_selection=[dg.AssetKey("throwaway_classifier")]
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
    context = dg.build_sensor_context(
        instance=instance, resources={"mlflow": MlflowResource(tracking_uri=mlflow_server)}
    )
    assert "throwaway_classifier" not in _events(sensor, context)  # Dagster recorded this champion already
    again = client.create_model_version("throwaway-clf", f"runs:/{run.info.run_id}/model", run.info.run_id)
    client.set_registered_model_alias("throwaway-clf", "champion", again.version)  # moved by hand, as in the UI
    moved = _events(sensor, context)["throwaway_classifier"]
    assert moved.tags["dagster/data_version"] == f"champion-{again.version}"
    assert moved.metadata["registered_model"].value == "throwaway-clf"
