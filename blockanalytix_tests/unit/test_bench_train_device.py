"""The training/scoring benchmark runs end to end on a small table (a smoke test of the script, not a timing)."""

from __future__ import annotations

import numpy as np

from blockanalytix_tests.benchmarks import bench_train_device as bench


def test_bench_reports_figures_and_a_saved_model_checks_out(tmp_path) -> None:
    x, y = bench.synthetic(4_000)
    assert x.shape == (4_000, bench.N_FEATURES) and 0 < y.mean() < 0.1
    figures, clf = bench.bench(x, y, batch=512, epochs=2, label="smoke")
    assert figures["train_rows"] == 3_600 and figures["epochs"] == 2
    for key in ("epoch_s", "train_samples_per_s", "predict_rows_per_s", "fused_scoring_rows_per_s"):
        assert np.isfinite(figures[key]) and figures[key] > 0, key
    bench.save(clf, str(tmp_path))
    check = bench.check(str(tmp_path))  # same backend: the probe probabilities match exactly
    assert check["ok"] and check["max_abs_diff"] < 1e-6
