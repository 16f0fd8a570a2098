"""MLflow as a scientist sees it: training runs with their datasets, and two runs' metrics side by side."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import mlflow
import numpy as np
import pytest

from blockanalytix_assets.ml import lineage, tracking
from blockanalytix_assets.ml.data import transaction_split
from blockanalytix_assets.ml.evaluation import safe_binary_report
from blockanalytix_assets.ml.experiments import CUSTOM_MODEL_DEVELOPMENT, EXPERIMENT_KIND_TAG
from blockanalytix_assets.ml.synthetic import feature_columns, synthetic_world

pytestmark = pytest.mark.integration

EXPERIMENT = "blockanalytix-browser"
METRICS = ("val_pr_auc", "val_roc_auc", "val_f1", "val_recall_at_1pct_fpr")
# Each value cell of the compare view's metric grid, with its position (rows line up by their vertical centre).
CELLS_JS = """() => [...document.querySelectorAll('.ReactVirtualized__Grid__innerScrollContainer > div')].map(e => {
    const r = e.getBoundingClientRect();
    return {text: e.innerText.trim(), x: r.left, y: r.top + r.height / 2};
})"""


# Keep MLflow 3.17's assistant side panel closed, so the screenshots show the runs.
NO_ASSISTANT_JS = """localStorage.setItem('mlflow.assistant.fab.autoOpenedOnFirstLoad_v1', 'true');
localStorage.setItem('mlflow.assistant.panelOpen_v1', 'false');"""


@dataclass
class TrainingRuns:
    uri: str
    experiment_id: str
    run_ids: list[str]
    metrics: list[dict[str, float]]


def _train_and_log(split, max_iter: int) -> tuple[str, dict[str, float]]:
    """A small tree model logged the way the pipeline logs a training run (tags, input datasets, metrics)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    with mlflow.start_run(run_name="anomaly_classifier") as run:
        mlflow.set_tags(tracking.standard_tags("anomaly_classifier", split.feature_spec_version, split.partitions))
        lineage.log_window_inputs(split)
        mlflow.log_params({"max_iter": max_iter, "n_train": len(split.y_train), "n_val": len(split.y_val)})
        model = HistGradientBoostingClassifier(max_iter=max_iter, learning_rate=0.05, random_state=0)
        model.fit(split.x_train, split.y_train)
        report = safe_binary_report(split.y_val, model.predict_proba(split.x_val)[:, 1])
        tracking.log_metrics("val_", report)
    return run.info.run_id, {f"val_{k}": float(v) for k, v in report.items() if np.isfinite(v)}


@pytest.fixture(scope="module")
def training_runs(mlflow_server, tmp_path_factory) -> TrainingRuns:
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    experiment_id = tracking.start_experiment(mlflow_server, EXPERIMENT)
    parts, labels = synthetic_world(n_partitions=4, rows_per_partition=600, seed=3)
    split = transaction_split(parts, labels, feature_columns())
    split.source = lineage.table_uri(str(tmp_path_factory.mktemp("storage")), "transaction_features")
    logged = [_train_and_log(split, n) for n in (3, 60)]
    return TrainingRuns(mlflow_server, experiment_id, [r for r, _ in logged], [m for _, m in logged])


def test_experiment_opens_on_training_runs_with_their_datasets(training_runs, browser_page, artifacts_dir):
    client = mlflow.MlflowClient(training_runs.uri)
    tags = client.get_experiment(training_runs.experiment_id).tags
    assert tags[EXPERIMENT_KIND_TAG] == CUSTOM_MODEL_DEVELOPMENT
    page = browser_page.page
    page.add_init_script(NO_ASSISTANT_JS)
    page.goto(tracking.experiment_url(training_runs.uri, training_runs.experiment_id))
    page.get_by_text("2 matching runs").wait_for(timeout=60_000)
    page.get_by_text("transaction_features spec=synthetic").first.wait_for(timeout=30_000)  # the Dataset column
    page.wait_for_timeout(1000)
    page.screenshot(path=str(artifacts_dir / "mlflow-training-runs.png"))
    assert f"/experiments/{training_runs.experiment_id}/runs" in page.url and "workflowType=genai" not in page.url
    body = page.inner_text("body")
    assert "Token Usage" not in body and body.count("anomaly_classifier") >= 2


def test_compare_view_shows_both_runs_metrics_side_by_side(training_runs, browser_page, artifacts_dir):
    ids, exp = training_runs.run_ids, training_runs.experiment_id
    page = browser_page.page
    page.add_init_script(NO_ASSISTANT_JS)
    page.set_viewport_size({"width": 1400, "height": 1150})
    query = f"runs={json.dumps(ids)}&experiments={json.dumps([exp])}&workflowType=machine_learning"
    page.goto(f"{training_runs.uri}/#/compare-runs?{query}")
    page.get_by_text("Comparing 2 Runs").wait_for(timeout=60_000)
    page.locator(".ReactVirtualized__Grid__innerScrollContainer a", has_text="val_pr_auc").wait_for(timeout=30_000)
    page.get_by_text("Visualizations", exact=True).click()  # fold the plots: the table of figures comes into view
    page.wait_for_timeout(1000)
    page.screenshot(path=str(artifacts_dir / "mlflow-compare.png"))
    header = page.locator("table.mlflow-compare-run-table tr", has_text="Run ID").inner_text()
    order = sorted(ids, key=header.index)  # the columns' run order
    cells = page.evaluate(CELLS_JS)
    for name in METRICS:
        (label,) = [c for c in cells if c["text"] == name]
        row = sorted((c for c in cells if abs(c["y"] - label["y"]) < 2 and c["x"] > label["x"]), key=lambda c: c["x"])
        expected = [training_runs.metrics[ids.index(r)][name] for r in order]
        assert [float(c["text"]) for c in row] == pytest.approx(expected, abs=6e-4), (name, row)  # shown to 3 places
    assert training_runs.metrics[0]["val_pr_auc"] != training_runs.metrics[1]["val_pr_auc"]
    assert browser_page.errors == []
