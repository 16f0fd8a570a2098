"""Report summaries: thresholds, reasons, detection rates and the per-range overview row."""

from __future__ import annotations

import pandas as pd
import pytest

from blockanalytix_assets.reports import summary


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "hash": ["a", "b", "c", "d"],
            "anomaly_score": [0.9, 0.2, 0.65, 0.4],
            "rank": [1, 4, 2, 3],
            "is_labelled": [True, True, False, True],
            "label": ["peel_chain", "peel_chain", None, "dusting"],
            "threshold": [0.6] * 4,
            "top_feature_1": ["x", "y", "z", "w"],
            "top_feature_2": ["q", None, "r", "s"],
            "top_feature_3": [None, None, "t", ""],
            "value_eth": [1.0, 2.0, 3.0, 4.0],
            "fee_eth": [0.1, 0.1, 0.1, 0.1],
            "classifier_version": ["v2", "v2", "v2", "v1"],
            "autoencoder_version": ["v5"] * 4,
        }
    )


def test_threshold_and_flags():
    df = _frame()
    assert summary.partition_threshold(df) == pytest.approx(0.6)
    assert summary.above_threshold(df).tolist() == [True, False, True, False]
    assert summary.above_threshold(df, 0.3).sum() == 3
    assert summary.partition_threshold(df.iloc[0:0]) is None


def test_top_anomalies_order_and_reasons():
    top = summary.top_anomalies(_frame(), 3)
    assert top["hash"].tolist() == ["a", "c", "d"]
    assert top["reasons"].tolist() == ["x, q", "z, r, t", "w, s"]


def test_detection_rates_per_label():
    rates = summary.detection_rates(_frame()).set_index("label")
    assert rates.loc["peel_chain", "labelled"] == 2 and rates.loc["peel_chain", "detected"] == 1
    assert rates.loc["peel_chain", "recall"] == pytest.approx(0.5)
    assert rates.loc["dusting", "recall"] == 0.0


def test_range_summary_row():
    row = summary.range_summary("000000100-000000199", _frame(), _frame().head(3))
    assert (row["first_block"], row["last_block"]) == (100, 199)
    assert row["transactions"] == 3 and row["value_eth"] == pytest.approx(6.0)
    assert row["scored"] == 4 and row["anomalies"] == 2 and row["labelled_anomalies"] == 1
    assert row["classifier_version"] == "v2" and row["autoencoder_version"] == "v5"
    unscored = summary.range_summary("000000000-000000099", None, _frame())
    assert unscored["scored"] == 0 and unscored["classifier_version"] is None
