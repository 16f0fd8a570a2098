"""A training + scoring round against a real MLflow server: runs, registry, champion gate, scoring."""

from __future__ import annotations

import json
import os

import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from blockanalytix_assets.ml import models as M
from blockanalytix_assets.ml import registry
from blockanalytix_assets.ml.data import transaction_split
from blockanalytix_assets.ml.scoring import ScoringModels, score_transactions
from blockanalytix_assets.ml.synthetic import feature_columns, synthetic_world
from blockanalytix_assets.ml.tracking import start_experiment
from blockanalytix_assets.ml.training import supervised_run
from blockanalytix_assets.ml.unsupervised import autoencoder_run

pytestmark = pytest.mark.integration

CLASSIFIER = "test-anomaly-classifier"
AUTOENCODER = "test-transaction-autoencoder"


@pytest.fixture(scope="module")
def world(mlflow_server):
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    start_experiment(mlflow_server, "blockanalytix-test")
    parts, labels = synthetic_world(n_partitions=3, rows_per_partition=2000, seed=1)
    split = transaction_split(parts, labels, feature_columns())
    split.source = "/data/transaction_features"  # as ml.pipeline sets it for a window read from storage
    return parts, labels, split


def _build(x):
    return M.build_anomaly_classifier(x, hidden=(32, 16), log_transform=False)


def test_scoring_without_champion_fails_clearly(world):
    with pytest.raises(registry.NoChampionError, match=f"no champion for {CLASSIFIER}: materialise anomaly_classifier"):
        registry.load_champion(CLASSIFIER, "anomaly_classifier")


def test_training_round_registers_champion_and_scores(world, mlflow_server):
    parts, labels, split = world
    assert split.val_keys == [sorted(parts)[-1]] and set(split.train_keys) == set(sorted(parts)[:-1])
    clf = supervised_run("anomaly_classifier", CLASSIFIER, _build, split, {"hidden": "32,16"}, epochs=2, batch_size=64)
    ae = autoencoder_run(AUTOENCODER, split, epochs=2, batch_size=128)
    assert clf.promoted and ae.promoted and clf.version == "1"

    client = MlflowClient(mlflow_server)
    run = client.get_run(clf.run_id)
    assert run.data.params["n_train"] == str(len(split.y_train))
    assert run.data.tags["feature_spec_version"] == "synthetic"
    assert run.data.tags["partitions"] == ",".join(sorted(parts))
    assert run.data.tags["git_commit"] not in ("",)
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"  # opens on training runs
    for result in (clf, ae):  # both runs name their input: folder, partitions, feature spec, digest
        inputs = client.get_run(result.run_id).inputs.dataset_inputs
        sources = {next(t.value for t in i.tags if t.key == "mlflow.data.context"): i.dataset for i in inputs}
        assert json.loads(sources["training"].source)["partitions"] == split.train_keys
        assert json.loads(sources["validation"].source)["paths"] == [
            f"/data/transaction_features/{k}.parquet" for k in split.val_keys
        ]
        assert sources["training"].name == "transaction_features spec=synthetic" and sources["training"].digest
    assert "champion_decision" in run.data.tags and run.data.tags["champion_promoted"] == "true"
    for name in ("val_pr_auc", "val_roc_auc", "val_f1", "val_recall_at_1pct_fpr", "baseline_val_pr_auc"):
        assert name in run.data.metrics, name
    assert 0.5 < run.data.metrics["val_pr_auc"] <= 1.0
    assert len(client.get_metric_history(clf.run_id, "loss")) == 2  # per-epoch metrics
    artefacts = {a.path for a in client.list_artifacts(clf.run_id)}
    assert {"pr_curve.html", registry.AUX_ARTIFACT} <= artefacts
    baseline = client.get_run(clf.baseline_run_id)
    assert baseline.data.tags["baseline_for_run"] == clf.run_id and "val_pr_auc" in baseline.data.metrics
    assert not any("rpc" in k.lower() or "secret" in k.lower() for k in run.data.params)
    assert client.get_model_version_by_alias(CLASSIFIER, "champion").version == "1"
    ae_params = client.get_run(ae.run_id).data.params  # the autoencoder learns only unlabelled transactions
    assert ae_params["fit_rows"] == "unlabelled" and int(ae_params["n_fit"]) == int((split.y_train == 0).sum())

    loaded_clf = registry.load_champion(CLASSIFIER, "anomaly_classifier")
    loaded_ae = registry.load_champion(AUTOENCODER, "transaction_autoencoder")
    models = ScoringModels(
        loaded_clf.model,
        loaded_clf.version,
        loaded_clf.aux,
        loaded_ae.model,
        loaded_ae.version,
        loaded_ae.aux,
    )
    key = sorted(parts)[-1]
    scores, clusters = score_transactions(parts[key], models, labels)
    assert scores.num_rows == parts[key].num_rows == clusters.num_rows
    s = scores.to_pandas()
    assert s["anomaly_score"].between(0, 1).all() and sorted(s["rank"]) == list(range(1, len(s) + 1))
    assert set(s["classifier_version"]) == {"1"} and s["cluster_id"].nunique() >= 2
    labelled = s["is_labelled"].to_numpy()
    # Labelled transactions were shifted in feature space: they must rank above the rest on average.
    assert s["anomaly_score"][labelled].mean() > s["anomaly_score"][~labelled].mean()
    assert set(s["top_feature_1"]) <= set(feature_columns())


def test_worse_model_does_not_take_champion(world, mlflow_server):
    _, _, split = world
    # A model trained on shuffled labels is no better than chance on the same validation data.
    rng = np.random.default_rng(0)
    bad = type(split)(
        split.x_train,
        rng.permutation(split.y_train),
        split.x_val,
        split.y_val,
        split.feature_columns,
        split.train_keys,
        split.val_keys,
        split.feature_spec_version,
    )
    worse = supervised_run("anomaly_classifier", CLASSIFIER, _build, bad, {"hidden": "32,16"}, epochs=2, batch_size=64)
    assert worse.version == "2" and not worse.promoted
    client = MlflowClient(mlflow_server)
    assert client.get_model_version_by_alias(CLASSIFIER, "champion").version == "1"
    run = client.get_run(worse.run_id)
    assert run.data.tags["champion_decision"].startswith("kept")
    assert run.data.metrics["champion_val_pr_auc"] > run.data.metrics["candidate_val_pr_auc"]
    assert mlflow.get_tracking_uri() == mlflow_server
