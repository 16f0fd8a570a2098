"""Plotly figures of the overview report across every materialised range (pure)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from blockanalytix_assets.reports.figures import LABELLED_COLOR, NORMAL_COLOR, empty_figure, layout


def overview_figures(frame: pd.DataFrame) -> dict[str, go.Figure]:
    """Cross-range figures: volume per range, anomalies per range, model versions over the ranges."""
    if frame.empty:
        msg = "No materialised ranges yet"
        return {
            k: empty_figure(t, msg)
            for k, t in (
                ("volume", "Volume per range"),
                ("anomalies", "Anomalies per range"),
                ("versions", "Model versions over ranges"),
            )
        }
    x = frame["first_block"]
    vol = make_subplots(specs=[[{"secondary_y": True}]])
    vol.add_trace(
        go.Bar(
            x=x,
            y=frame["transactions"],
            name="transactions",
            marker_color=NORMAL_COLOR,
            customdata=frame["key"],
            hovertemplate="%{customdata}<br>%{y} txs<extra></extra>",
        )
    )
    vol.add_trace(
        go.Scatter(x=x, y=frame["value_eth"], name="value (ETH)", mode="lines+markers", line={"color": "#f58518"}),
        secondary_y=True,
    )
    vol.update_yaxes(title_text="transactions", secondary_y=False, rangemode="tozero")
    vol.update_yaxes(title_text="value (ETH)", secondary_y=True, rangemode="tozero", showgrid=False)
    vol.update_xaxes(title_text="first block of range")
    anomalies = go.Figure()
    for y, name, color in (
        (frame["anomalies"] - frame["labelled_anomalies"], "unlabelled anomalies", NORMAL_COLOR),
        (frame["labelled_anomalies"], "labelled anomalies", LABELLED_COLOR),
    ):
        anomalies.add_trace(go.Bar(x=x, y=y, name=name, marker_color=color, customdata=frame["key"]))
    anomalies.update_xaxes(title_text="first block of range")
    anomalies.update_yaxes(title_text="transactions above threshold")
    versions = go.Figure()
    for col, name, color in (
        ("classifier_version", "classifier", "#54a24b"),
        ("autoencoder_version", "autoencoder", "#b279a2"),
    ):
        v = frame[col].fillna("(not scored)").astype(str)
        versions.add_trace(
            go.Scatter(
                x=x,
                y=name + " " + v,
                mode="lines+markers",
                name=name,
                line={"shape": "hv", "color": color},
                customdata=frame["key"],
                hovertemplate="%{customdata}<br>%{y}<extra></extra>",
            )
        )
    versions.update_xaxes(title_text="first block of range")
    versions.update_yaxes(title_text="model version", type="category")
    return {
        "volume": layout(vol, "Volume per range"),
        "anomalies": layout(anomalies, "Anomalies per range", barmode="stack"),
        "versions": layout(versions, "Model versions over ranges", height=340),
    }
