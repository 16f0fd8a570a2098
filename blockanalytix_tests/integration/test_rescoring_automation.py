"""Automation re-scores block ranges when a retrain moves the champion, and only then (real MLflow registry).

The training assets run for real against a real MLflow server; only the Keras fit is replaced by a trainer that
registers a model version and passes it through the real gate (`registry.promote_if_better`) with chosen
validation scores, so each retrain's gate decision is known in advance.
"""

from __future__ import annotations

import dataclasses

import dagster as dg
import mlflow
import pytest

from blockanalytix_assets.definitions import build_definitions
from blockanalytix_assets.features.assets import address_labels_asset
from blockanalytix_assets.ml import registry
from blockanalytix_assets.ml.specs import model
from blockanalytix_assets.ml.tracked_run import RunResult
from blockanalytix_assets.ml.training_assets import training_asset
from blockanalytix_assets.ranges import format_key
from blockanalytix_assets.resources import MlflowResource, PipelineSettings, StorageResource

pytestmark = pytest.mark.integration

SCORED = ("anomaly_scores", "transaction_clusters", "address_risk_scores")
PER_RANGE_INPUTS = ("cleaned_transactions", "transaction_features", "address_activity", "address_features")
KINDS = ("anomaly_classifier", "transaction_autoencoder", "address_risk_model")
MODEL_NAMES = {kind: f"rescore-{kind}" for kind in (*KINDS, "activity_forecaster")}


def _evaluate(**kwargs) -> dg.EvaluateAutomationConditionsResult:
    """One automation tick, in a worker thread: a session's browser fixture keeps an event loop on the main one."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(dg.evaluate_automation_conditions, **kwargs).result()


class GatedTrainer:
    """Registers a new version per call and lets the real gate decide on the score queued for that model."""

    def __init__(self) -> None:
        self.next_score: dict[str, float] = {}
        self.version_scores: dict[tuple[str, str], float] = {}

    def __call__(self, store, spec, model_name: str, **config) -> RunResult:  # noqa: ANN001 (Storage, ModelSpec)
        client = mlflow.MlflowClient()
        if not client.search_registered_models(filter_string=f"name = '{model_name}'"):
            client.create_registered_model(model_name)
        score = self.next_score[model_name]
        with mlflow.start_run(run_name=f"{model_name} retrain") as run:
            version = client.create_model_version(model_name, f"runs:/{run.info.run_id}/model", run.info.run_id)
            self.version_scores[(model_name, str(version.version))] = score
            gate = registry.promote_if_better(
                model_name,
                str(version.version),
                score,
                lambda uri: self.version_scores[(model_name, uri.rsplit("/", 1)[-1])],
                "pr_auc",
            )
        return RunResult(
            run_id=run.info.run_id,
            experiment_id=run.info.experiment_id,
            version=str(version.version),
            promoted=gate["promoted"],
            decision=gate["decision"],
            metrics={"pr_auc": score},
        )


@pytest.fixture
def trainer() -> GatedTrainer:
    return GatedTrainer()


def _retrain(instance: dg.DagsterInstance, resources: dict, trainer: GatedTrainer, scores: dict[str, float]):
    """One training_job-like run (labels + the three scored models) with the given candidate scores."""
    trainer.next_score = {MODEL_NAMES[kind]: s for kind, s in scores.items()}
    models = [training_asset(dataclasses.replace(model(kind), trainer=trainer)) for kind in KINDS]
    result = dg.materialize([address_labels_asset, *models], instance=instance, resources=resources)
    assert result.success
    return {m.asset_key.to_user_string(): m.materialization for m in result.get_asset_materialization_events()}


def _land(instance: dg.DagsterInstance, assets: tuple[str, ...], keys: list[str]) -> None:
    """Record materialisations of per-range assets (what their own runs would write to the event log)."""
    for asset in assets:
        for key in keys:
            instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=asset, partition=key))


def _requested(result: dg.EvaluateAutomationConditionsResult) -> dict[str, set[str]]:
    return {a: set(result.get_requested_partitions(dg.AssetKey(a))) for a in SCORED if result.get_num_requested(
        dg.AssetKey(a))}  # fmt: skip


def test_only_a_champion_change_rescores_every_range(tmp_path, mlflow_server, trainer, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    resources = {
        "storage": StorageResource(root=str(tmp_path / "data")),
        "settings": PipelineSettings(range_size=100, confirmations=0, home=str(tmp_path / "home")),
        "mlflow": MlflowResource(
            tracking_uri=mlflow_server,
            experiment_name="rescoring-test",
            classifier_model_name=MODEL_NAMES["anomaly_classifier"],
            autoencoder_model_name=MODEL_NAMES["transaction_autoencoder"],
            address_model_name=MODEL_NAMES["address_risk_model"],
            forecaster_model_name=MODEL_NAMES["activity_forecaster"],
        ),
    }
    defs = build_definitions("local")
    scored = dg.AssetSelection.assets(*SCORED)
    instance = dg.DagsterInstance.ephemeral()
    # The sensor has been ticking before any range exists (a first evaluation only sets the cursor).
    tick = _evaluate(defs=defs, instance=instance, asset_selection=scored)
    assert tick.total_requested == 0
    keys = [format_key(0, 99), format_key(100, 199)]
    instance.add_dynamic_partitions("block_ranges", keys)
    _land(instance, PER_RANGE_INPUTS, keys)

    first = _retrain(instance, resources, trainer, dict.fromkeys(KINDS, 0.5))
    for kind in KINDS:
        assert first[kind].metadata["champion_promoted"].value is True
        assert first[kind].tags["dagster/data_version"] == "champion-1"

    tick = _evaluate(defs=defs, instance=instance, asset_selection=scored, cursor=tick.cursor)
    assert _requested(tick) == {a: set(keys) for a in SCORED}  # both ranges are scored once a champion exists
    _land(instance, SCORED, keys)
    tick = _evaluate(defs=defs, instance=instance, asset_selection=scored, cursor=tick.cursor)
    assert tick.total_requested == 0

    # (a) A retrain the gate rejects: new materialisations of every model and of the labels, same champions,
    # same label contents, so nothing is re-scored.
    kept = _retrain(instance, resources, trainer, dict.fromkeys(KINDS, 0.4))
    for kind in KINDS:
        assert kept[kind].metadata["champion_promoted"].value is False
        assert kept[kind].metadata["model_version"].value == "2"
        assert kept[kind].tags["dagster/data_version"] == "champion-1"
    assert kept["address_labels"].tags["dagster/data_version"] == first["address_labels"].tags["dagster/data_version"]
    tick = _evaluate(defs=defs, instance=instance, asset_selection=scored, cursor=tick.cursor)
    assert tick.total_requested == 0

    # (b) The classifier's candidate wins: every scored range that uses the classifier is re-scored, nothing else.
    promoted = _retrain(instance, resources, trainer, {**dict.fromkeys(KINDS, 0.3), "anomaly_classifier": 0.9})
    assert promoted["anomaly_classifier"].tags["dagster/data_version"] == "champion-3"
    assert registry.champion_version(MODEL_NAMES["anomaly_classifier"]).version == "3"
    tick = _evaluate(defs=defs, instance=instance, asset_selection=scored, cursor=tick.cursor)
    assert _requested(tick) == {"anomaly_scores": set(keys)}
    _land(instance, ("anomaly_scores",), keys)
    tick = _evaluate(defs=defs, instance=instance, asset_selection=scored, cursor=tick.cursor)
    assert tick.total_requested == 0

    # (c) A new range is still scored as soon as its inputs land, and only that range.
    new = format_key(200, 299)
    instance.add_dynamic_partitions("block_ranges", [new])
    tick = _evaluate(defs=defs, instance=instance, asset_selection=scored, cursor=tick.cursor)
    assert tick.total_requested == 0  # its features are not there yet
    _land(instance, PER_RANGE_INPUTS, [new])
    tick = _evaluate(defs=defs, instance=instance, asset_selection=scored, cursor=tick.cursor)
    assert _requested(tick) == {a: {new} for a in SCORED}
    _land(instance, SCORED, [new])

    # A re-materialised range (new features) is re-scored alone; the other ranges are untouched.
    _land(instance, ("transaction_features",), [keys[0]])
    tick = _evaluate(defs=defs, instance=instance, asset_selection=scored, cursor=tick.cursor)
    assert _requested(tick) == {"anomaly_scores": {keys[0]}, "transaction_clusters": {keys[0]}}
    _land(instance, ("anomaly_scores", "transaction_clusters"), [keys[0]])
    tick = _evaluate(defs=defs, instance=instance, asset_selection=scored, cursor=tick.cursor)
    assert tick.total_requested == 0

    # New label contents (a new list entry) re-score every range of every scored table, even with no new champion.
    devnet_labels = tmp_path / "home" / "devnet" / "labels.csv"
    devnet_labels.parent.mkdir(parents=True)
    devnet_labels.write_text("address,typology,first_block\n0x" + "ab" * 20 + ",phishing_drain,5\n")
    relabelled = _retrain(instance, resources, trainer, dict.fromkeys(KINDS, 0.1))
    assert (
        relabelled["address_labels"].tags["dagster/data_version"] != kept["address_labels"].tags["dagster/data_version"]
    )
    tick = _evaluate(defs=defs, instance=instance, asset_selection=scored, cursor=tick.cursor)
    assert _requested(tick) == {a: {*keys, new} for a in SCORED}
    _land(instance, SCORED, [*keys, new])
    tick = _evaluate(defs=defs, instance=instance, asset_selection=scored, cursor=tick.cursor)
    assert tick.total_requested == 0

    # (d) A champion moved by hand in the MLflow UI: champion_alias_sensor records it as the model asset's data
    # version (the sensor daemon stores the events it returns), and the ranges that use the model are re-scored.
    from blockanalytix_assets.ml.sensors import champion_alias_sensor

    context = dg.build_sensor_context(instance=instance, resources={"mlflow": resources["mlflow"]})
    assert isinstance(champion_alias_sensor(context), dg.SkipReason)  # nothing moved outside Dagster yet
    mlflow.MlflowClient().set_registered_model_alias(MODEL_NAMES["transaction_autoencoder"], "champion", "2")
    result = champion_alias_sensor(context)
    assert [e.asset_key.to_user_string() for e in result.asset_events] == ["transaction_autoencoder"]
    assert result.asset_events[0].tags["dagster/data_version"] == "champion-2"
    for event in result.asset_events:
        instance.report_runless_asset_event(event)
    assert isinstance(champion_alias_sensor(context), dg.SkipReason)  # recorded once
    tick = _evaluate(defs=defs, instance=instance, asset_selection=scored, cursor=tick.cursor)
    assert _requested(tick) == {"anomaly_scores": {*keys, new}, "transaction_clusters": {*keys, new}}


def test_champion_sensor_skips_quickly_when_mlflow_is_down():
    import time

    from blockanalytix_assets.ml.sensors import champion_alias_sensor

    down = MlflowResource(tracking_uri="http://user:s3cret@127.0.0.1:9/")  # nothing listens on port 9
    context = dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral(), resources={"mlflow": down})
    t0 = time.perf_counter()
    result = champion_alias_sensor(context)
    assert isinstance(result, dg.SkipReason) and "not answering" in result.skip_message
    assert "s3cret" not in result.skip_message and time.perf_counter() - t0 < 10
