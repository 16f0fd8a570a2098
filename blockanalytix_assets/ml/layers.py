"""Custom Keras layers (saved inside .keras files) and the numpy helpers that fit them on training data."""

from __future__ import annotations

from typing import Any, TypeAlias

import keras
import numpy as np
from keras import layers, ops

# What a layer's call() receives: a backend tensor (tf.Tensor, jax.Array, torch.Tensor) or, while a functional model
# is built, a keras.KerasTensor. Keras ships no type information, so this names the role, not a checked type.
Tensor: TypeAlias = Any
Config: TypeAlias = dict[str, Any]  # get_config(): JSON-serialisable keyword arguments of the layer
Shape: TypeAlias = tuple[int | None, ...]


@keras.saving.register_keras_serializable(package="blockanalytix")
class SignedLog1p(layers.Layer):
    """sign(x) * log1p(|x|) on the masked columns (all when mask is None); keeps the sign of balances."""

    def __init__(self, mask: list[float] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mask = None if mask is None else [float(m) for m in mask]

    def call(self, x: Tensor) -> Tensor:
        logged = ops.sign(x) * ops.log1p(ops.abs(x))
        if self.mask is None:
            return logged
        m = ops.convert_to_tensor(np.asarray(self.mask, dtype="float32"))
        return m * logged + (1.0 - m) * x

    def get_config(self) -> Config:
        return {**super().get_config(), "mask": self.mask}


def heavy_tailed(x: np.ndarray, limit: float = 1e3) -> np.ndarray:
    """1.0 for columns whose training magnitude exceeds `limit` (raw amounts, gas ratios), else 0.0."""
    x = np.asarray(x, dtype="float64")
    return (np.abs(x).max(axis=0) > limit).astype("float32") if len(x) else np.zeros(x.shape[1], "float32")


def signed_log1p(x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """numpy twin of SignedLog1p."""
    logged = np.sign(x) * np.log1p(np.abs(x))
    return logged if mask is None else mask * logged + (1.0 - mask) * x


@keras.saving.register_keras_serializable(package="blockanalytix")
class PiecewiseLinearEncoding(layers.Layer):
    """Piecewise-linear encoding of each feature over its training quantile bins (Gorishniy et al. 2022)."""

    def __init__(self, n_features: int, n_bins: int, edges: np.ndarray | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n_features = n_features
        self.n_bins = n_bins
        self._initial_edges = edges

    def build(self, input_shape: Shape) -> None:
        shape = (self.n_features, self.n_bins)
        self.lower = self.add_weight(shape=shape, initializer="zeros", trainable=False, name="lower")
        self.width = self.add_weight(shape=shape, initializer="ones", trainable=False, name="width")
        if self._initial_edges is not None:
            e = np.asarray(self._initial_edges, dtype="float32")
            self.lower.assign(e[:, :-1])
            self.width.assign(np.maximum(e[:, 1:] - e[:, :-1], 1e-6))

    def call(self, x: Tensor) -> Tensor:
        z = (ops.expand_dims(x, -1) - self.lower) / self.width
        return ops.reshape(ops.clip(z, 0.0, 1.0), (-1, self.n_features * self.n_bins))

    def get_config(self) -> Config:
        return {**super().get_config(), "n_features": self.n_features, "n_bins": self.n_bins}


def quantile_edges(x: np.ndarray, n_bins: int) -> np.ndarray:
    """Per-feature bin edges at evenly spaced quantiles, shape (features, n_bins + 1)."""
    return np.quantile(np.asarray(x, dtype="float64"), np.linspace(0, 1, n_bins + 1), axis=0).T


def quantile_knots(x: np.ndarray, n_quantiles: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature knots (distinct training quantiles, padded by repeating the last) and their mid-rank CDFs.

    Both have shape (features, n_quantiles + 1); a discrete column gets one knot per distinct value, so that
    value maps to the middle of its probability mass (a 0/1 flag that is 1 in 10% of rows: 0 -> 0.45, 1 -> 0.95).
    """
    x = np.asarray(x, dtype="float64")
    k = n_quantiles + 1
    xs, ps = np.zeros((x.shape[1], k)), np.full((x.shape[1], k), 0.5)
    for j in range(x.shape[1]):
        s = np.sort(x[:, j][np.isfinite(x[:, j])])
        if not len(s):
            continue
        u = np.unique(np.quantile(s, np.linspace(0.0, 1.0, k)))
        p = (np.searchsorted(s, u, "left") + np.searchsorted(s, u, "right")) / (2.0 * len(s))
        xs[j], ps[j] = np.r_[u, np.full(k - len(u), u[-1])], np.r_[p, np.full(k - len(u), p[-1])]
    return xs, ps


@keras.saving.register_keras_serializable(package="blockanalytix")
class QuantileTransform(layers.Layer):
    """Each feature's training mid-rank CDF, linear between stored quantile knots, as (cdf - 0.5) * sqrt(12).

    Robust to outliers (values beyond the training range clip to the end knots) and on one scale for every
    feature: a continuous one becomes uniform with unit variance. Vectorised: features x n_quantiles per row.
    """

    def __init__(self, n_features: int, n_quantiles: int, knots: np.ndarray | None = None,
                 cdf: np.ndarray | None = None, **kwargs: Any) -> None:  # fmt: skip
        super().__init__(**kwargs)
        self.n_features = n_features
        self.n_quantiles = n_quantiles
        self._initial = None if knots is None else (np.asarray(knots), np.asarray(cdf))

    def build(self, input_shape: Shape) -> None:
        shape = (self.n_features, self.n_quantiles)  # position in a segment: (x - lower) * scale, clipped to [0, 1]
        self.lower = self.add_weight(shape=shape, initializer="zeros", trainable=False, name="lower")
        self.scale = self.add_weight(shape=shape, initializer="ones", trainable=False, name="scale")
        self.step = self.add_weight(shape=shape, initializer="zeros", trainable=False, name="step")
        self.base = self.add_weight(shape=(self.n_features,), initializer="zeros", trainable=False, name="base")
        if self._initial is not None:
            xs, ps = self._initial
            gap = xs[:, 1:] - xs[:, :-1]
            self.lower.assign(xs[:, :-1].astype("float32"))
            self.scale.assign((1.0 / np.where(gap > 0, gap, 1.0)).astype("float32"))
            self.step.assign(np.where(gap > 0, ps[:, 1:] - ps[:, :-1], 0.0).astype("float32"))
            self.base.assign(((ps[:, 0] - 0.5) * np.sqrt(12.0)).astype("float32"))

    def call(self, x: Tensor) -> Tensor:
        z = ops.clip((ops.expand_dims(x, -1) - self.lower) * self.scale, 0.0, 1.0)
        return self.base + float(np.sqrt(12.0)) * ops.sum(z * self.step, axis=-1)

    def get_config(self) -> Config:
        return {**super().get_config(), "n_features": self.n_features, "n_quantiles": self.n_quantiles}


def target_edges(x: np.ndarray, y: np.ndarray, n_bins: int, min_leaf: int = 32) -> np.ndarray:
    """Per-feature bin edges from a small decision tree on that feature alone (PLE-T), shape (features, n_bins + 1)."""
    from sklearn.tree import DecisionTreeClassifier

    x = np.asarray(x, dtype="float64")
    out = np.empty((x.shape[1], n_bins + 1))
    for j in range(x.shape[1]):
        tree = DecisionTreeClassifier(max_leaf_nodes=n_bins, min_samples_leaf=min_leaf, random_state=0)
        t = tree.fit(x[:, j : j + 1], y).tree_
        lo, hi = x[:, j].min(), x[:, j].max()
        inner = np.unique(t.threshold[t.feature >= 0])
        edges = np.concatenate([[lo], inner, [hi]])
        out[j] = np.concatenate([np.full(n_bins + 1 - len(edges), lo), edges])  # unused bins: steps at the minimum
    return out


@keras.saving.register_keras_serializable(package="blockanalytix")
class PerFeatureDense(layers.Layer):
    """A separate small ReLU linear map per feature over its PLE bins (PLE-linear embeddings, Gorishniy 2022)."""

    def __init__(self, n_features: int, n_bins: int, units: int, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n_features, self.n_bins, self.units, self.seed = n_features, n_bins, units, seed

    def build(self, input_shape: Shape) -> None:
        init = keras.initializers.GlorotUniform(seed=self.seed)
        self.kernel = self.add_weight(shape=(self.n_features, self.n_bins, self.units), initializer=init,
                                      name="kernel")  # fmt: skip
        self.bias = self.add_weight(shape=(self.n_features, self.units), initializer="zeros", name="bias")

    def call(self, x: Tensor) -> Tensor:
        z = ops.reshape(x, (-1, self.n_features, self.n_bins))
        h = ops.relu(ops.einsum("bfk,fku->bfu", z, self.kernel) + self.bias)
        return ops.reshape(h, (-1, self.n_features * self.units))

    def get_config(self) -> Config:
        return {**super().get_config(), "n_features": self.n_features, "n_bins": self.n_bins, "units": self.units,
                "seed": self.seed}  # fmt: skip
