"""Keras 3 model builders (backend-agnostic: keras.ops only) for the four BlockAnalytix models."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from blockanalytix_assets.ml.layers import (
    PerFeatureDense,
    PiecewiseLinearEncoding,
    QuantileTransform,
    SignedLog1p,
    heavy_tailed,
    quantile_edges,
    quantile_knots,
    signed_log1p,
    target_edges,
)

SEED = 42


def set_seed(seed: int = SEED) -> None:
    """Fix Python, numpy and backend seeds so that training is repeatable."""
    keras.utils.set_random_seed(seed)


def _normaliser(x_train: np.ndarray, log_transform: bool | str, inputs: keras.KerasTensor) -> keras.KerasTensor:
    """Signed log1p (True: heavy-tailed columns only; "all": every column), then z-scores adapted on x_train."""
    mask = None if log_transform == "all" else heavy_tailed(x_train)
    log = SignedLog1p(mask=None if mask is None else mask.tolist(), name="signed_log1p")
    h = log(inputs) if log_transform else inputs
    norm = layers.Normalization(name="normalize")
    norm.adapt(np.asarray(signed_log1p(x_train, mask) if log_transform else x_train, dtype="float32"))
    return norm(h)


def _encoded(
    x_train: np.ndarray, inputs: keras.KerasTensor, log_transform: bool | str, n_bins: int, zscore: bool = True
) -> keras.KerasTensor:
    """z-scored features and/or their piecewise-linear quantile encoding (n_bins > 0)."""
    if n_bins <= 0:
        return _normaliser(x_train, log_transform, inputs)
    n = x_train.shape[1]
    ple = PiecewiseLinearEncoding(n, n_bins, edges=quantile_edges(x_train, n_bins), name="ple")(inputs)
    if not zscore:
        return ple
    return layers.Concatenate(name="concat")([_normaliser(x_train, log_transform, inputs), ple])


def _mlp(h: keras.KerasTensor, hidden: tuple[int, ...], dropout: float, seed: int) -> keras.KerasTensor:
    for i, units in enumerate(hidden):
        h = layers.Dense(units, activation="relu", name=f"dense_{i}")(h)
        if dropout > 0:
            h = layers.Dropout(dropout, seed=seed + i, name=f"dropout_{i}")(h)
    return h


def classifier_metrics() -> list[keras.metrics.Metric]:
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
    bottleneck: int = 3,
    learning_rate: float = 1e-3,
    log_transform: bool = True,
    seed: int = SEED,
    n_quantiles: int = 16,
) -> keras.Model:
    """Autoencoder that reconstructs the normalised features; the `bottleneck` layer is the embedding.

    n_quantiles > 0: the `normalize` layer is a QuantileTransform fitted on x_train (log_transform unused);
    0: signed log1p (log_transform) and z-scores, as models before the quantile transform were built.
    """
    set_seed(seed)
    inputs = keras.Input(shape=(x_train.shape[1],), name="features")
    if n_quantiles > 0:
        knots, cdf = quantile_knots(x_train, n_quantiles)
        normed = QuantileTransform(x_train.shape[1], n_quantiles, knots, cdf, name="normalize")(inputs)
    else:
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
    embed: int = 0,
    decay_steps: int = 0,
    y_train: np.ndarray | None = None,
    seed: int = SEED,
    name: str = "address_risk_model",
) -> keras.Model:
    """MLP on address features: signed log1p + normalisation beside a piecewise-linear quantile encoding."""
    # embed > 0: each feature's PLE bins go through its own `embed`-unit ReLU layer (PLE alone, zscore=False);
    # decay_steps > 0: cosine decay of the learning rate to 0 over that many optimizer steps;
    # y_train given: target-aware PLE bins from per-feature decision trees instead of quantiles (PLE alone).
    set_seed(seed)
    inputs = keras.Input(shape=(x_train.shape[1],), name="features")
    if y_train is not None and not zscore and n_bins > 0:
        edges = target_edges(x_train, y_train, n_bins)
        h = PiecewiseLinearEncoding(x_train.shape[1], n_bins, edges=edges, name="ple")(inputs)
    else:
        h = _encoded(x_train, inputs, "all", n_bins, zscore)
    if embed > 0:
        if zscore or n_bins <= 0:
            raise ValueError("embed needs the PLE alone (zscore=False, n_bins > 0)")
        h = PerFeatureDense(x_train.shape[1], n_bins, embed, seed=seed, name="ple_embedding")(h)
    reg = keras.regularizers.L2(l2) if l2 else None
    for i, units in enumerate(hidden):
        h = layers.Dense(units, activation="relu", kernel_regularizer=reg, name=f"dense_{i}")(h)
        if dropout > 0:
            h = layers.Dropout(dropout, seed=seed + i, name=f"dropout_{i}")(h)
    out = layers.Dense(1, activation="sigmoid", name="probability")(h)
    model = keras.Model(inputs, out, name=name)
    lr = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps) if decay_steps > 0 else learning_rate
    model.compile(keras.optimizers.Adam(lr), "binary_crossentropy", metrics=classifier_metrics())
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


def predict_outputs(model: keras.Model, x: np.ndarray, batch_size: int = 262_144) -> list[np.ndarray]:
    """Every output of the model, predicted in large slices with predict_on_batch (compiled, no callbacks)."""
    outs: list[list[np.ndarray]] = []
    for start in range(0, max(len(x), 1), batch_size):
        y = model.predict_on_batch(x[start : start + batch_size])
        outs.append([np.asarray(t) for t in y] if isinstance(y, list | tuple) else [np.asarray(y)])
    return [np.concatenate([o[i] for o in outs]) for i in range(len(outs[0]))]


def predict_big(model: keras.Model, x: np.ndarray, batch_size: int = 262_144) -> np.ndarray:
    """The output of a single-output model (predict_outputs for several)."""
    (out,) = predict_outputs(model, x, batch_size)
    return out
