"""Binary-classification metrics in pure numpy: PR-AUC, ROC-AUC, F1, recall at a fixed FPR."""

from __future__ import annotations

import numpy as np


def _sorted_counts(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative true/false positives at each distinct score threshold (descending) and the thresholds."""
    y = np.asarray(y_true).astype(bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"y_true has {y.size} values but scores has {s.size}")
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    # One point per distinct score: ties are taken together, as sklearn does.
    last_of_run = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    tps = np.cumsum(y)[last_of_run].astype(np.float64)
    fps = (last_of_run + 1 - tps).astype(np.float64)
    return tps, fps, s[last_of_run]


def _check_both_classes(y_true: np.ndarray) -> tuple[int, int]:
    y = np.asarray(y_true).astype(bool)
    pos = int(y.sum())
    neg = int(y.size - pos)
    if pos == 0 or neg == 0:
        raise ValueError(f"metric needs both classes, got {pos} positives and {neg} negatives")
    return pos, neg


def roc_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (trapezoidal over distinct thresholds; ties count one half)."""
    pos, neg = _check_both_classes(y_true)
    tps, fps, _ = _sorted_counts(y_true, scores)
    tpr = np.r_[0.0, tps / pos]
    fpr = np.r_[0.0, fps / neg]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))


def pr_curve(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and thresholds at each distinct score, highest threshold first."""
    pos, _ = _check_both_classes(y_true)
    tps, fps, thr = _sorted_counts(y_true, scores)
    precision = tps / (tps + fps)
    recall = tps / pos
    return precision, recall, thr


def pr_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Average precision: sum over thresholds of precision * recall increment (step-wise PR-AUC)."""
    precision, recall, _ = pr_curve(y_true, scores)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def f1_at(y_true: np.ndarray, scores: np.ndarray, threshold: float) -> float:
    """F1 of the rule `score >= threshold`."""
    y = np.asarray(y_true).astype(bool).ravel()
    pred = np.asarray(scores).ravel() >= threshold
    tp = float(np.sum(pred & y))
    denom = float(pred.sum() + y.sum())
    return 0.0 if denom == 0 else 2.0 * tp / denom


def best_f1_threshold(y_true: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """The threshold that maximises F1 on these data, and that F1."""
    precision, recall, thr = pr_curve(y_true, scores)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    i = int(np.argmax(f1))
    return float(thr[i]), float(f1[i])


def recall_at_fpr(y_true: np.ndarray, scores: np.ndarray, max_fpr: float = 0.01) -> float:
    """The highest recall (TPR) reachable with a threshold whose false-positive rate is <= max_fpr."""
    pos, neg = _check_both_classes(y_true)
    tps, fps, _ = _sorted_counts(y_true, scores)
    ok = fps / neg <= max_fpr + 1e-12
    return float(tps[ok].max() / pos) if ok.any() else 0.0


def binary_report(y_true: np.ndarray, scores: np.ndarray, threshold: float | None = None) -> dict[str, float]:
    """PR-AUC, ROC-AUC, F1 (at threshold, else the best on these data) and recall at 1% FPR."""
    if threshold is None:
        threshold, f1 = best_f1_threshold(y_true, scores)
    else:
        f1 = f1_at(y_true, scores, threshold)
    return {
        "pr_auc": pr_auc(y_true, scores),
        "roc_auc": roc_auc(y_true, scores),
        "f1": f1,
        "recall_at_1pct_fpr": recall_at_fpr(y_true, scores, 0.01),
        "threshold": float(threshold),
    }


def safe_binary_report(y_true: np.ndarray, scores: np.ndarray, threshold: float | None = None) -> dict[str, float]:
    """binary_report, or NaN figures when the data hold a single class (e.g. a window with no labels)."""
    y = np.asarray(y_true).astype(bool)
    if y.size == 0 or y.all() or not y.any():
        keys = ("pr_auc", "roc_auc", "f1", "recall_at_1pct_fpr")
        return {
            **{k: float("nan") for k in keys},
            "threshold": float("nan") if threshold is None else threshold,
        }
    return binary_report(y_true, scores, threshold)
