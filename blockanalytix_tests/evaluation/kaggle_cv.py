"""Model selection for evaluate-accounts by K-fold CV on the TRAINING accounts only (never the hold-out).

Usage: python -m blockanalytix_tests.evaluation.kaggle_cv [CSV] [--folds 5] [--seeds 3] [--configs NAME ...]
Each candidate Keras configuration and the HistGradientBoosting tree are trained and scored inside the same
stratified folds of the non-held-out accounts; the four hold-out figures (ROC-AUC, PR-AUC, F1 at the
model's own threshold rule, recall at 1% FPR) are averaged over folds. Writes results/kaggle_cv.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results" / "kaggle_cv.json"
METRICS = ("roc_auc", "pr_auc", "f1", "recall_at_1pct_fpr")


def candidates() -> dict[str, dict]:
    """Candidate address_risk_model settings (builder keywords plus fit keywords: epochs, balanced, cosine)."""
    from blockanalytix_assets.ml.accounts import ACCOUNT_CONFIG

    base = {"n_bins": 16, "hidden": (128, 64), "dropout": 0.2, "epochs": 40, "balanced": True}
    ple32 = {**base, "balanced": False, "zscore": False, "n_bins": 32}  # the setting frozen before embed8_b64
    return {
        "previous_default": base,
        "unweighted": {**base, "balanced": False},
        "ple_only": {**base, "balanced": False, "zscore": False},
        "ple_only_32": {**base, "balanced": False, "zscore": False, "n_bins": 32},
        "ple_only_32_e20": {**base, "balanced": False, "zscore": False, "n_bins": 32, "epochs": 20},
        "ple_only_64": {**base, "balanced": False, "zscore": False, "n_bins": 64},
        "frozen": dict(ACCOUNT_CONFIG),
        "cos40": {**ple32, "cosine": True},
        "embed8": {**ple32, "embed": 8},
        "embed16": {**ple32, "embed": 16},
        "embed8_do3": {**ple32, "embed": 8, "dropout": 0.3},
        "embed8_b64": {**ple32, "embed": 8, "n_bins": 64},  # frozen since (ACCOUNT_CONFIG)
        "tbins32": {**ple32, "target_bins": True},
        "tbins32_embed8": {**ple32, "target_bins": True, "embed": 8},
    }


def fold_scores(x: np.ndarray, y: np.ndarray, configs: dict[str, dict], folds: int, seeds: int) -> dict:
    """Per-fold figures of every candidate and of the tree, all on the same folds."""
    from sklearn.model_selection import StratifiedKFold

    from blockanalytix_assets.ml import models as M
    from blockanalytix_assets.ml.accounts import fit_address_model, fit_tree_baseline
    from blockanalytix_assets.ml.evaluation import binary_report

    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    out: dict[str, list[dict]] = {name: [] for name in [*configs, "hist_gradient_boosting"]}
    for i, (tr, va) in enumerate(skf.split(x, y)):
        tree = fit_tree_baseline(x[tr], y[tr])
        out["hist_gradient_boosting"].append(binary_report(y[va], tree.predict_proba(x[va])[:, 1], 0.5))
        for name, cfg in configs.items():
            t0 = time.perf_counter()
            members = [fit_address_model(x[tr], y[tr], cfg, s) for s in range(seeds)]
            p = np.mean([M.predict_big(m, x[va]).ravel() for m in members], axis=0)
            out[name].append({**binary_report(y[va], p, 0.5), "seconds": time.perf_counter() - t0})
            print(f"fold {i} {name}: " + " ".join(f"{k}={out[name][-1][k]:.4f}" for k in METRICS), flush=True)
        print(f"fold {i} tree: " + " ".join(f"{k}={out['hist_gradient_boosting'][-1][k]:.4f}" for k in METRICS))
    return out


def summarise(per_fold: dict) -> dict:
    """Mean over folds per model, and whether each Keras candidate is >= the tree on every figure."""
    mean = {m: {k: round(float(np.mean([f[k] for f in fs])), 4) for k in METRICS} for m, fs in per_fold.items()}
    tree = mean["hist_gradient_boosting"]
    for m, row in mean.items():
        if m != "hist_gradient_boosting":
            row["at_least_tree"] = {k: row[k] >= tree[k] for k in METRICS}
            row["wins_folds"] = {k: sum(a[k] >= b[k] for a, b in zip(per_fold[m], per_fold["hist_gradient_boosting"],
                                                                       strict=True)) for k in METRICS}  # fmt: skip
    return mean


def main(argv: list[str] | None = None) -> dict:
    """CLI: CV the candidates on the training accounts and write results/kaggle_cv.json."""
    from blockanalytix_assets.ml.accounts import (
        account_feature_columns,
        feature_matrix,
        is_held_out,
        load_account_table,
    )

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("csv", nargs="?", default=os.environ.get("BLOCKANALYTIX_KAGGLE_CSV"))
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--configs", nargs="*", help="Candidate names (default: all).")
    args = p.parse_args(argv)
    if not args.csv or not os.path.exists(args.csv):
        raise SystemExit("give the Kaggle transaction_dataset.csv path (argument or BLOCKANALYTIX_KAGGLE_CSV)")
    t0 = time.perf_counter()
    df = load_account_table(args.csv)
    train = ~is_held_out(df["address"])  # the held-out accounts are never read below
    x, y = feature_matrix(df[train], account_feature_columns(df)), df.loc[train, "label"].to_numpy()
    configs = {k: v for k, v in candidates().items() if not args.configs or k in args.configs}
    per_fold = fold_scores(x, y, configs, args.folds, args.seeds)
    result = {
        "protocol": f"{args.folds}-fold stratified CV on the {int(train.sum())} training accounts (hold-out never "
        f"read); Keras = mean of {args.seeds} seeds; F1 at threshold 0.5 for both models",
        "configs": {k: {kk: str(vv) for kk, vv in v.items()} for k, v in configs.items()},
        "mean": summarise(per_fold),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    previous.setdefault("runs", []).append(result)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(previous, indent=2) + "\n")
    print(json.dumps(result["mean"], indent=2))
    return result


if __name__ == "__main__":
    main()
