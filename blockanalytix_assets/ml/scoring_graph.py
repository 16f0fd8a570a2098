"""One Keras graph that runs both champions and reduces their outputs to the few numbers scoring writes."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import keras
import numpy as np
from keras import layers, ops

from blockanalytix_assets.ml.layers import Tensor

TOP_K = 3
MIN_BATCH = 1024
WORKERS = max(1, min(4, os.cpu_count() or 1))


def default_workers() -> int:
    """Batches scored at once: several on TensorFlow, one elsewhere (JAX's predict step donates its state)."""
    return WORKERS if keras.backend.backend() == "tensorflow" else 1


class ScoringHead(layers.Layer):
    """Reconstruction error, top-k error features, nearest k-means centre and 2-D projection of the embedding."""

    def __init__(
        self, centers: np.ndarray, pca_mean: np.ndarray, pca_components: np.ndarray, top_k: int, **kw: Any
    ) -> None:
        super().__init__(**kw)
        self.centers_t = ops.convert_to_tensor(np.asarray(centers, dtype="float32").T)
        self.center_sq = ops.convert_to_tensor((np.asarray(centers, dtype="float32") ** 2).sum(1))
        self.pca_mean = ops.convert_to_tensor(np.asarray(pca_mean, dtype="float32"))
        self.pca_t = ops.convert_to_tensor(np.asarray(pca_components, dtype="float32").T)
        self.top_k = top_k

    def call(self, normed: Tensor, recon: Tensor, code: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        per_feature = ops.square(normed - recon)
        error = ops.mean(per_feature, axis=1)
        _, top = ops.top_k(per_feature, self.top_k, sorted=True)
        cluster = ops.argmin(self.center_sq - 2.0 * ops.matmul(code, self.centers_t), axis=1)
        xy = ops.matmul(code - self.pca_mean, self.pca_t)
        return error, top, cluster, xy


def build_scoring_graph(
    classifier: keras.Model,
    autoencoder: keras.Model,
    centers: np.ndarray,
    pca_mean: np.ndarray,
    pca_components: np.ndarray,
) -> keras.Model:
    """features -> [probability, reconstruction error, top-k feature indices, cluster id, 2-D embedding].

    Both models share one forward pass over one input batch, and the (rows x features) intermediates never
    leave the graph: only a few numbers per row are returned.
    """
    n_features = classifier.input_shape[-1]
    top_k = min(TOP_K, n_features)
    x = keras.Input(shape=(n_features,), name="features")
    prob = classifier(x)
    normed = autoencoder.get_layer("normalize").output
    code = autoencoder.get_layer("bottleneck").output
    inner = keras.Model(autoencoder.input, [normed, autoencoder.outputs[0], code], name="autoencoder_scorer")
    head = ScoringHead(centers, pca_mean, pca_components, top_k, name="scoring_head")
    error, top, cluster, xy = head(*inner(x))
    graph = keras.Model(x, [prob, error, top, cluster, xy], name="scoring_graph")
    # XLA fuses the element-wise chains (Keras' "auto" leaves it off on CPU-only TensorFlow); torch.compile is
    # not worth its start-up for one forward pass.
    graph.compile(jit_compile=keras.backend.backend() != "torch")
    graph.make_predict_function()  # before the batch threads, which would otherwise race to create it
    return graph


def padded_rows(rows: int, batch_size: int) -> int:
    """Rows a batch is padded to: a power of two from 1024 up to batch_size, so few shapes are ever compiled."""
    return min(batch_size, max(MIN_BATCH, 1 << (max(rows, 1) - 1).bit_length()))


def run_scoring_graph(
    graph: keras.Model,
    columns: list[np.ndarray],
    batch_size: int = 65_536,
    workers: int | None = None,
    post: Callable[[list[np.ndarray]], list[np.ndarray]] = list,
) -> list[np.ndarray]:
    """Score column arrays (one float32 array per feature) in row batches, several batches at a time.

    `post` maps each batch's outputs to the per-row arrays returned (it runs in the batch's thread).
    """
    n = len(columns[0]) if columns else 0
    if n == 0:
        return post([np.zeros((0, *o.shape[1:]), dtype=o.dtype) for o in graph.outputs])

    def batch(start: int) -> list[np.ndarray]:
        rows = min(n, start + batch_size) - start
        x = np.zeros((padded_rows(rows, batch_size), len(columns)), dtype=np.float32)
        for j, col in enumerate(columns):  # column-wise fill of a small row-major block stays in cache
            x[:rows, j] = col[start : start + rows]
        if not np.isfinite(x).all():
            np.nan_to_num(x, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        return post([np.asarray(t)[:rows] for t in graph.predict_on_batch(x)])

    # A compiled XLA:CPU graph runs one batch on about one core: batches in parallel threads use them all.
    workers = default_workers() if workers is None else workers
    with ThreadPoolExecutor(max(1, min(workers, -(-n // batch_size)))) as pool:
        outs = list(pool.map(batch, range(0, n, batch_size)))
    return [np.concatenate([o[i] for o in outs]) for i in range(len(outs[0]))]
