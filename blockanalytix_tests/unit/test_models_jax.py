"""The model code is backend-agnostic: models saved on TensorFlow load and score on JAX (the GPU image's backend)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from blockanalytix_assets.ml import models as M

ROOT = Path(__file__).resolve().parents[2]


def test_tensorflow_models_score_on_jax_in_batches(tmp_path: Path) -> None:
    pytest.importorskip("jax", reason="jax[cpu] is in the dev extras: run `make setup`")
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.lognormal(2, 2, (5000, 6)), rng.normal(size=(5000, 6))], axis=1).astype("float32")
    y = (x[:, 0] > np.quantile(x[:, 0], 0.97)).astype("float32")
    clf = M.build_anomaly_classifier(x, hidden=(8,), n_bins=4)
    clf.fit(x, y, epochs=1, batch_size=512, verbose=0)
    ae = M.build_transaction_autoencoder(x, hidden=8, bottleneck=4)
    clf.save(tmp_path / "classifier.keras")
    ae.save(tmp_path / "autoencoder.keras")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "tf_probability.npy", M.predict_big(clf, x))

    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "blockanalytix_tests.unit.jax_backend_child", str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["backend"] == "jax"
    assert out["probe_max_abs_diff"] < 1e-5
    assert out["batched_vs_single_max_abs_diff"] < 1e-5
    assert out["rows"] == [len(x)] * 5
