"""Report figures: the right traces, the threshold line, counts that match the input frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from blockanalytix_assets.reports import figures, overview_figures, summary


def _scores(n: int = 40, threshold: float = 0.7, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    score = rng.random(n)
    labelled = np.arange(n) % 5 == 0
    rank = pd.Series(score).rank(ascending=False, method="first").astype("int64").to_numpy()
    return pd.DataFrame(
        {
            "hash": [f"0x{i:064x}" for i in range(n)],
            "block_number": np.arange(n) // 4 + 100,
            "from_address": [f"0x{i % 7:040x}" for i in range(n)],
            "to_address": [f"0x{(i + 3) % 9:040x}" for i in range(n)],
            "value_eth": rng.random(n) * 3,
            "fee_eth": rng.random(n) * 1e-3,
            "anomaly_score": score,
            "rank": rank,
            "cluster_id": np.arange(n) % 3,
            "classifier_version": "v3",
            "autoencoder_version": "v2",
            "top_feature_1": "value_eth",
            "top_feature_2": "fee_eth",
            "top_feature_3": None,
            "is_labelled": labelled,
            "label": np.where(labelled, np.where(np.arange(n) % 10 == 0, "peel_chain", "dusting"), None),
            "threshold": threshold,
        }
    )


def test_score_distribution_has_both_populations_and_the_threshold_line():
    scores = _scores(threshold=0.7)
    fig = figures.score_distribution(scores)
    hist = [t for t in fig.data if isinstance(t, go.Histogram)]
    assert len(hist) == 2
    assert len(hist[0].x) + len(hist[1].x) == len(scores)
    assert len(hist[1].x) == int(scores["is_labelled"].sum())
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert len(lines) == 1 and lines[0].x0 == pytest.approx(0.7) and lines[0].x1 == pytest.approx(0.7)
    above = int((scores["anomaly_score"] >= 0.7).sum())
    assert f"({above} above)" in fig.layout.annotations[0].text
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text


def test_score_distribution_uses_an_explicit_threshold_over_the_column():
    fig = figures.score_distribution(_scores(threshold=0.7), threshold=0.25)
    assert fig.layout.shapes[0].x0 == pytest.approx(0.25)


def test_top_anomalies_table_is_ranked_with_reasons_and_shaded_above_threshold():
    scores = _scores(threshold=0.7)
    fig = figures.top_anomalies_table(scores, n=8)
    table = fig.data[0]
    assert isinstance(table, go.Table)
    ranks = list(table.cells.values[0])
    assert ranks == list(range(1, 9))
    best = scores.sort_values("rank").iloc[0]
    assert table.cells.values[1][0] == f"{best['anomaly_score']:.3f}"
    assert table.cells.values[7][0] == "value_eth, fee_eth"
    top8 = scores.sort_values("rank").head(8)
    shaded = sum(c != "white" for c in table.cells.fill.color[0])
    assert shaded == int((top8["anomaly_score"] >= 0.7).sum())


def test_cluster_map_colours_each_cluster_and_stars_labelled_points():
    scores = _scores(n=60)
    rng = np.random.default_rng(3)
    clusters = scores[["hash", "block_number", "cluster_id", "is_labelled"]].assign(
        embedding_x=rng.normal(size=60), embedding_y=rng.normal(size=60)
    )
    fig = figures.cluster_map(clusters)
    names = [t.name for t in fig.data]
    assert names == ["cluster 0", "cluster 1", "cluster 2", "labelled (known illicit)"]
    assert len(fig.data[-1].x) == int(clusters["is_labelled"].sum())
    assert fig.data[-1].marker.symbol == "star"
    assert sum(len(t.x) for t in fig.data) == len(clusters)
    capped = figures.cluster_map(clusters, max_points=10)
    assert sum(len(t.x) for t in capped.data[:-1]) == 10


def test_value_and_fee_over_blocks_sums_value_per_block():
    scores = _scores()
    fig = figures.value_fee_over_blocks(scores)
    bar, line = fig.data
    expected = scores.groupby("block_number")["value_eth"].sum()
    assert list(bar.x) == list(expected.index)
    assert np.allclose(bar.y, expected.to_numpy())
    assert np.allclose(line.y, scores.groupby("block_number")["fee_eth"].median().to_numpy())
    assert fig.layout.xaxis2.title.text == "block number"


def test_detection_rates_are_recall_per_label():
    scores = _scores(threshold=0.5)
    fig = figures.detection_rate_figure(scores)
    bar = fig.data[0]
    for label, recall in zip(bar.x, bar.y, strict=True):
        sub = scores[scores["label"] == label]
        assert recall == pytest.approx((sub["anomaly_score"] >= 0.5).mean())
    assert set(bar.x) == {"peel_chain", "dusting"}


def test_empty_inputs_give_a_message_not_an_error():
    empty = _scores().iloc[0:0]
    for fig in (
        figures.score_distribution(empty),
        figures.top_anomalies_table(empty),
        figures.value_fee_over_blocks(empty),
        figures.detection_rate_figure(empty.assign(is_labelled=False)),
    ):
        assert fig.layout.annotations and "No" in fig.layout.annotations[0].text
        assert len(fig.data) == 1


def test_overview_figures_count_anomalies_and_versions_per_range():
    rows = [
        summary.range_summary("000000000-000000099", _scores(seed=1), None),
        summary.range_summary("000000100-000000199", _scores(seed=2).assign(classifier_version="v4"), None),
    ]
    frame = summary.summary_frame(rows)
    figs = overview_figures.overview_figures(frame)
    assert set(figs) == {"volume", "anomalies", "versions"}
    unlabelled, labelled = figs["anomalies"].data
    totals = np.asarray(unlabelled.y) + np.asarray(labelled.y)
    assert list(totals) == [int((_scores(seed=s)["anomaly_score"] >= 0.7).sum()) for s in (1, 2)]
    classifier = figs["versions"].data[0]
    assert list(classifier.y) == ["classifier v3", "classifier v4"]
    assert list(figs["volume"].data[0].y) == [40, 40]
