"""The Definitions load for both deployments, with every asset, check, job, schedule and sensor."""

import dagster as dg
import pytest

from blockanalytix_assets.definitions import build_definitions

EXPECTED_ASSETS = {
    "raw_blocks",
    "raw_transactions",
    "raw_logs",
    "token_transfers",
    "cleaned_transactions",
    "quarantined_transactions",
    "transaction_features",
    "address_activity",
    "address_features",
    "address_profiles",
    "transaction_index",
    "address_labels",
    "anomaly_classifier",
    "transaction_autoencoder",
    "address_risk_model",
    "activity_forecaster",
    "anomaly_scores",
    "transaction_clusters",
    "address_risk_scores",
    "anomaly_report",
    "overview_report",
}
TRAINING = {"anomaly_classifier", "transaction_autoencoder", "address_risk_model", "activity_forecaster"}
INDEXES = {"address_profiles", "transaction_index"}  # unpartitioned run trees folded forward as ranges land
PER_RANGE = EXPECTED_ASSETS - {"address_labels", "overview_report"} - TRAINING - INDEXES
EXPECTED_JOBS = {"ingest_job", "catch_up_job", "raw_checks_job", "repair_job", "training_job"}
EXPECTED_SCHEDULES = {"nightly_repair_schedule", "daily_retrain_schedule"}
EXPECTED_SENSORS = {
    "chain_head_sensor",
    "run_failure_alert_sensor",
    "champion_alias_sensor",
    "blockanalytix_automation_sensor",
}
EXPECTED_CHECKS = {
    "raw_blocks_complete",
    "raw_blocks_parent_hash_continuity",
    "raw_blocks_canonical",
    "raw_transactions_count_per_block",
    "raw_transactions_unique_hash",
    "raw_transactions_receipts_present",
    "raw_traces_one_top_level_per_transaction",
    "raw_traces_consistent_with_blocks",
    "cleaned_transactions_required_not_null",
    "cleaned_transactions_hash_unique",
    "cleaned_transactions_value_bounds",
    "quarantined_transactions_empty",
    "address_features_history_complete",
    "transaction_features_drift",
    "anomaly_scores_drift",
}


@pytest.mark.parametrize("deployment", ["local", "k8s"])
def test_definitions_load_everything(deployment, monkeypatch):
    monkeypatch.setenv("BLOCKANALYTIX_RPC_URL", "http://127.0.0.1:8545")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    defs = build_definitions(deployment)
    dg.Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    assets = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert EXPECTED_ASSETS <= assets
    checks = {k.name for k in graph.asset_check_keys}
    assert EXPECTED_CHECKS <= checks
    assert EXPECTED_JOBS <= {j.name for j in defs.resolve_all_job_defs()}
    repo = defs.get_repository_def()
    assert EXPECTED_SCHEDULES <= {s.name for s in repo.schedule_defs}
    assert EXPECTED_SENSORS <= {s.name for s in repo.sensor_defs}
    for key in PER_RANGE:
        node = graph.get(dg.AssetKey(key))
        assert node.partitions_def is not None and node.partitions_def.name == "block_ranges"
    executor = defs.resolve_job_def("ingest_job").executor_def.name
    assert executor == ("k8s" if deployment == "k8s" else "in_process")


def test_ingest_carries_k8s_config_and_rpc_pool():
    defs = build_definitions("k8s")
    spec = defs.resolve_assets_def("raw_blocks")
    node = spec.node_def
    assert "dagster-k8s/config" in node.tags
    assert node.pool == "rpc"


def test_training_requests_a_gpu_and_ingest_does_not():
    import json

    def k8s_config(name: str) -> dict:
        raw = defs.resolve_assets_def(name).node_def.tags["dagster-k8s/config"]
        return json.loads(raw) if isinstance(raw, str) else raw

    defs = build_definitions("k8s")
    for name in TRAINING:
        tags = k8s_config(name)
        assert tags["container_config"]["resources"]["limits"]["nvidia.com/gpu"] == 1
        assert tags["pod_spec_config"]["tolerations"]
    ingest = k8s_config("raw_blocks")
    assert "nvidia.com/gpu" not in ingest["container_config"]["resources"]["limits"]


def test_definitions_import_no_tensorflow():
    import subprocess
    import sys

    code = (
        "import sys, blockanalytix_assets.definitions; "
        "print(sorted(m for m in ('tensorflow', 'keras', 'mlflow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_scored_tables_carry_freshness_policies():
    graph = build_definitions("local").resolve_asset_graph()
    for name in ("anomaly_scores", "transaction_clusters", "address_risk_scores"):
        assert graph.get(dg.AssetKey(name)).freshness_policy is not None, name


def _body_lines(fn) -> int:
    import ast
    import inspect
    import textwrap

    node = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
    return node.end_lineno - node.body[0].lineno + 1


def test_asset_bodies_fit_on_a_screen():
    graph = build_definitions("local").resolve_asset_graph()
    bodies = {}
    for assets_def in graph.assets_defs:
        if not isinstance(assets_def.node_def, dg.OpDefinition):
            continue
        fn = assets_def.node_def.compute_fn.decorated_fn
        bodies[fn.__name__] = _body_lines(fn)
    assert {"raw_ingest", "cleaned_transactions", "address_labels_asset", "overview_report"} <= bodies.keys()
    assert {"train", "score_transactions_asset", "address_risk_scores"} <= bodies.keys()  # ml/ (train: every model)
    assert {name: n for name, n in bodies.items() if n > 25} == {}


def test_versioned_logic_sets_code_versions():
    from blockanalytix_assets.features.address import ADDRESS_FEATURE_SPEC_VERSION
    from blockanalytix_assets.features.transaction import FEATURE_SPEC_VERSION
    from blockanalytix_assets.index.manifest import VERSION as MANIFEST_VERSION

    graph = build_definitions("local").resolve_asset_graph()
    expected = {
        "transaction_features": FEATURE_SPEC_VERSION,
        "address_activity": ADDRESS_FEATURE_SPEC_VERSION,
        "address_features": ADDRESS_FEATURE_SPEC_VERSION,
        "address_profiles": str(MANIFEST_VERSION),
        "transaction_index": str(MANIFEST_VERSION),
    }
    assert {name: graph.get(dg.AssetKey(name)).code_version for name in expected} == expected


def test_a_new_model_spec_is_one_entry_in_the_registry():
    """A throwaway spec becomes a training asset, a training_job member and a champion_alias_sensor model."""
    import dataclasses

    from blockanalytix_assets.ml.specs import LABELS_ASSET, MODELS, model

    spec = dataclasses.replace(
        model("address_risk_model"),
        asset="throwaway_model",
        registered_name="throwaway-model",
        description="A model that exists only in this test.",
        params={"hidden": (8,)},
        gpu=False,
    )
    defs = build_definitions("k8s", models=(*MODELS, spec))
    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey("throwaway_model"))
    assert {k.to_user_string() for k in node.parent_keys} == {"address_features", LABELS_ASSET}
    assert node.code_version == spec.code_version != model("address_risk_model").code_version
    assert node.group_name == "ml" and node.partitions_def is None
    tags = defs.resolve_assets_def("throwaway_model").node_def.tags["dagster-k8s/config"]
    assert "nvidia.com/gpu" not in str(tags)  # gpu=False: no GPU node
    job = defs.resolve_job_def("training_job")
    assert {"throwaway_model", *TRAINING} <= {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    sensor = defs.get_repository_def().get_sensor_def("champion_alias_sensor")
    assert sensor.metadata["model_assets"].value == [*(s.asset for s in MODELS), "throwaway_model"]
    assert dg.AssetKey("throwaway_model") not in build_definitions("local").resolve_asset_graph().get_all_asset_keys()


def test_model_code_versions_follow_their_specs():
    from blockanalytix_assets.ml.specs import MODELS

    graph = build_definitions("local").resolve_asset_graph()
    for spec in MODELS:
        assert graph.get(dg.AssetKey(spec.asset)).code_version == spec.code_version
    assert {spec.asset for spec in MODELS} == TRAINING


def test_catch_up_job_computes_exactly_the_per_range_assets_and_they_batch_alike():
    from blockanalytix_assets.ingest.jobs import PER_RANGE_FEATURES
    from blockanalytix_assets.operations.jobs import per_range_assets, raw_assets

    defs = build_definitions("local")
    graph = defs.resolve_asset_graph()
    assert {k.to_user_string() for k in per_range_assets(graph)} - set(raw_assets(True)) == set(PER_RANGE_FEATURES)

    def job_assets(name: str) -> set[str]:
        return {k.to_user_string() for k in defs.resolve_job_def(name).asset_layer.executable_asset_keys}

    assert job_assets("catch_up_job") == job_assets("ingest_job") | set(PER_RANGE_FEATURES)
    # One policy for every per-range asset: a backfill of several ranges then runs 10 of them to a process.
    for key in PER_RANGE:
        policy = graph.get(dg.AssetKey(key)).backfill_policy
        assert policy is not None and policy.max_partitions_per_run == 10, key


def test_automation_interval_comes_from_the_env(monkeypatch):
    def interval() -> int:
        repo = build_definitions("local").get_repository_def()
        return repo.get_sensor_def("blockanalytix_automation_sensor").minimum_interval_seconds

    monkeypatch.delenv("BLOCKANALYTIX_AUTOMATION_INTERVAL_SECONDS", raising=False)
    assert interval() == 15
    monkeypatch.setenv("BLOCKANALYTIX_AUTOMATION_INTERVAL_SECONDS", "5")
    assert interval() == 5
    monkeypatch.setenv("BLOCKANALYTIX_AUTOMATION_INTERVAL_SECONDS", "0")
    with pytest.raises(ValueError, match="BLOCKANALYTIX_AUTOMATION_INTERVAL_SECONDS must be positive"):
        build_definitions("local")
