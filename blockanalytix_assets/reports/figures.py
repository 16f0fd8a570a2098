"""Plotly figures of one range's anomaly report (pure: frames in, figures out)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from blockanalytix_assets.reports import summary

TEMPLATE = "plotly_white"
PALETTE = qualitative.Plotly
LABELLED_COLOR = "#d62728"
NORMAL_COLOR = "#4c78a8"
MAX_MAP_POINTS = 5000  # SVG scatter stays responsive below a few thousand points


def _short(value: object, head: int = 10, tail: int = 6) -> str:
    s = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    return s if len(s) <= head + tail + 1 else f"{s[:head]}…{s[-tail:]}"


def layout(fig: go.Figure, title: str, height: int = 420, **kwargs: Any) -> go.Figure:
    """The shared look: white template, title top-left, legend below the plot."""
    fig.update_layout(
        template=TEMPLATE,
        title={"text": title, "x": 0.01},
        height=height,
        margin={"l": 70, "r": 30, "t": 60, "b": 60},
        legend={"orientation": "h", "y": -0.18},
        **kwargs,
    )
    return fig


def empty_figure(title: str, message: str) -> go.Figure:
    """A placeholder figure with a message, for a table with no rows."""
    # A trace is kept so the figure still renders (and is counted) in the browser.
    fig = go.Figure(go.Scatter(x=[], y=[], name="no data"))
    fig.add_annotation(text=message, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    return layout(fig, title, height=260)


def score_distribution(scores: pd.DataFrame, threshold: float | None = None) -> go.Figure:
    """Histogram of anomaly scores, labelled transactions apart, with the threshold as a vertical line."""
    title = "Anomaly score distribution"
    if scores.empty:
        return empty_figure(title, "No scored transactions in this range")
    thr = summary.partition_threshold(scores) if threshold is None else threshold
    labelled = scores["is_labelled"].fillna(False).astype(bool)
    bins = {"start": 0.0, "end": 1.0, "size": 0.02}
    fig = go.Figure()
    fig.add_trace(
        go.Histogram(
            x=scores.loc[~labelled, "anomaly_score"],
            name="unlabelled",
            xbins=bins,
            marker_color=NORMAL_COLOR,
            opacity=0.75,
        )
    )
    fig.add_trace(
        go.Histogram(
            x=scores.loc[labelled, "anomaly_score"],
            name="labelled (known illicit)",
            xbins=bins,
            marker_color=LABELLED_COLOR,
            opacity=0.85,
        )
    )
    if thr is not None:
        n_above = int((scores["anomaly_score"] >= thr).sum())
        fig.add_vline(
            x=thr,
            line_dash="dash",
            line_color="black",
            line_width=2,
            annotation_text=f"threshold {thr:.3f} ({n_above} above)",
            annotation_position="top left",
        )
    fig.update_xaxes(title_text="anomaly score (0 = normal, 1 = most anomalous)", range=[0, 1])
    fig.update_yaxes(title_text="transactions (log scale)", type="log", dtick=1)
    return layout(fig, title, barmode="overlay")


def top_anomalies_table(scores: pd.DataFrame, n: int = 20) -> go.Figure:
    """Table of the n most anomalous transactions with their score, value and top features as reasons."""
    title = f"Top {n} anomalous transactions"
    top = summary.top_anomalies(scores, n)
    if top.empty:
        return empty_figure(title, "No scored transactions in this range")
    header = [
        "rank",
        "score",
        "tx hash",
        "block",
        "from",
        "to",
        "value (ETH)",
        "reasons (top features)",
        "label",
    ]
    cells = [
        top["rank"].astype(int).tolist(),
        [f"{v:.3f}" for v in top["anomaly_score"]],
        [_short(h) for h in top["hash"]],
        top["block_number"].astype(int).tolist(),
        [_short(a) for a in top["from_address"]],
        [_short(a) for a in top["to_address"]],
        [f"{v:,.4f}" for v in top["value_eth"].fillna(0.0)],
        top["reasons"].tolist(),
        [_short(v, 24, 0) if v else "" for v in top["label"].fillna("")],
    ]
    thr = summary.partition_threshold(scores)
    flagged = top["anomaly_score"] >= thr if thr is not None else pd.Series(False, index=top.index)
    fill = ["#fde2e1" if f else "white" for f in flagged]
    fig = go.Figure(
        go.Table(
            columnwidth=[32, 42, 125, 50, 125, 125, 70, 290, 100],
            header={"values": [f"<b>{h}</b>" for h in header], "fill_color": "#e8edf3", "align": "left"},
            cells={"values": cells, "fill_color": [fill] * len(header), "align": "left", "height": 24},
        )
    )
    return layout(fig, title + " (shaded: above threshold)", height=130 + 26 * len(top))


def cluster_map(clusters: pd.DataFrame, max_points: int = MAX_MAP_POINTS) -> go.Figure:
    """2-D projection of the autoencoder embedding, one colour per cluster, labelled transactions as stars."""
    title = "Transaction clusters (2-D projection of the autoencoder bottleneck)"
    if clusters.empty:
        return empty_figure(title, "No clustered transactions in this range")
    labelled = clusters["is_labelled"].fillna(False).astype(bool)
    rest = clusters[~labelled]
    if len(rest) > max_points:
        rest = rest.sample(max_points, random_state=0)
    fig = go.Figure()
    for i, (cid, part) in enumerate(rest.groupby("cluster_id", sort=True)):
        marker = {"size": 6, "color": PALETTE[i % len(PALETTE)], "opacity": 0.6}
        fig.add_trace(_embedding(part, f"cluster {cid}", marker, "cluster " + str(cid)))
    hits = clusters[labelled]
    if len(hits):
        star = {"size": 13, "symbol": "star", "color": LABELLED_COLOR, "line": {"width": 1, "color": "black"}}
        hover = "cluster %{customdata} (labelled)"
        fig.add_trace(_embedding(hits, "labelled (known illicit)", star, hover, customdata=hits["cluster_id"]))
    fig.update_xaxes(title_text="embedding x")
    fig.update_yaxes(title_text="embedding y")
    return layout(fig, title, height=520)


def _embedding(part: pd.DataFrame, name: str, marker: dict, hover: str, **kwargs: Any) -> go.Scatter:
    """A cluster map trace: the rows' 2-D embedding as markers, hovering the hash above `hover`."""
    x, y, text = part["embedding_x"], part["embedding_y"], part["hash"]
    template = "%{text}<br>" + hover + "<extra></extra>"
    return go.Scatter(x=x, y=y, mode="markers", name=name, marker=marker, text=text, hovertemplate=template, **kwargs)


def value_fee_over_blocks(transactions: pd.DataFrame) -> go.Figure:
    """Per block: total value transferred and median fee paid (ETH), on a shared block axis."""
    title = "Value and fees over blocks"
    act = summary.per_block_activity(transactions)
    if act.empty:
        return empty_figure(title, "No transactions in this range")
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=("total value per block", "median fee per block"),
    )
    fig.add_trace(
        go.Bar(
            x=act["block_number"],
            y=act["value_eth"],
            name="value (ETH)",
            marker_color=NORMAL_COLOR,
            customdata=act["transactions"],
            hovertemplate="block %{x}<br>%{y:.4f} ETH in %{customdata} txs<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=act["block_number"],
            y=act["median_fee_eth"],
            name="median fee (ETH)",
            mode="lines+markers",
            marker={"size": 4},
            line={"color": "#f58518"},
        ),
        row=2,
        col=1,
    )
    fig.update_yaxes(title_text="ETH", row=1, col=1)
    fig.update_yaxes(title_text="ETH", row=2, col=1)
    fig.update_xaxes(title_text="block number", row=2, col=1)
    return layout(fig, title, height=520)


def detection_rate_figure(scores: pd.DataFrame, threshold: float | None = None) -> go.Figure:
    """Per label (devnet typology): share of its labelled transactions scored above the threshold."""
    title = "Detection rate per label (recall of labelled transactions above the threshold)"
    rates = summary.detection_rates(scores, threshold)
    if rates.empty:
        return empty_figure(title, "No labelled transactions in this range")
    fig = go.Figure(
        go.Bar(
            x=rates["label"],
            y=rates["recall"],
            marker_color=LABELLED_COLOR,
            text=[f"{d}/{n}" for d, n in zip(rates["detected"], rates["labelled"], strict=True)],
            textposition="outside",
            name="recall",
            hovertemplate="%{x}<br>recall %{y:.0%} (%{text})<extra></extra>",
        )
    )
    fig.update_yaxes(title_text="recall", range=[0, 1.15], tickformat=".0%")
    fig.update_xaxes(title_text="label / typology")
    return layout(fig, title, showlegend=False)
