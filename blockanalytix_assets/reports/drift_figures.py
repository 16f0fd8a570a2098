"""Drift figures: one range's PSI per feature, and the drift of every range in the overview (pure)."""

from __future__ import annotations

import json
import math

import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa

from blockanalytix_assets.ml.range_drift import RangeDrift
from blockanalytix_assets.reports.figures import LABELLED_COLOR, NORMAL_COLOR, empty_figure, layout

UNMONITORED_COLOR = "#bab0ac"
TOP_FEATURES = 15


def range_drift_figure(drift: RangeDrift | None) -> go.Figure:
    """PSI of the range's most shifted features and of its anomaly_score; the dashed line is the warn threshold."""
    title = "Drift from the champion's training window (PSI)"
    if drift is None or (drift.features is None and drift.score is None):
        note = "; ".join(drift.notes) if drift else "not computed"
        return empty_figure(title, note)
    psi = dict(drift.features.psi) if drift.features else {}
    if drift.score:
        psi["anomaly_score"] = drift.score.max_psi
    ranked = sorted(((c, v) for c, v in psi.items() if math.isfinite(v)), key=lambda cv: -cv[1])[:TOP_FEATURES]
    names, values = [c for c, _ in ranked][::-1], [v for _, v in ranked][::-1]
    monitored = set(drift.monitored) | {"anomaly_score"}
    colors = [(LABELLED_COLOR if v > drift.threshold else NORMAL_COLOR) if c in monitored else UNMONITORED_COLOR
              for c, v in zip(names, values, strict=True)]  # fmt: skip
    fig = go.Figure(go.Bar(x=values, y=names, orientation="h", marker_color=colors, name="PSI"))
    fig.add_vline(x=drift.threshold, line_dash="dash", annotation_text=f"warn > {drift.threshold:g}")
    fig.update_xaxes(title_text="population stability index", rangemode="tozero")
    return layout(fig, title, height=max(300, 26 * len(names) + 120), showlegend=False)


def drift_frame(table: pa.Table) -> pd.DataFrame:
    """range_drift rows as a frame with first_block (for the x axis) and the drifted columns joined."""
    df = table.to_pandas()
    if df.empty:
        return df
    df["first_block"] = df["key"].str.split("-").str[0].astype(int)
    df["drifted"] = df["drifted"].map(lambda v: ", ".join(v) if v is not None else "")
    df["features"] = df["feature_psi"].map(lambda s: len(json.loads(s or "{}")))
    return df.sort_values("first_block")


def drift_over_ranges(frame: pd.DataFrame) -> go.Figure:
    """The largest monitored feature PSI and the anomaly_score PSI of every range against its champion."""
    title = "Drift per range"
    if frame.empty:
        return empty_figure(title, "No range has a drift figure yet (rendered with each anomaly report)")
    fig = go.Figure()
    for col, name, color in (("feature_max_psi", "max feature PSI", NORMAL_COLOR),
                             ("score_psi", "anomaly_score PSI", "#f58518")):  # fmt: skip
        fig.add_trace(go.Scatter(x=frame["first_block"], y=frame[col], name=name, mode="lines+markers",
                                 line={"color": color}, customdata=frame[["key", "champion", "drifted"]],
                                 hovertemplate="%{customdata[0]} vs %{customdata[1]}<br>PSI %{y:.3f}"
                                               "<br>%{customdata[2]}<extra></extra>"))  # fmt: skip
    threshold = float(frame["threshold"].max())
    fig.add_hline(y=threshold, line_dash="dash", annotation_text=f"warn > {threshold:g}")
    fig.update_xaxes(title_text="first block of range")
    fig.update_yaxes(title_text="population stability index", rangemode="tozero")
    return layout(fig, title, height=360)
