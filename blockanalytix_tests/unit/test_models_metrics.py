"""The pure-numpy metrics against scikit-learn's implementations and hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score, roc_curve

from blockanalytix_assets.ml.evaluation import (
    best_f1_threshold,
    binary_report,
    f1_at,
    pr_auc,
    recall_at_fpr,
    roc_auc,
    safe_binary_report,
)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_metrics_match_sklearn_with_ties(seed):
    rng = np.random.default_rng(seed)
    y = rng.random(500) < 0.1
    scores = np.round(rng.random(500) + y * 0.4, 2)  # rounding creates ties
    assert roc_auc(y, scores) == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
    assert pr_auc(y, scores) == pytest.approx(average_precision_score(y, scores), abs=1e-12)


def test_f1_and_best_threshold():
    rng = np.random.default_rng(3)
    y = rng.random(300) < 0.2
    s = rng.random(300) + y * 0.5
    assert f1_at(y, s, 0.7) == pytest.approx(f1_score(y, s >= 0.7))
    thr, best = best_f1_threshold(y, s)
    grid = [f1_score(y, s >= t) for t in np.unique(s)]
    assert best == pytest.approx(max(grid)) and f1_at(y, s, thr) == pytest.approx(best)


def test_recall_at_fpr_matches_roc_curve():
    rng = np.random.default_rng(4)
    y = rng.random(2000) < 0.05
    s = rng.normal(size=2000) + 2 * y
    fpr, tpr, _ = roc_curve(y, s)
    assert recall_at_fpr(y, s, 0.01) == pytest.approx(tpr[fpr <= 0.01].max())


def test_hand_worked_case():
    y = np.array([1, 0, 1, 0, 0])
    s = np.array([0.9, 0.8, 0.7, 0.2, 0.1])
    assert roc_auc(y, s) == pytest.approx(5 / 6)
    assert pr_auc(y, s) == pytest.approx(0.5 * 1.0 + 0.5 * (2 / 3))
    assert recall_at_fpr(y, s, 0.0) == pytest.approx(0.5)
    assert binary_report(y, s, 0.75)["f1"] == pytest.approx(2 * 1 / (2 + 2))


def test_single_class_is_an_error_or_nan():
    with pytest.raises(ValueError, match="both classes"):
        roc_auc(np.zeros(4), np.arange(4))
    assert np.isnan(safe_binary_report(np.zeros(4), np.arange(4))["pr_auc"])
