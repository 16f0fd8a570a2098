"""Benchmark: anomaly_classifier epoch time and predict / fused-scoring rows/s on the current Keras backend and device.

Needs only keras and numpy (no TensorFlow, Dagster or MLflow), so it also runs on a GPU machine with
KERAS_BACKEND=jax. The data are synthetic rows shaped like transaction_features (27 columns, half of them
heavy-tailed, 3% positives) and the model is the production classifier (ml/specs.py). Prints one JSON
object per batch size; `--save DIR` also writes the trained model and its predictions on a fixed probe set so
that another backend can load the file and compare (see `--check DIR`).

    KERAS_BACKEND=jax python -m blockanalytix_tests.benchmarks.bench_train_device --label gpu --save out/
    python -m blockanalytix_tests.benchmarks.bench_train_device --check out/   # TensorFlow loads the JAX model
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import keras
import numpy as np

from blockanalytix_assets.ml import models as M
from blockanalytix_assets.ml.scoring_graph import build_scoring_graph, run_scoring_graph
from blockanalytix_assets.ml.specs import model

CLASSIFIER = model("anomaly_classifier")
N_FEATURES = 27
PROBE_ROWS = 10_000
RESULTS = Path(__file__).parent / "results" / "train_device.json"


def synthetic(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Features with heavy-tailed and Gaussian columns; positives shifted along a fixed direction."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, N_FEATURES)).astype(np.float32)
    x[:, ::2] = rng.lognormal(3.0, 2.0, size=(rows, (N_FEATURES + 1) // 2)).astype(np.float32)
    y = (rng.random(rows) < 0.03).astype(np.float32)
    x[y == 1, 1::2] += 1.5
    x[y == 1, ::2] *= 4.0
    return x, y


class EpochTimer(keras.callbacks.Callback):
    """Wall seconds of every epoch (the first includes compilation)."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._t0)


def device_name() -> str:
    """The accelerator Keras runs on, in words."""
    if keras.backend.backend() == "jax":
        import jax

        return str(jax.devices()[0].device_kind)
    return f"cpu x{os.cpu_count()}"


def rows_per_s(fn, rows: int, repeats: int = 3) -> float:
    """Median rows/s of fn() after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return rows / statistics.median(times)


def fused_graph(clf: keras.Model, x: np.ndarray) -> keras.Model:
    """The production scoring graph around clf and a briefly trained autoencoder (random centres, projection)."""
    ae = M.build_transaction_autoencoder(x[:200_000])
    normed = M.predict_big(M.autoencoder_views(ae)[1], x[:200_000])
    ae.fit(x[:200_000], normed, epochs=1, batch_size=4096, verbose=0)
    rng, width = np.random.default_rng(1), ae.get_layer("bottleneck").units
    return build_scoring_graph(clf, ae, rng.normal(size=(6, width)), np.zeros(width), rng.normal(size=(2, width)))


def bench(x: np.ndarray, y: np.ndarray, batch: int, epochs: int, label: str) -> tuple[dict, keras.Model]:
    """Train the production classifier for `epochs` at `batch`, then time predict and the fused graph."""
    n_val = len(x) // 10
    xt, yt, xv, yv = x[:-n_val], y[:-n_val], x[-n_val:], y[-n_val:]
    clf = M.build_anomaly_classifier(xt, **CLASSIFIER.params)
    timer = EpochTimer()
    clf.fit(xt, yt, epochs=epochs, batch_size=batch, verbose=0, class_weight=M.class_weights(yt),
            validation_data=(xv, yv), callbacks=[timer])  # fmt: skip
    steady = statistics.median(timer.seconds[1:] or timer.seconds)
    predict = rows_per_s(lambda: M.predict_big(clf, x, batch_size=65_536), len(x))
    graph = fused_graph(clf, x)
    cols = [np.ascontiguousarray(x[:, j]) for j in range(x.shape[1])]
    fused = rows_per_s(lambda: run_scoring_graph(graph, cols), len(x))
    return {
        "label": label, "backend": keras.backend.backend(), "device": device_name(), "rows": len(x),
        "train_rows": len(xt), "batch_size": batch, "epochs": epochs,
        "first_epoch_s": round(timer.seconds[0], 2), "epoch_s": round(steady, 2),
        "train_samples_per_s": round(len(xt) / steady), "predict_rows_per_s": round(predict),
        "fused_scoring_rows_per_s": round(fused),
    }, clf  # fmt: skip


def save(clf: keras.Model, folder: str) -> None:
    """The trained model and its probabilities on the probe rows."""
    os.makedirs(folder, exist_ok=True)
    clf.save(os.path.join(folder, "classifier.keras"))
    probe, _ = synthetic(PROBE_ROWS, seed=7)
    np.save(os.path.join(folder, "probe_probabilities.npy"), M.predict_big(clf, probe))


def check(folder: str) -> dict:
    """Load a model saved by another backend and compare its probe probabilities with this backend's."""
    clf = keras.models.load_model(os.path.join(folder, "classifier.keras"))
    probe, _ = synthetic(PROBE_ROWS, seed=7)
    ours = M.predict_big(clf, probe).astype(np.float64)
    theirs = np.load(os.path.join(folder, "probe_probabilities.npy")).astype(np.float64)
    rel = float(np.linalg.norm(ours - theirs) / np.linalg.norm(theirs))
    return {"backend": keras.backend.backend(), "rows": PROBE_ROWS, "relative_error": rel,
            "max_abs_diff": float(np.abs(ours - theirs).max()), "ok": bool(rel < 1e-3)}  # fmt: skip


def run(rows: int = 1_000_000, epochs: int = 3, batches: tuple[int, ...] = (512, 4096)) -> dict:
    """`make bench`: this machine's figures; results/train_device.json keeps the GPU machine's beside them."""
    x, y = synthetic(rows)
    runs = [bench(x, y, b, epochs, "here")[0] for b in batches]
    recorded = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    recorded.setdefault("here", {})[keras.backend.backend()] = runs
    RESULTS.write_text(json.dumps(recorded, indent=1) + "\n")
    figures = {"backend": keras.backend.backend()}
    for r in runs:
        b = r["batch_size"]
        figures |= {f"epoch_s_batch_{b}": r["epoch_s"], f"train_samples_per_s_batch_{b}": r["train_samples_per_s"]}
    return figures


def main() -> None:
    """Parse arguments, run the benchmark or the cross-backend check, print JSON lines."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batches", default=str(CLASSIFIER.batch_size), help="comma-separated batch sizes")
    ap.add_argument("--label", default="")
    ap.add_argument("--save", help="write the model trained at the first batch size and its probe predictions")
    ap.add_argument("--check", help="compare with a model and predictions written by --save")
    args = ap.parse_args()
    if args.check:
        print(json.dumps(check(args.check)), flush=True)
        return
    x, y = synthetic(args.rows)
    for i, batch in enumerate(int(b) for b in args.batches.split(",")):
        figures, clf = bench(x, y, batch, args.epochs, args.label)
        print(json.dumps(figures), flush=True)
        if args.save and i == 0:
            save(clf, args.save)


if __name__ == "__main__":
    main()
