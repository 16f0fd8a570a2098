"""The drift checks pass on the normal devnet and warn on the regime-shifted one (features from the plan, no anvil)."""

import dagster as dg
import numpy as np
import pyarrow as pa
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from blockanalytix_assets.devnet.world import ScenarioConfig
from blockanalytix_assets.ml import drift_reference as ref
from blockanalytix_assets.ml.checks import anomaly_scores_drift, transaction_features_drift
from blockanalytix_assets.partitions import block_ranges
from blockanalytix_assets.resources import MlflowResource, StorageResource
from blockanalytix_assets.storage import Storage
from blockanalytix_tests.unit.plan_features import plan_features

RANGE, BLOCKS, SHIFT = 100, 600, 400
TRAINING_WINDOW = 4  # the champion was trained on the first four ranges, before the shift


@dg.asset(name="transaction_features", partitions_def=block_ranges)
def features_stand_in() -> dg.MaterializeResult:
    """The tables are written by the test; this only gives the check its asset and materialisations."""
    return dg.MaterializeResult()


@dg.asset(name="anomaly_scores", partitions_def=block_ranges)
def scores_stand_in() -> dg.MaterializeResult:
    return dg.MaterializeResult()


@pytest.fixture(autouse=True)
def _champion(monkeypatch):
    ref.clear_cache()
    monkeypatch.setattr(ref, "tracking_reachable", lambda uri: True)
    yield
    ref.clear_cache()


def _run(root: str, keys: list[str], assets: list, run_config: dict | None = None) -> dict:
    """One multi-range run of the stand-in asset and its check; evaluations by partition."""
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("block_ranges", keys)
    resources = {"storage": StorageResource(root=root), "mlflow": MlflowResource(tracking_uri="http://mlflow:5000")}
    tags = {ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1]}
    result = dg.materialize(assets, instance=instance, resources=resources, tags=tags, run_config=run_config)
    assert result.success
    return {e.partition: e for e in result.get_asset_check_evaluations()}


def _features_run(tmp_path, monkeypatch, shift: int | None, run_config: dict | None = None) -> dict:
    tables = plan_features(ScenarioConfig(seed=7, blocks=BLOCKS, regime_shift_at=shift), RANGE, lookback=3)
    store, keys = Storage(str(tmp_path)), list(tables)
    for key, table in tables.items():
        store.write("transaction_features", key, table)
    champ = ref.Champion("clf", "3", keys[:TRAINING_WINDOW])
    monkeypatch.setattr(ref, "champion", lambda uri, name: champ)
    return _run(str(tmp_path), keys, [features_stand_in, transaction_features_drift], run_config)


def test_features_drift_passes_on_the_normal_devnet(tmp_path, monkeypatch):
    evaluations = _features_run(tmp_path, monkeypatch, shift=None)
    assert len(evaluations) == BLOCKS // RANGE and all(e.passed for e in evaluations.values())
    meta = next(iter(evaluations.values())).metadata
    assert meta["champion_version"].value == "clf/3" and meta["max_psi"].value < 0.1
    assert len(meta["psi_top10"].value) == 10 and meta["reference_partitions_stored"].value == TRAINING_WINDOW


def test_features_drift_warns_after_the_regime_shift(tmp_path, monkeypatch):
    evaluations = _features_run(tmp_path, monkeypatch, shift=SHIFT)
    keys = sorted(evaluations)
    assert all(evaluations[k].passed for k in keys[:TRAINING_WINDOW])
    for key in keys[TRAINING_WINDOW:]:  # the ranges from block 400 on
        e = evaluations[key]
        assert not e.passed and e.severity == dg.AssetCheckSeverity.WARN
        assert "drifted" in e.description and e.metadata["max_psi"].value > 0.25
        assert {"log_fee_gwei", "gas_price_to_base_fee"} <= set(e.metadata["drifted"].value)
        assert e.metadata["in_reference_window"].value is False


def test_threshold_comes_from_config(tmp_path, monkeypatch):
    config = {"ops": {"transaction_features_transaction_features_drift": {"config": {"max_psi": 50.0}}}}
    evaluations = _features_run(tmp_path, monkeypatch, shift=SHIFT, run_config=config)
    assert all(e.passed for e in evaluations.values())


def _scores(values: np.ndarray, version: str = "3") -> pa.Table:
    return pa.table({"anomaly_score": values, "classifier_version": [version] * len(values)})


def test_scores_drift_warns_on_shifted_scores_and_passes_without_a_champion(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    store, keys = Storage(str(tmp_path)), [f"00000{i}000-00000{i}999" for i in range(4)]
    for key in keys[:2]:
        store.write("anomaly_scores", key, _scores(rng.uniform(0, 1, 5000)))
    store.write("anomaly_scores", keys[2], _scores(rng.uniform(0, 1, 5000) ** 0.1))  # most rows score high
    store.write("anomaly_scores", keys[3], _scores(rng.uniform(0, 1, 5000), version="2"))  # an older champion
    monkeypatch.setattr(ref, "champion", lambda uri, name: ref.Champion(name, "3", keys[:2]))
    evaluations = _run(str(tmp_path), keys, [scores_stand_in, anomaly_scores_drift])
    assert evaluations[keys[0]].passed and evaluations[keys[1]].passed
    assert not evaluations[keys[2]].passed and evaluations[keys[2]].metadata["drifted"].value == ["anomaly_score"]
    assert evaluations[keys[3]].passed and "not scored by" in evaluations[keys[3]].description

    ref.clear_cache()
    monkeypatch.setattr(ref, "champion", lambda uri, name: None)
    evaluations = _run(str(tmp_path), keys, [scores_stand_in, anomaly_scores_drift])
    assert all(e.passed and "no champion" in e.description for e in evaluations.values())
