"""The transaction autoencoder run: reconstruction-error anomaly score, k-means clusters and a 2-D PCA."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import keras
import mlflow
import numpy as np

from blockanalytix_assets.ml import lineage, tracking
from blockanalytix_assets.ml import models as M
from blockanalytix_assets.ml.evaluation import safe_binary_report
from blockanalytix_assets.ml.specs import model
from blockanalytix_assets.ml.tracked_run import Fitted, RunResult, timed_fit, tracked_run
from blockanalytix_assets.ml.training import Split, reference_quantiles, window_tags

if TYPE_CHECKING:
    from sklearn.cluster import KMeans

AUTOENCODER = model("transaction_autoencoder")  # its settings and why: ml/specs.py


def reconstruction_errors(autoencoder: keras.Model, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean squared error per row, embedding) in one forward pass."""
    _, _, scorer = M.autoencoder_views(autoencoder)
    normed, recon, code = M.predict_outputs(scorer, x)
    return np.mean((normed - recon) ** 2, axis=1), code


def choose_clusters(
    embedding: np.ndarray, k_range: range = range(2, 9), sample: int = 3000, seed: int = 0
) -> tuple[KMeans, dict[int, float]]:
    """k-means with k chosen by silhouette on a sample; returns (fitted KMeans, {k: silhouette})."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(seed)
    idx = rng.choice(len(embedding), size=min(sample, len(embedding)), replace=False)
    xs = embedding[idx]
    scores: dict[int, float] = {}
    best = None
    for k in k_range:
        if k >= len(xs):
            break
        km = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(xs)
        if len(np.unique(km.labels_)) < 2:
            continue
        scores[k] = float(silhouette_score(xs, km.labels_, sample_size=min(len(xs), 2000), random_state=seed))
        if best is None or scores[k] > scores[best[0]]:
            best = (k, km)
    if best is None:
        best = (1, KMeans(n_clusters=1, n_init=1, random_state=seed).fit(xs))
    return best[1], scores


def fit_projection(embedding: np.ndarray, sample: int = 20000, seed: int = 0) -> dict:
    """A 2-D PCA of the bottleneck embedding (mean and components) fitted on a sample."""
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(seed)
    idx = rng.choice(len(embedding), size=min(sample, len(embedding)), replace=False)
    pca = PCA(n_components=min(2, embedding.shape[1]), random_state=seed).fit(embedding[idx])
    components = np.zeros((2, embedding.shape[1]))
    components[: pca.n_components_] = pca.components_
    return {"pca_mean": pca.mean_.tolist(), "pca_components": components.tolist()}


def normal_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Rows that touch no labelled address (all rows when every one is labelled): what the autoencoder learns."""
    normal = ~np.asarray(y, dtype=bool)
    return x[normal] if normal.any() else x


def autoencoder_run(
    model_name: str,
    split: Split,
    epochs: int,
    params: Mapping[str, Any] | None = None,
    batch_size: int = AUTOENCODER.batch_size,
    patience: int = AUTOENCODER.patience,
    build: Callable[..., keras.Model] = AUTOENCODER.builder,
) -> RunResult:
    """Train the autoencoder, fit clusters and projection, in the tracked-run template (log, register, gate)."""
    params = {**AUTOENCODER.params, **(params or {})}
    labelled = bool(split.y_val.any()) and not bool(split.y_val.all())
    metric, higher = ("val_pr_auc", True) if labelled else ("val_reconstruction_mse", False)
    tags = tracking.standard_tags("transaction_autoencoder", split.feature_spec_version, split.partitions)
    run_params = {
        **params,
        "epochs": epochs,
        "batch_size": batch_size,
        "n_train": len(split.x_train),
        "n_val": len(split.x_val),
        "gate_metric": metric,
    }

    def fit(run_id: str) -> Fitted:
        lineage.log_window_inputs(split)
        x_fit, x_stop = normal_rows(split.x_train, split.y_train), normal_rows(split.x_val, split.y_val)
        mlflow.log_params({"fit_rows": "unlabelled", "n_fit": len(x_fit)})
        ae = build(x_fit, **params)
        _, normaliser, _ = M.autoencoder_views(ae)
        val = (x_stop, M.predict_big(normaliser, x_stop)) if len(x_stop) else None
        stop = [keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True)] if val else []
        target = M.predict_big(normaliser, x_fit)
        _, seconds, sps = timed_fit(
            ae, x_fit, target, len(x_fit), stop, epochs=epochs, batch_size=batch_size, validation_data=val
        )
        err_train, code_train = reconstruction_errors(ae, split.x_train)
        err_val, _ = reconstruction_errors(ae, split.x_val) if len(split.x_val) else (np.zeros(0), None)
        kmeans, silhouettes = choose_clusters(code_train)
        report = safe_binary_report(split.y_val, err_val)
        report["reconstruction_mse"] = float(err_val.mean()) if len(err_val) else float("nan")
        mlflow.log_metrics({"k": kmeans.n_clusters, **{f"silhouette_k{k}": v for k, v in silhouettes.items()}})
        tracking.log_pr_curve(split.y_val, {"reconstruction error": err_val})
        aux = {
            "feature_columns": split.feature_columns,
            "feature_spec_version": split.feature_spec_version,
            "error_quantiles": reference_quantiles(np.r_[err_train, err_val]),
            "kmeans_centers": kmeans.cluster_centers_.tolist(),
            "silhouette": silhouettes,
            **fit_projection(code_train),
        }
        candidate = report["pr_auc"] if labelled else report["reconstruction_mse"]

        def score_champion(champ: keras.Model) -> float:
            err, _ = reconstruction_errors(champ, split.x_val)
            return safe_binary_report(split.y_val, err)["pr_auc"] if labelled else float(err.mean())

        return Fitted(ae, split.x_train, report, aux, metric, candidate, score_champion, higher, seconds, sps)

    return tracked_run("transaction_autoencoder", model_name, {**tags, **window_tags(split)}, run_params, fit)
