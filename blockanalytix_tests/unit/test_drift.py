"""Population stability index: identical, shifted, constant and non-finite samples; the drift reference helpers."""

import json
import math
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pytest

from blockanalytix_assets.ml import drift_reference as ref
from blockanalytix_assets.ml.drift import bin_edges, bin_shares, feature_drift, psi, score_drift
from blockanalytix_assets.storage import Storage

RNG = np.random.default_rng(0)
BASE = RNG.normal(0.0, 1.0, 20_000)


def test_identical_samples_have_zero_psi_and_redraws_stay_small():
    assert psi(BASE, BASE) == pytest.approx(0.0, abs=1e-12)
    assert psi(BASE, np.random.default_rng(1).normal(0.0, 1.0, 20_000)) < 0.02


def test_a_shifted_sample_is_above_the_usual_threshold():
    assert psi(BASE, BASE + 1.0) > 0.25
    assert psi(BASE, BASE * 3.0) > 0.25
    assert psi(BASE, BASE + 0.05) < 0.1


def test_bins_come_from_the_reference_only():
    edges = bin_edges(BASE, 10)
    assert np.allclose(edges[:-1], np.quantile(BASE, np.linspace(0, 1, 11))) and edges[-1] > BASE.max()
    shares = bin_shares(BASE, edges)
    assert shares.sum() == pytest.approx(1.0) and shares[-1] == 0.0  # last bin: non-finite values
    far = BASE + 100.0  # all above the reference's maximum: one bin, whatever the current sample's own spread
    assert bin_shares(far, edges)[-2] == pytest.approx(1.0)
    assert psi(BASE, far) == pytest.approx(psi(BASE, far * 7.0))


def test_constant_and_discrete_columns():
    ones = np.ones(1000)
    assert psi(ones, ones) == 0.0
    assert psi(ones, np.full(1000, 2.0)) > 0.25
    flags = (np.arange(1000) % 20 == 0).astype(float)  # 5% ones: the quantiles are all 0 but 0 and 1 stay apart
    assert psi(flags, flags) == 0.0
    assert psi(flags, (np.arange(1000) % 2 == 0).astype(float)) > 0.25


def test_nan_and_inf_are_their_own_bin():
    with_nan = np.where(np.arange(len(BASE)) % 10 == 0, np.nan, BASE)
    assert psi(with_nan, with_nan) == 0.0
    mostly_nan = np.where(np.arange(len(BASE)) % 2 == 0, np.nan, BASE)
    assert psi(with_nan, mostly_nan) > 0.25
    assert math.isfinite(psi(BASE, np.r_[BASE, np.inf, -np.inf]))
    assert psi(np.full(10, np.nan), np.full(10, np.nan)) == 0.0
    assert math.isnan(psi(BASE, np.zeros(0))) and math.isnan(psi(np.zeros(0), BASE))


def test_feature_drift_reports_each_column_the_max_and_the_drifted_ones_deterministically():
    reference = pa.table({"a": BASE, "b": BASE, "c": pa.array([None] * 5 + list(BASE[5:]))})
    current = {"a": BASE, "b": BASE + 2.0, "c": BASE + 1.0}
    report = feature_drift(reference, current, ["a", "b", "c"])
    assert report == feature_drift(reference, current, ["a", "b", "c"])
    assert report.psi["a"] == pytest.approx(0.0, abs=1e-9)
    assert report.drifted == ["b", "c"] and not report.passed
    assert report.max_psi == report.psi["b"] and list(report.top(2)) == ["b", "c"]
    assert (report.reference_rows, report.current_rows) == (len(BASE), len(BASE))
    only = report.only(["a"])
    assert only.passed and list(only.psi) == ["a"]
    assert feature_drift(reference, current, ["a"], threshold=0.25).passed


def test_score_drift_on_a_one_dimensional_score():
    scores = np.random.default_rng(2).uniform(0, 1, 10_000)
    assert score_drift(scores, scores).passed
    shifted = score_drift(scores, scores**0.2)
    assert not shifted.passed and shifted.drifted == ["anomaly_score"]


def test_sample_is_bounded_ordered_and_deterministic():
    table = pa.table({"x": np.arange(10_000)})
    s1, s2 = ref.sample(table, 500, "k"), ref.sample(table, 500, "k")
    assert s1.num_rows == 500 and s1.equals(s2)
    assert np.all(np.diff(s1.column("x").to_numpy()) > 0)
    assert not s1.equals(ref.sample(table, 500, "other")) and ref.sample(table, 20_000, "k") is table


def test_run_partitions_from_tags_or_logged_datasets():
    tagged = SimpleNamespace(data=SimpleNamespace(tags={"partitions": "b,a"}), inputs=None)
    assert ref.run_partitions(tagged) == ["a", "b"]
    split = SimpleNamespace(data=SimpleNamespace(tags={"train_partitions": "a", "val_partitions": "b"}), inputs=None)
    assert ref.run_partitions(split) == ["a", "b"]
    source = json.dumps({"uri": "/x", "partitions": ["c", "d"]})
    logged = SimpleNamespace(
        data=SimpleNamespace(tags={}),
        inputs=SimpleNamespace(dataset_inputs=[SimpleNamespace(dataset=SimpleNamespace(source=source))]),
    )
    assert ref.run_partitions(logged) == ["c", "d"]


def test_feature_reference_reads_the_stored_window_sampled_and_cached_per_version(tmp_path):
    from blockanalytix_assets.features.transaction import FEATURE_COLUMNS

    ref.clear_cache()
    store = Storage(str(tmp_path))
    table = pa.table({c: np.full(300, 1.0, dtype=np.float32) for c in FEATURE_COLUMNS})
    for key in ("k1", "k2"):
        store.write("transaction_features", key, table)
    champ = ref.Champion("clf", "1", ["k1", "k2", "k3"])
    first = ref.feature_reference(store, champ, rows=200)
    assert first.found == ["k1", "k2"] and first.table.num_rows == 200
    assert ref.feature_reference(store, champ, rows=200) is first  # cached for this champion version
    assert ref.feature_reference(store, ref.Champion("clf", "2", ["k1"]), rows=200).found == ["k1"]
    assert ref.feature_reference(store, ref.Champion("clf", "3", ["k9"])) is None
    ref.clear_cache()
