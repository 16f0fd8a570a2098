"""activity_forecaster: next-step base fee and tx count from earlier steps, vs a last-value baseline."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import keras
import numpy as np
import pandas as pd

from blockanalytix_assets.ml import lineage, tracking
from blockanalytix_assets.ml import models as M
from blockanalytix_assets.ml.tracked_run import Fitted, RunResult, timed_fit, tracked_run

SERIES = ["base_fee_gwei", "tx_count"]


def block_aggregates(blocks: pd.DataFrame, bucket_blocks: int) -> pd.DataFrame:
    """Per bucket of `bucket_blocks` blocks: mean base fee (gwei) and total transactions, in block order."""
    if bucket_blocks <= 0:
        raise ValueError("bucket_blocks must be positive")
    b = blocks.assign(
        bucket=blocks["number"].astype("int64") // bucket_blocks,
        base_fee_gwei=pd.to_numeric(blocks["base_fee_per_gas"], errors="coerce").fillna(0.0) / 1e9,
        tx_count=blocks["transaction_count"].astype("float64"),
    )
    return (
        b.groupby("bucket", sort=True)
        .agg(base_fee_gwei=("base_fee_gwei", "mean"), tx_count=("tx_count", "sum"))
        .reset_index()
    )


def make_windows(series: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Sliding windows (N, window, S) of log1p values and the next step (N, S)."""
    z = np.log1p(np.maximum(np.asarray(series, dtype=np.float64), 0.0)).astype(np.float32)
    n = len(z) - window
    if n <= 0:
        raise ValueError(f"need more than {window} steps to forecast, got {len(z)}: lower bucket_blocks or window")
    x = np.stack([z[i : i + window] for i in range(n)])
    return x, z[window:]


def forecast_report(y_true_log: np.ndarray, y_pred_log: np.ndarray) -> dict[str, float]:
    """MAE per series in original units (gwei, transactions)."""
    err = np.abs(np.expm1(y_pred_log) - np.expm1(y_true_log))
    return {f"mae_{name}": float(err[:, i].mean()) for i, name in enumerate(SERIES)}


def forecaster_run(
    model_name: str,
    aggregates: pd.DataFrame,
    window: int,
    epochs: int,
    *,
    build: Callable[..., keras.Model],
    params: Mapping[str, Any],
    batch_size: int,
    val_fraction: float = 0.25,
    partitions: list[str] | None = None,
    bucket_blocks: int | None = None,
    source: str | None = None,
) -> RunResult:
    """Train the GRU forecaster on earlier buckets, validate on later ones, compare with last value, gate."""
    x, y = make_windows(aggregates[SERIES].to_numpy(), window)
    n_val = max(1, int(round(len(x) * val_fraction)))
    if len(x) - n_val < 2:
        raise ValueError(f"only {len(x)} forecast windows: add ranges or lower bucket_blocks/window")
    x_tr, y_tr, x_val, y_val = x[:-n_val], y[:-n_val], x[-n_val:], y[-n_val:]
    run_params = {
        "window": window,
        "epochs": epochs,
        "bucket_blocks": bucket_blocks,
        **params,
        "n_train": len(x_tr),
        "n_val": len(x_val),
        "series": ",".join(SERIES),
    }

    def fit(run_id: str) -> Fitted:
        spec, keys = f"bucket{bucket_blocks}-window{window}", partitions or []
        lineage.log_inputs(
            {
                "training": lineage.table_dataset(x_tr, y_tr, source, keys, list(SERIES), spec),
                "validation": lineage.table_dataset(x_val, y_val, source, keys, list(SERIES), spec),
            }
        )
        model = build(window, len(SERIES), x_train=x_tr, **params)
        _, seconds, sps = timed_fit(
            model, x_tr, y_tr, len(x_tr), epochs=epochs, batch_size=batch_size, validation_data=(x_val, y_val)
        )
        report = forecast_report(y_val, M.predict_big(model, x_val))
        naive = forecast_report(y_val, x_val[:, -1, :])
        tracking.log_metrics("naive_val_", naive)
        # Skill vs the last value; undefined (not logged) for a flat series the naive forecast gets exactly right.
        skill = {f"skill_{s}": 1.0 - report[f"mae_{s}"] / naive[f"mae_{s}"] for s in SERIES if naive[f"mae_{s}"] > 0}
        aux = {"series": SERIES, "window": window, "bucket_blocks": bucket_blocks}
        candidate = float(np.mean(list(report.values())))

        def score_champion(champ: keras.Model) -> float:
            return float(np.mean(list(forecast_report(y_val, M.predict_big(champ, x_val)).values())))

        figures = {**report, **skill}
        return Fitted(model, x_tr, figures, aux, "val_mae", candidate, score_champion, False, seconds, sps, naive)

    tags = tracking.standard_tags("activity_forecaster", None, partitions)
    return tracked_run("activity_forecaster", model_name, tags, run_params, fit)
