"""Keras builders: shapes, in-model preprocessing, save/load round trips, forecaster baseline start."""

from __future__ import annotations

import keras
import numpy as np

from blockanalytix_assets.ml import models as M
from blockanalytix_assets.ml.layers import QuantileTransform, SignedLog1p, heavy_tailed, signed_log1p, target_edges


def test_ple_layer_encodes_bins_and_round_trips(tmp_path):
    x = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]], dtype=np.float32)
    model = M.build_address_risk_model(x, hidden=(4,), n_bins=2)
    ple = model.get_layer("ple")
    enc = keras.ops.convert_to_numpy(ple(np.array([[1.0], [3.0], [10.0]], dtype=np.float32)))
    # Edges are the quantiles 0, 2, 4: 1.0 is half-way through bin 0; 3.0 fills bin 0 and half of bin 1.
    assert np.allclose(enc, [[0.5, 0.0], [1.0, 0.5], [1.0, 1.0]])
    path = tmp_path / "m.keras"
    model.save(path)
    again = keras.saving.load_model(path)
    probe = np.array([[-5.0], [2.5], [100.0]], dtype=np.float32)
    assert np.allclose(M.predict_big(model, probe), M.predict_big(again, probe), atol=1e-6)


def test_classifier_and_autoencoder_shapes_and_views():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 6)).astype(np.float32)
    clf = M.build_anomaly_classifier(x, hidden=(8,), log_transform=True)
    p = M.predict_big(clf, x, batch_size=100)
    assert p.shape == (256, 1) and ((p >= 0) & (p <= 1)).all()
    ae = M.build_transaction_autoencoder(x, hidden=8, bottleneck=3)
    encoder, normaliser, scorer = M.autoencoder_views(ae)
    normed, recon, code = M.predict_outputs(scorer, x, batch_size=100)
    assert code.shape == (256, 3) and recon.shape == normed.shape == (256, 6)
    assert np.allclose(code, M.predict_big(encoder, x), atol=1e-5)
    # The quantile transform was fitted on the training rows: about uniform on [-sqrt(3), sqrt(3)], unit variance.
    normed = M.predict_big(normaliser, x)
    assert np.allclose(normed.mean(0), 0, atol=0.02) and np.allclose(normed.std(0), 1, atol=0.05)
    assert np.abs(normed).max() <= np.sqrt(3) + 1e-5


def test_autoencoder_quantile_transform_ranks_round_trips_and_legacy_path(tmp_path):
    x = np.c_[np.arange(100.0), np.r_[np.zeros(90), np.ones(10)]].astype(np.float32)
    ae = M.build_transaction_autoencoder(x, hidden=4, bottleneck=2, n_quantiles=8)
    layer = ae.get_layer("normalize")
    assert isinstance(layer, QuantileTransform)
    probe = np.array([[-1e9, 0.0], [49.5, 1.0], [1e9, 0.5]], dtype=np.float32)
    cdf = keras.ops.convert_to_numpy(layer(probe)) / np.sqrt(12.0) + 0.5
    # Mid-rank CDF: the median maps to 0.5, a 0/1 flag set in 10% of rows to 0.45 / 0.95, out-of-range clips.
    assert np.allclose(cdf[:, 0], [0.005, 0.5, 0.995], atol=1e-5) and np.allclose(cdf[:2, 1], [0.45, 0.95])
    ae.save(tmp_path / "ae.keras")
    again = keras.saving.load_model(tmp_path / "ae.keras")
    assert np.allclose(M.predict_big(ae, probe), M.predict_big(again, probe), atol=1e-6)
    legacy = M.build_transaction_autoencoder(x, hidden=4, bottleneck=2, n_quantiles=0)
    assert isinstance(legacy.get_layer("normalize"), keras.layers.Normalization)


def test_forecaster_starts_at_last_value_and_class_weights():
    x = np.random.default_rng(1).random((20, 4, 2)).astype(np.float32)
    model = M.build_activity_forecaster(window=4, x_train=x)
    assert np.allclose(M.predict_big(model, x), x[:, -1, :], atol=1e-6)
    w = M.class_weights(np.array([1, 0, 0, 0]))
    assert w[1] == 2.0 and abs(w[0] - 4 / 6) < 1e-9


def test_seed_ensemble_averages_members_and_round_trips(tmp_path):
    from blockanalytix_assets.ml.accounts import average_models, fit_address_model

    x = np.random.default_rng(0).random((64, 3)).astype(np.float32)
    y = (x[:, 0] > 0.5).astype("int32")
    members = [fit_address_model(x, y, {"n_bins": 4, "hidden": (4,)}, seed, 1) for seed in range(2)]
    ensemble = average_models(members, 3)
    mean = (M.predict_big(members[0], x) + M.predict_big(members[1], x)) / 2
    assert np.allclose(M.predict_big(ensemble, x), mean, atol=1e-6)
    ensemble.save(tmp_path / "e.keras")
    assert np.allclose(M.predict_big(keras.saving.load_model(tmp_path / "e.keras"), x), mean, atol=1e-6)


def test_classifier_quantile_encoding_round_trips(tmp_path):
    rng = np.random.default_rng(2)
    x = np.column_stack([rng.normal(size=300), rng.lognormal(8, 3, 300)]).astype(np.float32)
    clf = M.build_anomaly_classifier(x, hidden=(8,), n_bins=4)
    assert clf.input.shape == (None, 2) and clf.input.name == "features"
    assert clf.get_layer("ple").output.shape == (None, 8)  # PLE only: a tree-like, scale-free view
    assert not any(layer.name == "normalize" for layer in clf.layers)
    clf.save(tmp_path / "c.keras")
    again = keras.saving.load_model(tmp_path / "c.keras")
    p = M.predict_big(clf, x)
    assert p.shape == (300, 1) and np.allclose(p, M.predict_big(again, x), atol=1e-6)


def test_log_only_heavy_tailed_columns_round_trips(tmp_path):
    x = np.array([[0.0, 1e6, -5.0], [20.0, 2e6, 3.0]], dtype=np.float32)  # already-logged, raw amount, small
    assert heavy_tailed(x).tolist() == [0.0, 1.0, 0.0]
    clf = M.build_anomaly_classifier(x, hidden=(4,), n_bins=0, log_transform=True)
    log = clf.get_layer("signed_log1p")
    out = keras.ops.convert_to_numpy(log(x))
    assert np.allclose(out, signed_log1p(x, heavy_tailed(x))) and np.allclose(out[:, [0, 2]], x[:, [0, 2]])
    clf.save(tmp_path / "l.keras")
    again = keras.saving.load_model(tmp_path / "l.keras")
    assert again.get_layer("signed_log1p").mask == [0.0, 1.0, 0.0]
    assert np.allclose(M.predict_big(clf, x), M.predict_big(again, x), atol=1e-6)
    full = SignedLog1p()  # no mask: every column, as saved models from before the mask expect
    assert np.allclose(keras.ops.convert_to_numpy(full(x)), np.sign(x) * np.log1p(np.abs(x)))


def test_address_model_without_zscore_path():
    x = np.random.default_rng(3).random((50, 3)).astype(np.float32)
    model = M.build_address_risk_model(x, hidden=(4,), n_bins=4, zscore=False)
    names = {layer.name for layer in model.layers}
    assert "ple" in names and "normalize" not in names and "concat" not in names


def test_address_model_per_feature_ple_embedding_round_trips(tmp_path):
    x = np.random.default_rng(5).random((60, 3)).astype(np.float32)
    model = M.build_address_risk_model(x, hidden=(4,), n_bins=4, zscore=False, embed=2, decay_steps=10)
    emb = model.get_layer("ple_embedding")
    assert tuple(emb.kernel.shape) == (3, 4, 2)
    assert keras.ops.convert_to_numpy(emb(np.zeros((1, 12), np.float32))).shape == (1, 6)
    model.save(tmp_path / "e.keras")
    again = keras.saving.load_model(tmp_path / "e.keras")
    assert np.allclose(M.predict_big(model, x), M.predict_big(again, x), atol=1e-6)


def test_target_edges_split_where_the_label_changes():
    x = np.linspace(0, 10, 200, dtype=np.float32)[:, None]
    y = (x[:, 0] > 7.0).astype(int)
    edges = target_edges(x, y, n_bins=4, min_leaf=5)
    assert edges.shape == (1, 5) and (np.diff(edges, axis=1) >= 0).all()
    assert edges[0, 0] == 0.0 and edges[0, -1] == 10.0 and np.isclose(edges[0, -2], 7.0, atol=0.06)
    model = M.build_address_risk_model(x, hidden=(4,), n_bins=4, zscore=False, y_train=y)
    assert np.allclose(keras.ops.convert_to_numpy(model.get_layer("ple").lower), edges[:, :-1])
