"""Keras 3 model builders (backend-agnostic: keras.ops only) for the four BlockAnalytix models."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

SEED = 42

# anomaly_classifier settings (pipeline, devnet cross-seed evaluation, benchmarks):
# an 8-bin quantile PLE into a 64-32 MLP; batches of at most 512 and patience 10 so that early stopping on val
# PR-AUC does not end a run before it has taken enough steps (the demo window has ~9k training rows).
CLASSIFIER_PARAMS: dict = {"hidden": (64, 32), "dropout": 0.1, "learning_rate": 3e-3, "n_bins": 8}
CLASSIFIER_MAX_BATCH = 512
CLASSIFIER_PATIENCE = 10


def set_seed(seed: int = SEED) -> None:
    """Fix Python, numpy and backend seeds so that training is repeatable."""
    keras.utils.set_random_seed(seed)


@keras.saving.register_keras_serializable(package="blockanalytix")
class SignedLog1p(layers.Layer):
    """sign(x) * log1p(|x|) on the masked columns (all when mask is None); keeps the sign of balances."""

    def __init__(self, mask: list[float] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.mask = None if mask is None else [float(m) for m in mask]

    def call(self, x):
        logged = ops.sign(x) * ops.log1p(ops.abs(x))
        if self.mask is None:
            return logged
        m = ops.convert_to_tensor(np.asarray(self.mask, dtype="float32"))
        return m * logged + (1.0 - m) * x

    def get_config(self):
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

    def __init__(self, n_features: int, n_bins: int, edges: np.ndarray | None = None, **kwargs):
        super().__init__(**kwargs)
        self.n_features = n_features
        self.n_bins = n_bins
        self._initial_edges = edges

    def build(self, input_shape):
        shape = (self.n_features, self.n_bins)
        self.lower = self.add_weight(shape=shape, initializer="zeros", trainable=False, name="lower")
        self.width = self.add_weight(shape=shape, initializer="ones", trainable=False, name="width")
        if self._initial_edges is not None:
            e = np.asarray(self._initial_edges, dtype="float32")
            self.lower.assign(e[:, :-1])
            self.width.assign(np.maximum(e[:, 1:] - e[:, :-1], 1e-6))

    def call(self, x):
        z = (ops.expand_dims(x, -1) - self.lower) / self.width
        return ops.reshape(ops.clip(z, 0.0, 1.0), (-1, self.n_features * self.n_bins))

    def get_config(self):
        return {**super().get_config(), "n_features": self.n_features, "n_bins": self.n_bins}


def quantile_edges(x: np.ndarray, n_bins: int) -> np.ndarray:
    """Per-feature bin edges at evenly spaced quantiles, shape (features, n_bins + 1)."""
    return np.quantile(np.asarray(x, dtype="float64"), np.linspace(0, 1, n_bins + 1), axis=0).T


def _normaliser(x_train: np.ndarray, log_transform: bool | str, inputs):
    """Signed log1p (True: heavy-tailed columns only; "all": every column), then z-scores adapted on x_train."""
    mask = None if log_transform == "all" else heavy_tailed(x_train)
    log = SignedLog1p(mask=None if mask is None else mask.tolist(), name="signed_log1p")
    h = log(inputs) if log_transform else inputs
    norm = layers.Normalization(name="normalize")
    norm.adapt(np.asarray(signed_log1p(x_train, mask) if log_transform else x_train, dtype="float32"))
    return norm(h)


def _encoded(x_train: np.ndarray, inputs, log_transform: bool | str, n_bins: int, zscore: bool = True):
    """z-scored features and/or their piecewise-linear quantile encoding (n_bins > 0)."""
    if n_bins <= 0:
        return _normaliser(x_train, log_transform, inputs)
    n = x_train.shape[1]
    ple = PiecewiseLinearEncoding(n, n_bins, edges=quantile_edges(x_train, n_bins), name="ple")(inputs)
    if not zscore:
        return ple
    return layers.Concatenate(name="concat")([_normaliser(x_train, log_transform, inputs), ple])


def _mlp(h, hidden: tuple[int, ...], dropout: float, seed: int):
    for i, units in enumerate(hidden):
        h = layers.Dense(units, activation="relu", name=f"dense_{i}")(h)
        if dropout > 0:
            h = layers.Dropout(dropout, seed=seed + i, name=f"dropout_{i}")(h)
    return h


def classifier_metrics() -> list:
    """PR-AUC and ROC-AUC tracked every epoch (PR-AUC drives early stopping)."""
    return [keras.metrics.AUC(curve="PR", name="pr_auc"), keras.metrics.AUC(name="roc_auc")]


def build_anomaly_classifier(
    x_train: np.ndarray,
    hidden: tuple[int, ...] = (64, 32),
    dropout: float = 0.1,
    learning_rate: float = 2e-3,
    log_transform: bool | str = True,
    n_bins: int = 8,
    seed: int = SEED,
) -> keras.Model:
    """Supervised MLP on transaction features: quantile PLE (n_bins > 0) else log1p + z-scores, fitted on x_train.

    The PLE alone (no z-score path) sees, like a tree, only where a value falls among the training quantiles;
    `log_transform` (True: heavy-tailed columns, "all": every column) applies to the z-score path (n_bins=0).
    """
    set_seed(seed)
    inputs = keras.Input(shape=(x_train.shape[1],), name="features")
    h = _mlp(_encoded(x_train, inputs, log_transform, n_bins, zscore=False), hidden, dropout, seed)
    out = layers.Dense(1, activation="sigmoid", name="probability")(h)
    model = keras.Model(inputs, out, name="anomaly_classifier")
    model.compile(keras.optimizers.Adam(learning_rate), "binary_crossentropy", metrics=classifier_metrics())
    return model


def build_transaction_autoencoder(
    x_train: np.ndarray,
    hidden: int = 32,
    bottleneck: int = 8,
    learning_rate: float = 1e-3,
    log_transform: bool = True,
    seed: int = SEED,
) -> keras.Model:
    """Autoencoder that reconstructs the normalised features; the `bottleneck` layer is the embedding."""
    set_seed(seed)
    inputs = keras.Input(shape=(x_train.shape[1],), name="features")
    normed = _normaliser(x_train, log_transform, inputs)
    h = layers.Dense(hidden, activation="relu", name="encoder_hidden")(normed)
    code = layers.Dense(bottleneck, name="bottleneck")(h)
    h = layers.Dense(hidden, activation="relu", name="decoder_hidden")(code)
    out = layers.Dense(x_train.shape[1], name="reconstruction")(h)
    model = keras.Model(inputs, out, name="transaction_autoencoder")
    model.compile(keras.optimizers.Adam(learning_rate), "mse")
    return model


def autoencoder_views(autoencoder: keras.Model) -> tuple[keras.Model, keras.Model, keras.Model]:
    """(encoder, normaliser, scorer) sub-models sharing the autoencoder's weights.

    The scorer returns [normalised input, reconstruction, embedding] in a single forward pass.
    """
    normed = autoencoder.get_layer("normalize").output
    code = autoencoder.get_layer("bottleneck").output
    encoder = keras.Model(autoencoder.input, code, name="encoder")
    normaliser = keras.Model(autoencoder.input, normed, name="normaliser")
    scorer = keras.Model(autoencoder.input, [normed, autoencoder.outputs[0], code], name="scorer")
    return encoder, normaliser, scorer


def build_address_risk_model(
    x_train: np.ndarray,
    hidden: tuple[int, ...] = (128, 64),
    dropout: float = 0.2,
    n_bins: int = 16,
    learning_rate: float = 1e-3,
    l2: float = 1e-5,
    zscore: bool = True,
    seed: int = SEED,
    name: str = "address_risk_model",
) -> keras.Model:
    """MLP on address features: signed log1p + normalisation beside a piecewise-linear quantile encoding."""
    set_seed(seed)
    inputs = keras.Input(shape=(x_train.shape[1],), name="features")
    h = _encoded(x_train, inputs, "all", n_bins, zscore)
    reg = keras.regularizers.L2(l2) if l2 else None
    for i, units in enumerate(hidden):
        h = layers.Dense(units, activation="relu", kernel_regularizer=reg, name=f"dense_{i}")(h)
        if dropout > 0:
            h = layers.Dropout(dropout, seed=seed + i, name=f"dropout_{i}")(h)
    out = layers.Dense(1, activation="sigmoid", name="probability")(h)
    model = keras.Model(inputs, out, name=name)
    model.compile(keras.optimizers.Adam(learning_rate), "binary_crossentropy", metrics=classifier_metrics())
    return model


def build_activity_forecaster(
    window: int,
    n_series: int = 2,
    units: int = 16,
    learning_rate: float = 3e-3,
    seed: int = SEED,
    x_train: np.ndarray | None = None,
) -> keras.Model:
    """GRU over the last `window` steps of log aggregates: next step = last value + learned correction."""
    set_seed(seed)
    inputs = keras.Input(shape=(window, n_series), name="history")
    norm = layers.Normalization(axis=-1, name="normalize")
    if x_train is not None:
        norm.adapt(np.asarray(x_train, dtype="float32"))
    h = layers.GRU(units, name="gru")(norm(inputs))
    correction = layers.Dense(n_series, kernel_initializer="zeros", name="correction")(h)
    last = layers.Flatten(name="last_step")(layers.Cropping1D((window - 1, 0), name="crop")(inputs))
    out = layers.Add(name="forecast")([last, correction])
    model = keras.Model(inputs, out, name="activity_forecaster")
    model.compile(keras.optimizers.Adam(learning_rate), "mae")
    return model


def class_weights(y: np.ndarray) -> dict[int, float]:
    """Balanced class weights n / (2 * n_class) for a 0/1 label vector."""
    y = np.asarray(y).astype(bool)
    pos = max(int(y.sum()), 1)
    neg = max(int(y.size - y.sum()), 1)
    return {0: y.size / (2.0 * neg), 1: y.size / (2.0 * pos)}


def early_stopping_on_pr_auc(patience: int = 5) -> keras.callbacks.EarlyStopping:
    """Stop when validation PR-AUC stops improving; keep the best epoch's weights."""
    return keras.callbacks.EarlyStopping(monitor="val_pr_auc", mode="max", patience=patience, restore_best_weights=True)


def predict_big(model: keras.Model, x: np.ndarray, batch_size: int = 262_144):
    """Predict in large slices with predict_on_batch (compiled, no callbacks); outputs as numpy arrays."""
    outs: list = []
    for start in range(0, max(len(x), 1), batch_size):
        y = model.predict_on_batch(x[start : start + batch_size])
        outs.append([np.asarray(t) for t in y] if isinstance(y, list | tuple) else np.asarray(y))
    if isinstance(outs[0], list):
        return [np.concatenate([o[i] for o in outs]) for i in range(len(outs[0]))]
    return np.concatenate(outs)
