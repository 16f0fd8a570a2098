"""Training data windows split by block order, and supervised training runs tracked in MLflow."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import mlflow
import numpy as np
import pandas as pd

from blockanalytix_assets.ml import lineage, tracking
from blockanalytix_assets.ml import models as M
from blockanalytix_assets.ml.evaluation import safe_binary_report
from blockanalytix_assets.ml.tracked_run import Fitted, RunResult, timed_fit, tracked_run

REFERENCE_QUANTILES = 1001


@dataclass
class Split:
    """Train and validation rows (earlier blocks train, later blocks validate) with provenance."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    feature_columns: list[str]
    train_keys: list[str] = field(default_factory=list)
    val_keys: list[str] = field(default_factory=list)
    feature_spec_version: str | None = None
    source: str | None = None  # the folder of the table the rows came from (ml.lineage.table_uri), if from storage

    @property
    def partitions(self) -> list[str]:
        return sorted(set(self.train_keys) | set(self.val_keys))


def window_keys(keys: list[str], window_ranges: int) -> list[str]:
    """The latest `window_ranges` partition keys in block order."""
    if window_ranges <= 0:
        raise ValueError(f"window_ranges must be positive, got {window_ranges}")
    return sorted(keys)[-window_ranges:]


def split_keys(keys: list[str], val_fraction: float = 0.25) -> tuple[list[str], list[str]]:
    """Earlier partitions train, the latest ceil(fraction * n) validate; one partition cannot be split."""
    keys = sorted(keys)
    if len(keys) < 2:
        return keys, []
    n_val = min(max(1, math.ceil(len(keys) * val_fraction)), len(keys) - 1)
    return keys[:-n_val], keys[-n_val:]


def touches(frm: pd.Series, to: pd.Series, addresses: set[str] | pd.Series) -> np.ndarray:
    """True where the sender or the receiver is one of the addresses (lower-case hex)."""
    addr = pd.Index(pd.Series(list(addresses) if isinstance(addresses, set) else addresses, dtype=object))
    return (frm.isin(addr) | to.isin(addr)).to_numpy()


def split_frame(
    df: pd.DataFrame,
    feature_columns: list[str],
    y: np.ndarray,
    train_keys: list[str],
    val_keys: list[str],
    order_column: str = "block_number",
    val_fraction: float = 0.25,
    spec: str | None = None,
) -> Split:
    """Split rows by partition (column `_key`); with a single partition, by block number (later = val)."""
    x = df[feature_columns].to_numpy(np.float32)
    if val_keys:
        is_val = df["_key"].isin(val_keys).to_numpy()
    else:
        cut = np.quantile(df[order_column].to_numpy(), 1 - val_fraction)
        is_val = (df[order_column] > cut).to_numpy()
    return Split(x[~is_val], y[~is_val], x[is_val], y[is_val], list(feature_columns), train_keys, val_keys, spec)


def reference_quantiles(scores: np.ndarray) -> list[float]:
    """Quantiles of a score on training data; scoring maps new scores to this empirical CDF."""
    return np.quantile(np.asarray(scores, dtype=np.float64), np.linspace(0, 1, REFERENCE_QUANTILES)).tolist()


def tree_baseline_run(split: Split, kind: str, parent_run_id: str, tags: dict) -> tuple[str, dict, np.ndarray]:
    """A HistGradientBoosting baseline on the same split, logged as its own run beside the Keras run."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    with mlflow.start_run(run_name=f"{kind}_tree_baseline", nested=True) as run:
        mlflow.set_tags({**tags, "model_kind": f"{kind}_tree_baseline", "baseline_for_run": parent_run_id})
        tree = HistGradientBoostingClassifier(random_state=0)
        mlflow.log_params({"estimator": "HistGradientBoostingClassifier", **tree.get_params()})
        tree.fit(split.x_train, split.y_train)
        p_val = tree.predict_proba(split.x_val)[:, 1] if len(split.x_val) else np.zeros(0)
        report = safe_binary_report(split.y_val, p_val)
        tracking.log_metrics("val_", report)
        tracking.log_sklearn_model(tree, split.x_train)
        return run.info.run_id, report, p_val


def supervised_run(
    kind: str,
    model_name: str,
    build: Callable[[np.ndarray], object],
    split: Split,
    params: dict,
    epochs: int,
    batch_size: int = 1024,
    patience: int = 5,
    aux: dict | None = None,
) -> RunResult:
    """Train a Keras binary classifier beside a tree baseline in the tracked-run template (log, register, gate)."""
    tags = tracking.standard_tags(kind, split.feature_spec_version, split.partitions)
    weights = M.class_weights(split.y_train)
    run_params = {
        **params,
        "epochs": epochs,
        "batch_size": batch_size,
        "patience": patience,
        "n_train": len(split.y_train),
        "n_val": len(split.y_val),
        "train_positives": int(split.y_train.sum()),
        "val_positives": int(split.y_val.sum()),
        "class_weight_positive": round(weights[1], 4),
        "n_features": len(split.feature_columns),
    }

    def fit(run_id: str) -> Fitted:
        lineage.log_window_inputs(split)
        model = build(split.x_train)
        has_val_pos = bool(split.y_val.any()) and not bool(split.y_val.all())
        hist, seconds, sps = timed_fit(
            model,
            split.x_train,
            split.y_train,
            len(split.y_train),
            [M.early_stopping_on_pr_auc(patience)] if has_val_pos else [],
            epochs=epochs,
            batch_size=batch_size,
            class_weight=weights,
            validation_data=(split.x_val, split.y_val) if len(split.y_val) else None,
        )
        mlflow.log_metrics({"epochs_run": len(hist.history.get("loss", [])) or 1})
        p_val = M.predict_big(model, split.x_val).ravel() if len(split.x_val) else np.zeros(0)
        report = safe_binary_report(split.y_val, p_val)
        p_train = M.predict_big(model, split.x_train).ravel()
        base_id, base_report, p_tree = tree_baseline_run(split, kind, run_id, tags)
        mlflow.set_tag("tree_baseline_run", base_id)
        tracking.log_metrics("baseline_val_", base_report)
        tracking.log_pr_curve(split.y_val, {kind: p_val, "tree baseline": p_tree})
        aux_data = {
            "feature_columns": split.feature_columns,
            "feature_spec_version": split.feature_spec_version,
            "probability_quantiles": reference_quantiles(np.r_[p_train, p_val]),
            "threshold": report["threshold"],
            **(aux or {}),
        }
        return Fitted(
            model,
            split.x_train,
            report,
            aux_data,
            "val_pr_auc",
            report["pr_auc"],
            lambda champ: safe_binary_report(split.y_val, M.predict_big(champ, split.x_val).ravel())["pr_auc"],
            seconds=seconds,
            samples_per_second=sps,
            baseline_report=base_report,
            baseline_run_id=base_id,
        )

    return tracked_run(kind, model_name, {**tags, **window_tags(split)}, run_params, fit)


def window_tags(split: Split) -> dict[str, str]:
    """The train and validation partitions of a split as run tags."""
    return {"train_partitions": ",".join(split.train_keys), "val_partitions": ",".join(split.val_keys)}
