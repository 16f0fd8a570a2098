"""The tracked-run template every training follows: start the run, log, fit, log the model, register, gate."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import mlflow
import numpy as np

from blockanalytix_assets.ml import registry, tracking


@dataclass
class RunResult:
    """What a training run produced: run, registered version, gate decision, figures."""

    run_id: str
    experiment_id: str
    version: str | None
    promoted: bool
    decision: str
    metrics: dict[str, float]
    baseline_metrics: dict[str, float] = field(default_factory=dict)
    baseline_run_id: str | None = None
    seconds: float = 0.0
    samples_per_second: float = 0.0


@dataclass
class Fitted:
    """What a model's fit step hands back to the template: the model, its validation figures and its gate."""

    model: keras.Model
    x_example: np.ndarray  # rows for the logged model's signature and input example
    report: dict[str, float]  # validation figures, logged as val_<name>
    aux: dict[str, Any]  # scoring_aux.json: what scoring needs beside the model
    gate_metric: str
    candidate: float  # the candidate's gate figure on the validation data
    score_champion: Callable[[keras.Model], float]  # the same figure for a loaded champion on the same data
    higher_is_better: bool = True
    seconds: float = 0.0
    samples_per_second: float = 0.0
    baseline_report: dict[str, float] = field(default_factory=dict)
    baseline_run_id: str | None = None


def timed_fit(
    model: keras.Model, x: Any, y: Any, rows: int, callbacks: list | None = None, **kwargs: Any
) -> tuple[keras.callbacks.History, float, float]:
    """model.fit with every epoch's metrics logged to MLflow; returns (history, seconds, samples per second)."""
    t0 = time.perf_counter()
    hist = model.fit(x, y, verbose=0, callbacks=[tracking.EpochLogger(), *(callbacks or [])], **kwargs)
    seconds = time.perf_counter() - t0
    epochs = len(hist.history.get("loss", [])) or 1
    return hist, seconds, rows * epochs / max(seconds, 1e-9)


def _champion_figure(uri: str, score: Callable[[keras.Model], float]) -> float:
    try:
        return float(score(mlflow.keras.load_model(uri)))
    except ValueError:  # the champion was trained on another feature spec or shape: it cannot be compared
        return float("nan")


def tracked_run(kind: str, model_name: str, tags: dict, params: dict, fit: Callable[[str], Fitted]) -> RunResult:
    """One MLflow run named `kind`: tags and params, fit(run_id), figures, model, registry version, champion gate."""
    with mlflow.start_run(run_name=kind) as run:
        mlflow.set_tags(tags)
        mlflow.log_params(params)
        fitted = fit(run.info.run_id)
        tracking.log_metrics("val_", fitted.report)
        timing = {"train_seconds": fitted.seconds}
        if fitted.samples_per_second:
            timing["train_samples_per_second"] = fitted.samples_per_second
        mlflow.log_metrics(timing)
        mlflow.log_dict(fitted.aux, registry.AUX_ARTIFACT)
        info = tracking.log_keras_model(fitted.model, fitted.x_example)
        version = registry.register(info.model_uri, model_name)
        gate = registry.promote_if_better(
            model_name,
            version.version,
            fitted.candidate,
            lambda uri: _champion_figure(uri, fitted.score_champion),
            fitted.gate_metric,
            fitted.higher_is_better,
        )
    return RunResult(
        run.info.run_id,
        run.info.experiment_id,
        str(version.version),
        gate["promoted"],
        gate["decision"],
        fitted.report,
        fitted.baseline_report,
        fitted.baseline_run_id,
        fitted.seconds,
        fitted.samples_per_second,
    )
