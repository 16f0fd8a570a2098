"""anomaly_report and overview_report materialised by Dagster: files, clickable metadata, MLflow artefacts."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from mlflow.tracking import MlflowClient

from blockanalytix_assets.reports import tracking
from blockanalytix_assets.reports.assets import anomaly_report, overview_report
from blockanalytix_assets.resources import MlflowResource, StorageResource
from blockanalytix_tests.api.dataset import build_dataset

pytestmark = pytest.mark.integration
EXPERIMENT = "reports-test"
SCORING_EXPERIMENT = "reports-test-scoring"  # scoring runs and the reports logged into them


def _no_png(asset: str) -> dict:
    # PNG export is covered by the unit tests; here it would only add a browser start per run.
    return {"ops": {asset: {"config": {"png": False}}}}


@pytest.fixture(scope="module")
def setup(tmp_path_factory, mlflow_server):
    ds = build_dataset(str(tmp_path_factory.mktemp("storage")), txs_per_range=60)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("block_ranges", ds.keys)
    resources = {
        "storage": StorageResource(root=ds.root),
        "mlflow": MlflowResource(
            tracking_uri=mlflow_server, experiment_name=EXPERIMENT, scoring_experiment_name=SCORING_EXPERIMENT
        ),
    }
    return ds, instance, resources, mlflow_server


def _metadata(result: dg.ExecuteInJobResult, asset: str) -> dict:
    mats = result.asset_materializations_for_node(asset)
    assert len(mats) == 1
    return mats[0].metadata


def test_anomaly_report_is_written_linked_and_logged_to_mlflow(setup):
    ds, instance, resources, uri = setup
    key = ds.keys[0]
    result = dg.materialize(
        [anomaly_report],
        partition_key=key,
        resources=resources,
        instance=instance,
        run_config=_no_png("anomaly_report"),
    )
    assert result.success
    meta = _metadata(result, "anomaly_report")
    path = Path(meta["path"].value)
    assert path == Path(ds.root) / "reports" / "anomaly_report" / f"{key}.html" and path.stat().st_size > 100_000
    assert meta["url"].value == path.as_uri()
    assert meta["rows"].value == ds.scores[key].num_rows
    assert "| rank |" in meta["top_anomalies"].value
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(meta["mlflow_run_id"].value)
    assert run.data.tags[tracking.PARTITION_TAG] == key and run.info.status == "FINISHED"
    assert run.info.experiment_id == client.get_experiment_by_name(SCORING_EXPERIMENT).experiment_id
    assert [a.path for a in client.list_artifacts(run.info.run_id, "reports")] == [f"reports/anomaly_report_{key}.html"]
    # No champion in this registry: the drift is not compared, the report and its row say so.
    assert meta["drifted"].value == "none" and run.data.metrics["drift_drifted_columns"] == 0.0
    assert meta["by_range"].value == {key: {"rows": meta["rows"].value, "anomalies": meta["anomalies"].value,
                                            "drifted": "none"}}  # fmt: skip
    assert "Not compared: no champion of" in path.read_text(encoding="utf-8")
    assert (Path(ds.root) / "range_drift" / f"{key}.parquet").exists()


def test_report_goes_into_the_partitions_scoring_run_when_there_is_one(setup):
    ds, instance, resources, uri = setup
    key = ds.keys[1]
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(SCORING_EXPERIMENT) or client.get_experiment(
        client.create_experiment(SCORING_EXPERIMENT)
    )
    scoring = client.create_run(
        exp.experiment_id, tags={tracking.PARTITION_TAG: key, tracking.STAGE_TAG: tracking.SCORING_STAGE}
    )
    result = dg.materialize(
        [anomaly_report],
        partition_key=key,
        resources=resources,
        instance=instance,
        run_config=_no_png("anomaly_report"),
    )
    assert _metadata(result, "anomaly_report")["mlflow_run_id"].value == scoring.info.run_id
    names = [a.path for a in client.list_artifacts(scoring.info.run_id, "reports")]
    assert names == [f"reports/anomaly_report_{key}.html"]


def test_overview_report_covers_every_range(setup):
    ds, instance, resources, _ = setup
    result = dg.materialize(
        [overview_report], resources=resources, instance=instance, run_config=_no_png("overview_report")
    )
    meta = _metadata(result, "overview_report")
    assert meta["rows"].value == len(ds.keys)
    assert meta["transactions"].value == sum(t.num_rows for t in ds.cleaned.values())
    page = Path(meta["path"].value).read_text(encoding="utf-8")
    assert all(f'href="anomaly_report/{k}.html"' in page for k in ds.keys)
    assert "<h2>Drift</h2>" in page


def test_report_assets_are_eager_and_depend_on_the_contract_tables():
    deps = {k.to_user_string() for k in anomaly_report.asset_deps[dg.AssetKey("anomaly_report")]}
    assert deps == {"anomaly_scores", "transaction_clusters", "cleaned_transactions", "address_labels"}
    assert anomaly_report.partitions_def.name == "block_ranges"
    assert anomaly_report.automation_conditions_by_key[dg.AssetKey("anomaly_report")] is not None
    assert overview_report.partitions_def is None


def test_one_run_renders_several_ranges_with_their_own_figures(setup):
    ds, instance, resources, _ = setup
    tags = {"dagster/asset_partition_range_start": ds.keys[0], "dagster/asset_partition_range_end": ds.keys[-1]}
    result = dg.materialize(
        [anomaly_report], resources=resources, instance=instance, tags=tags, run_config=_no_png("anomaly_report")
    )
    mats = result.asset_materializations_for_node("anomaly_report")
    assert sorted(m.partition for m in mats) == sorted(ds.keys)  # one event per range, the same metadata
    meta = mats[0].metadata
    assert meta["ranges_in_run"].value == len(ds.keys) >= 2
    assert {k: v["rows"] for k, v in meta["by_range"].value.items()} == {k: ds.scores[k].num_rows for k in ds.keys}
    assert all((Path(ds.root) / "reports" / "anomaly_report" / f"{k}.html").exists() for k in ds.keys)


def test_png_default_follows_blockanalytix_report_png() -> None:
    import os
    import subprocess
    import sys

    code = "from blockanalytix_assets.reports.assets import ReportConfig; print(ReportConfig().png)"
    for value, expected in (("0", "False"), ("1", "True")):
        env = {**os.environ, "BLOCKANALYTIX_REPORT_PNG": value}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == expected
