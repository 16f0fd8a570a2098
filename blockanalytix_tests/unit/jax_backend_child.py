"""Child process of test_models_jax: load TensorFlow-saved models on KERAS_BACKEND=jax and score with them."""

import json
import os
import sys

import keras
import numpy as np

from blockanalytix_assets.ml import models as M
from blockanalytix_assets.ml.scoring_graph import build_scoring_graph, run_scoring_graph


def main(folder: str) -> None:
    """Print the backend, the probe error against TF's predictions and the batched fused-graph error."""
    assert keras.backend.backend() == "jax", keras.backend.backend()
    x = np.load(os.path.join(folder, "x.npy"))
    clf = keras.models.load_model(os.path.join(folder, "classifier.keras"))
    ae = keras.models.load_model(os.path.join(folder, "autoencoder.keras"))
    tf_prob = np.load(os.path.join(folder, "tf_probability.npy"))
    prob = M.predict_big(clf, x)
    rng = np.random.default_rng(0)
    graph = build_scoring_graph(clf, ae, rng.normal(size=(3, 4)), np.zeros(4), np.eye(2, 4))
    cols = [np.ascontiguousarray(x[:, j]) for j in range(x.shape[1])]
    fused = run_scoring_graph(graph, cols, batch_size=1024)  # several batches: the path that once crashed
    one = run_scoring_graph(graph, cols, batch_size=1 << 20)
    print(
        json.dumps(
            {
                "backend": keras.backend.backend(),
                "probe_max_abs_diff": float(np.abs(prob - tf_prob).max()),
                "batched_vs_single_max_abs_diff": float(
                    max(np.abs(a - b).max() for a, b in zip(fused, one, strict=True))
                ),
                "rows": [len(o) for o in fused],
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
