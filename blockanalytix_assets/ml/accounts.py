"""Account-level evaluation of Kaggle-format tables: hold-out rule, CV-tuned models, tree baseline."""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import keras
import numpy as np
import pandas as pd

from blockanalytix_assets.features.naming import kaggle_column_name
from blockanalytix_assets.ml import models as M
from blockanalytix_assets.ml import specs
from blockanalytix_assets.ml.evaluation import best_f1_threshold, pr_auc

if TYPE_CHECKING:
    from sklearn.ensemble import HistGradientBoostingClassifier

HELD_OUT_DIGITS = frozenset("cdef")
ID_COLUMNS = {"unnamed_0", "index"}
# The address_risk_model architecture (ml/specs.py says how it was chosen) with its evaluation fit: 40 epochs and
# no class weights (F1 at 0.5, like the tree).
ACCOUNT_CONFIG: dict = {**specs.model("address_risk_model").params, "epochs": 40, "balanced": False}


def is_held_out(addresses: pd.Series) -> np.ndarray:
    """True where sha256(lower-cased address) starts with c, d, e or f (the shared data README's rule)."""
    return np.array(
        [hashlib.sha256(a.lower().encode()).hexdigest()[0] in HELD_OUT_DIGITS for a in addresses], dtype=bool
    )


def load_account_table(path: str, label_column: str = "FLAG", address_column: str = "Address") -> pd.DataFrame:
    """Read a Kaggle-format CSV, rename columns with kaggle_column_name, lower-case and dedupe addresses."""
    df = pd.read_csv(path)
    df.columns = [kaggle_column_name(c) for c in df.columns]
    label, address = kaggle_column_name(label_column), kaggle_column_name(address_column)
    missing = [c for c in (label, address) if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: no column(s) {missing}; pass --label-column / --address-column")
    df = df.rename(columns={label: "label", address: "address"})
    df["address"] = df["address"].astype(str).str.lower()
    df = df.drop_duplicates("address", keep="first").reset_index(drop=True)
    df["label"] = pd.to_numeric(df["label"], errors="raise").astype(int)
    return df


def account_feature_columns(df: pd.DataFrame) -> list[str]:
    """The address_features columns present in the table, else every numeric non-id column."""
    from blockanalytix_assets.features.address import ADDRESS_FEATURE_COLUMNS

    cols = [c for c in ADDRESS_FEATURE_COLUMNS if c in df.columns]
    if cols:
        return cols
    skip = ID_COLUMNS | {"label", "address"}
    return [c for c in df.columns if c not in skip and pd.api.types.is_numeric_dtype(df[c])]


def feature_matrix(df: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Float32 features, missing values as 0 (Kaggle leaves ERC-20 columns empty without tokens)."""
    return df[columns].apply(pd.to_numeric, errors="coerce").fillna(0.0).to_numpy(np.float32)


FIT_KEYS = ("epochs", "batch_size", "balanced", "cosine", "target_bins")


def fit_address_model(
    x: np.ndarray, y: np.ndarray, config: dict, seed: int, epochs: int = 40, batch_size: int = 128
) -> keras.Model:
    """One address_risk_model; `config` holds builder keywords and optionally epochs, batch_size, balanced, cosine."""
    fit = {"epochs": epochs, "batch_size": batch_size, "balanced": True, "cosine": False}
    fit.update({k: config[k] for k in FIT_KEYS if k in config})
    build = {k: v for k, v in config.items() if k not in FIT_KEYS}
    if fit["cosine"]:  # anneal the learning rate to 0 at the end of the last epoch
        build["decay_steps"] = fit["epochs"] * -(-len(y) // fit["batch_size"])
    if config.get("target_bins"):  # PLE bin edges from per-feature trees on these training labels
        build["y_train"] = y
    model = M.build_address_risk_model(x, seed=seed, name=f"address_risk_model_s{seed}", **build)
    weights = M.class_weights(y) if fit["balanced"] else None
    model.fit(x, y, epochs=fit["epochs"], batch_size=fit["batch_size"], verbose=0, class_weight=weights)
    return model


def average_models(members: list[keras.Model], n_features: int) -> keras.Model:
    """One Keras model whose output is the mean probability of the seed ensemble."""
    if len(members) == 1:
        return members[0]
    inputs = keras.Input(shape=(n_features,), name="features")
    outs = [m(inputs) for m in members]
    return keras.Model(inputs, keras.layers.Average(name="probability")(outs), name="address_risk_ensemble")


def _folds(y: np.ndarray, k: int, seed: int) -> list[np.ndarray]:
    from sklearn.model_selection import StratifiedKFold

    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [val for _, val in skf.split(np.zeros(len(y)), y)]


@dataclass
class CvResult:
    """Cross-validation on the training part: chosen config, its out-of-fold scores and the F1 threshold."""

    config: dict
    threshold: float
    cv_pr_auc: dict[str, float] = field(default_factory=dict)


def cv_select(
    x: np.ndarray,
    y: np.ndarray,
    grid: tuple[dict, ...] = (ACCOUNT_CONFIG,),
    folds: int = 3,
    epochs: int = 40,
    seed: int = 0,
) -> CvResult:
    """Pick the config with the best out-of-fold PR-AUC and the F1-optimal threshold from its OOF scores."""
    fold_idx = _folds(y, folds, seed)
    best: tuple[float, dict, np.ndarray] | None = None
    scores: dict[str, float] = {}
    for config in grid:
        oof = np.zeros(len(y))
        for val in fold_idx:
            train = np.setdiff1d(np.arange(len(y)), val)
            model = fit_address_model(x[train], y[train], config, seed, epochs)
            oof[val] = M.predict_big(model, x[val]).ravel()
        score = pr_auc(y, oof)
        scores[str(config)] = score
        if best is None or score > best[0]:
            best = (score, config, oof)
    assert best is not None
    threshold, _ = best_f1_threshold(y, best[2])
    return CvResult(config=best[1], threshold=threshold, cv_pr_auc=scores)


def fit_tree_baseline(x: np.ndarray, y: np.ndarray, seed: int = 0) -> HistGradientBoostingClassifier:
    """Default scikit-learn HistGradientBoostingClassifier, the tree baseline."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(random_state=seed).fit(x, y)


def _log_run(
    name: str,
    model: keras.Model | HistGradientBoostingClassifier,
    report: dict[str, float],
    params: dict[str, object],
    x: np.ndarray,
    y: np.ndarray,
    p: np.ndarray,
) -> str:
    import mlflow

    from blockanalytix_assets.ml import tracking

    with mlflow.start_run(run_name=name) as run:
        mlflow.set_tags({**tracking.standard_tags(name, None, None), "evaluation": "accounts_holdout"})
        mlflow.log_params(params)
        tracking.log_metrics("holdout_", report)
        tracking.log_pr_curve(y, {name: p})
        if isinstance(model, keras.Model):
            tracking.log_keras_model(model, x)
        else:
            tracking.log_sklearn_model(model, x)
        return run.info.run_id


def evaluate_accounts(
    df: pd.DataFrame, seeds: int = 5, epochs: int = 40, folds: int = 3, log: bool = True, config: dict | None = None
) -> list[dict]:
    """Train on accounts outside the hold-out rule, evaluate once on the held-out ones; one dict per model."""
    from blockanalytix_assets.ml.evaluation import binary_report

    config = {**(ACCOUNT_CONFIG if config is None else config), "epochs": epochs}
    cols = account_feature_columns(df)
    held = is_held_out(df["address"])
    x, y = feature_matrix(df, cols), df["label"].to_numpy()
    x_tr, y_tr, x_ho, y_ho = x[~held], y[~held], x[held], y[held]
    counts = {"n_train": int(len(y_tr)), "n_holdout": int(len(y_ho))}
    if config.get("balanced", True):  # class weights shift the probabilities: F1 threshold from CV scores
        threshold = cv_select(x_tr, y_tr, grid=(config,), folds=folds, epochs=epochs).threshold
        rule = f"best F1 on {folds}-fold out-of-fold scores of the training accounts"
    else:  # unweighted: calibrated probabilities, the same 0.5 rule as the tree
        threshold, rule = 0.5, "0.5"
    print(f"config {config}, F1 threshold {threshold:.3f} ({rule})", file=sys.stderr)
    members = [fit_address_model(x_tr, y_tr, config, seed, epochs) for seed in range(seeds)]
    keras_model = average_models(members, len(cols))
    p_keras = M.predict_big(keras_model, x_ho).ravel()
    tree = fit_tree_baseline(x_tr, y_tr)
    p_tree = tree.predict_proba(x_ho)[:, 1]
    out = []
    for name, model, p, thr, params in (
        ("address_risk_model", keras_model, p_keras, threshold,
         {**{k: str(v) for k, v in config.items()}, "seeds": seeds, "f1_threshold_rule": rule}),
        ("hist_gradient_boosting", tree, p_tree, 0.5,
         {"estimator": "HistGradientBoostingClassifier", "threshold": 0.5}),
    ):  # fmt: skip
        report = binary_report(y_ho, p, thr)
        if log:
            _log_run(name, model, report, {**params, **counts, "n_features": len(cols)}, x_tr, y_ho, p)
        row = {
            "model": name,
            **{k: round(report[k], 4) for k in ("roc_auc", "pr_auc", "f1", "recall_at_1pct_fpr")},
        }
        out.append({**row, **counts})
    return out
