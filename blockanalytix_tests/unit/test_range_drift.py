"""A range's drift figures: none on the normal devnet, the shifted features after the regime shift; rendered."""

from __future__ import annotations

from html import escape

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from blockanalytix_assets.devnet.world import ScenarioConfig
from blockanalytix_assets.ml import drift_reference as ref
from blockanalytix_assets.ml import range_drift as rd
from blockanalytix_assets.reports import drift_figures, html
from blockanalytix_assets.storage import Storage
from blockanalytix_tests.unit.plan_features import plan_features

RANGE, BLOCKS, SHIFT, WINDOW = 100, 600, 400, 4


@pytest.fixture(autouse=True)
def _fresh_cache():
    ref.clear_cache()
    yield
    ref.clear_cache()


def _store(tmp_path, shift: int | None) -> tuple[Storage, list[str], ref.Champion]:
    store = Storage(str(tmp_path))
    tables = plan_features(ScenarioConfig(seed=7, blocks=BLOCKS, regime_shift_at=shift), RANGE, lookback=3)
    rng = np.random.default_rng(1)
    for key, table in tables.items():
        store.write("transaction_features", key, table)
        scores = rng.uniform(0, 1, table.num_rows) ** (0.1 if shift and key >= f"{SHIFT:09d}" else 1.0)
        store.write(
            "anomaly_scores", key, pa.table({"anomaly_score": scores, "classifier_version": ["3"] * len(scores)})
        )
    keys = sorted(tables)
    return store, keys, ref.Champion("clf", "3", keys[:WINDOW])


def test_no_drift_on_the_normal_devnet(tmp_path):
    store, keys, champ = _store(tmp_path, shift=None)
    for key in keys:
        drift = rd.range_drift(store, champ, key)
        assert drift.drifted == [] and drift.feature_max_psi < 0.1 and drift.score_psi < 0.1, key
        assert drift.metrics()["drift_drifted_columns"] == 0 and "psi_log_fee_gwei" in drift.metrics()


def test_the_shifted_ranges_drift_and_the_reports_show_it(tmp_path):
    store, keys, champ = _store(tmp_path, shift=SHIFT)
    drifts = {key: rd.range_drift(store, champ, key) for key in keys}
    for key, drift in drifts.items():
        shifted = key >= f"{SHIFT:09d}"
        assert bool(drift.drifted) == shifted, key
        if shifted:
            assert {"log_fee_gwei", "gas_price_to_base_fee", "anomaly_score"} <= set(drift.drifted)
            assert drift.metrics()["drift_feature_max_psi"] > drift.threshold
        store.write(rd.DRIFT_ASSET, key, drift.table())
    frame = drift_figures.drift_frame(rd.read_drift(store))
    assert list(frame["key"]) == keys and (frame["drifted"] != "").sum() == sum(k >= f"{SHIFT:09d}" for k in keys)
    page = html.render_overview_report(pd.DataFrame(columns=_OVERVIEW_COLUMNS), {}, frame)
    assert "Drift per range" in page and "drifting ranges" in page
    report = html.render_anomaly_report(keys[-1], *_empty_report_inputs(), drift=drifts[keys[-1]])
    assert escape("drifted: " + ", ".join(drifts[keys[-1]].drifted)) in report
    assert escape("PSI against clf/3's training window") in report


def test_without_a_champion_the_report_says_why(tmp_path):
    drift = rd.range_drift(Storage(str(tmp_path)), None, "000000000-000000099", "no champion of clf yet")
    assert drift.metrics() == {"drift_drifted_columns": 0.0} and drift.table().num_rows == 1
    report = html.render_anomaly_report("000000000-000000099", *_empty_report_inputs(), drift=drift)
    assert "Not compared: no champion of clf yet" in report


_OVERVIEW_COLUMNS = ["key", "first_block", "transactions", "value_eth", "anomalies", "labelled_anomalies",
                     "classifier_version", "autoencoder_version"]  # fmt: skip


def _empty_report_inputs() -> tuple[pd.DataFrame, ...]:
    from blockanalytix_assets.reports.data import CLUSTER_COLUMNS, SCORE_COLUMNS, TRANSACTION_COLUMNS

    return (pd.DataFrame(columns=SCORE_COLUMNS), pd.DataFrame(columns=CLUSTER_COLUMNS),
            pd.DataFrame(columns=TRANSACTION_COLUMNS), pd.DataFrame(columns=["address", "label"]))  # fmt: skip
