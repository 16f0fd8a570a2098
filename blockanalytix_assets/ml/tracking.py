"""MLflow logging helpers: per-epoch metrics, PR curves, git commit, models with signatures, safe URLs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import mlflow
import numpy as np

from blockanalytix_assets.ingest.redact import redact_url
from blockanalytix_assets.ml.evaluation import pr_curve
from blockanalytix_assets.ml.experiments import ensure_experiment
from blockanalytix_assets.settings import Settings

if TYPE_CHECKING:
    from mlflow.models.model import ModelInfo
    from sklearn.base import ClassifierMixin

REPO_ROOT = Path(__file__).resolve().parents[2]


def git_commit() -> str:
    """The repository's HEAD commit (BLOCKANALYTIX_GIT_COMMIT in images without .git), or 'unknown'."""
    configured = Settings.from_env().git_commit
    if configured:
        return configured
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def run_url(tracking_uri: str, experiment_id: str, run_id: str) -> str | None:
    """The MLflow UI page of a run for an http(s) tracking server, credentials hidden (redact_url); None otherwise."""
    if not tracking_uri.startswith(("http://", "https://")):
        return None
    return f"{redact_url(tracking_uri).rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def experiment_url(tracking_uri: str, experiment_id: str) -> str | None:
    """The experiment's runs list in the MLflow UI's model-training mode (MLflow 3.17 starts in GenAI mode)."""
    if not tracking_uri.startswith(("http://", "https://")):
        return None
    return f"{redact_url(tracking_uri).rstrip('/')}/#/experiments/{experiment_id}/runs?workflowType=machine_learning"


def start_experiment(tracking_uri: str, experiment_name: str, artifact_location: str | None = None) -> str:
    """Point MLflow at the server and make the experiment (with its model-development kind) active; returns its id."""
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    experiment_id = ensure_experiment(mlflow.MlflowClient(tracking_uri), experiment_name, artifact_location)
    return mlflow.set_experiment(experiment_id=experiment_id).experiment_id


def standard_tags(model_kind: str, feature_spec_version: str | None, partitions: list[str] | None) -> dict[str, str]:
    """Tags every training run carries: git commit, model kind, feature spec, partitions used."""
    tags = {"mlflow.source.git.commit": git_commit(), "git_commit": git_commit(), "model_kind": model_kind}
    if feature_spec_version is not None:
        tags["feature_spec_version"] = feature_spec_version
    if partitions:
        tags["partitions"] = ",".join(partitions)
        tags["partition_span"] = f"{partitions[0]}..{partitions[-1]}"
    return tags


class EpochLogger(keras.callbacks.Callback):
    """Logs every epoch's Keras metrics (train and val) to the active MLflow run."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        clean = {k: float(v) for k, v in (logs or {}).items() if np.isfinite(float(v))}
        if clean:
            mlflow.log_metrics(clean, step=epoch)


def log_metrics(prefix: str, report: dict[str, float]) -> None:
    """Log finite figures of a report as <prefix><name>."""
    mlflow.log_metrics({f"{prefix}{k}": float(v) for k, v in report.items() if np.isfinite(v)})


def log_pr_curve(y_true: np.ndarray, scores: dict[str, np.ndarray], name: str = "pr_curve.html") -> None:
    """A plotly precision-recall figure (one line per scorer) logged as an HTML artefact."""
    import plotly.graph_objects as go

    y = np.asarray(y_true).astype(bool)
    if y.all() or not y.any():
        return
    fig = go.Figure()
    for label, s in scores.items():
        precision, recall, _ = pr_curve(y, s)
        keep = np.unique(np.linspace(0, len(recall) - 1, min(len(recall), 2000)).astype(int))
        fig.add_trace(go.Scatter(x=recall[keep], y=precision[keep], mode="lines", name=label))
    fig.update_layout(title="Precision-recall (validation)", xaxis_title="recall", yaxis_title="precision")
    mlflow.log_figure(fig, name)


def log_keras_model(model: keras.Model, x_example: np.ndarray, name: str = "model") -> ModelInfo:
    """Log a Keras model with its signature and a 5-row input example; returns mlflow's ModelInfo."""
    from mlflow.models import infer_signature

    example = np.asarray(x_example[:5], dtype=np.float32)
    out = model(example, training=False)
    pred = np.asarray(out[0] if isinstance(out, list | tuple) else out)
    signature = infer_signature(example, pred)
    from mlflow.models import Model

    return Model.log(
        artifact_path=None,
        name=name,
        flavor=_KerasFlavor,
        model=model,
        signature=signature,
        input_example=example,
        pip_requirements=_pins("keras", "tensorflow", "numpy"),
    )


class _KerasFlavor:
    """mlflow.keras with its save folder created first (mlflow 3.x writes the input example before mkdir)."""

    __name__ = "mlflow.keras"

    @staticmethod
    def save_model(path: str, **kwargs: Any) -> None:
        os.makedirs(path, exist_ok=True)
        mlflow.keras.save_model(path=path, **kwargs)


def log_sklearn_model(model: ClassifierMixin, x_example: np.ndarray, name: str = "model") -> ModelInfo:
    """Log a scikit-learn model with its signature and input example."""
    from mlflow.models import infer_signature

    example = np.asarray(x_example[:5], dtype=np.float32)
    signature = infer_signature(example, model.predict_proba(example)[:, 1])
    trusted = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]  # our own fitted trees
    return mlflow.sklearn.log_model(
        model,
        name=name,
        signature=signature,
        input_example=example,
        skops_trusted_types=trusted,
        pip_requirements=_pins("scikit-learn", "numpy"),
    )


def _pins(*packages: str) -> list[str]:
    """Installed versions as pip pins; passing them skips MLflow's slow requirement inference subprocess."""
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for p in packages:
        try:
            out.append(f"{p}=={version(p)}")
        except PackageNotFoundError:
            continue
    return out


def log_scoring_run(key: str, versions: dict[str, str], metrics: dict[str, float]) -> str:
    """One MLflow run per scored partition (the report of that range is later logged into it); returns its id."""
    # The same tags reports/tracking.py searches for: `blockanalytix.partition_key` and `blockanalytix.stage`.
    tags = {"blockanalytix.partition_key": key, "blockanalytix.stage": "scoring", "git_commit": git_commit()}
    with mlflow.start_run(run_name=f"scoring {key}", tags=tags) as run:
        mlflow.log_params({f"{name}_version": v for name, v in versions.items()})
        mlflow.log_metrics(metrics)
    return run.info.run_id
