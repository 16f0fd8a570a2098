"""Self-contained HTML reports (plotly.js inlined once, works offline) and where they are written."""

from __future__ import annotations

import html
import math
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from blockanalytix_assets.ml.range_drift import RangeDrift
from blockanalytix_assets.reports import drift_figures, figures, overview_figures, summary
from blockanalytix_assets.storage import Storage

ANOMALY_REPORT_DIR = "reports/anomaly_report"
OVERVIEW_RELPATH = "reports/overview_report.html"
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;
background:#f4f6f9;color:#1f2933}
header{background:#1f3a5f;color:#fff;padding:18px 32px}header h1{margin:0;font-size:24px}
header p{margin:4px 0 0;opacity:.85;font-size:14px}main{max-width:1280px;margin:0 auto;padding:16px 32px}
.stats{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0 16px}
.stat{background:#fff;border-radius:8px;padding:10px 16px;
box-shadow:0 1px 3px rgba(0,0,0,.08);min-width:110px}
.stat b{display:block;font-size:22px}.stat span{font-size:12px;color:#52606d;text-transform:uppercase}
section{background:#fff;border-radius:8px;padding:12px 18px;margin-bottom:16px;
box-shadow:0 1px 3px rgba(0,0,0,.08)}
section h2{font-size:17px;margin:4px 0}section p{font-size:13px;color:#52606d;margin:2px 0 6px}
table.ranges{border-collapse:collapse;font-size:13px;width:100%}
table.ranges td,table.ranges th{border-bottom:1px solid #e4e7eb;padding:4px 8px;text-align:left}
footer{font-size:12px;color:#7b8794;padding:8px 32px 24px;text-align:center}
"""


def anomaly_report_relpath(key: str) -> str:
    """Where the anomaly report of a partition lives under the storage root."""
    return f"{ANOMALY_REPORT_DIR}/{key}.html"


def figure_html(fig: go.Figure, include_js: bool) -> str:
    """One figure as an HTML fragment; the first one on a page carries plotly.js inline."""
    return fig.to_html(
        full_html=False,
        include_plotlyjs=True if include_js else False,
        config=PLOTLY_CONFIG,
        default_width="100%",
    )


def render_page(title: str, subtitle: str, stats: list[tuple[str, str]], sections: list[tuple[str, str, str]]) -> str:
    """A full page: header, stat cards and sections of (heading, explanation, inner HTML)."""
    cards = "".join(f'<div class="stat"><b>{html.escape(v)}</b><span>{html.escape(k)}</span></div>' for k, v in stats)
    body = "".join(
        f"<section><h2>{html.escape(h)}</h2><p>{html.escape(p)}</p>{inner}</section>" for h, p, inner in sections
    )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>'
        f"<body><header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>"
        f'<main><div class="stats">{cards}</div>{body}</main>'
        f"<footer>BlockAnalytix · generated {stamp} · self-contained, works offline</footer></body></html>"
    )


def _figure_sections(figs: list[tuple[str, str, go.Figure]]) -> list[tuple[str, str, str]]:
    return [(h, p, figure_html(f, include_js=i == 0)) for i, (h, p, f) in enumerate(figs)]


def anomaly_report_figures(
    scores: pd.DataFrame, clusters: pd.DataFrame, transactions: pd.DataFrame, top_n: int = 20
) -> dict[str, go.Figure]:
    """The figures of one partition's anomaly report, by short name."""
    return {
        "score_distribution": figures.score_distribution(scores),
        "top_anomalies": figures.top_anomalies_table(scores, top_n),
        "cluster_map": figures.cluster_map(clusters),
        "value_fee": figures.value_fee_over_blocks(transactions),
        "detection_rates": figures.detection_rate_figure(scores),
    }


def render_anomaly_report(
    key: str,
    scores: pd.DataFrame,
    clusters: pd.DataFrame,
    transactions: pd.DataFrame,
    labels: pd.DataFrame,
    drift: RangeDrift | None = None,
) -> str:
    """The anomaly report of one block range as a self-contained HTML page."""
    figs = anomaly_report_figures(scores, clusters, transactions)
    figs["drift"] = drift_figures.range_drift_figure(drift)
    thr = summary.partition_threshold(scores)
    flagged = int(summary.above_threshold(scores).sum())
    versions = ", ".join(sorted({str(v) for v in scores.get("classifier_version", pd.Series()).dropna()})) or "n/a"
    stats = [
        ("transactions", f"{len(transactions):,}"),
        ("scored", f"{len(scores):,}"),
        ("above threshold", f"{flagged:,}"),
        ("threshold", "n/a" if thr is None else f"{thr:.3f}"),
        ("labelled txs", f"{int(scores['is_labelled'].sum()) if len(scores) else 0:,}"),
        ("known illicit addresses", f"{len(labels):,}"),
        ("classifier", versions),
        ("max feature PSI", _psi(drift.feature_max_psi if drift else math.nan)),
        ("score PSI", _psi(drift.score_psi if drift else math.nan)),
    ]
    sections = _figure_sections(
        [
            (
                "Score distribution",
                "Combined anomaly score of every transaction; the dashed line is the alert threshold.",
                figs["score_distribution"],
            ),
            (
                "Top anomalous transactions",
                "Highest-ranked transactions and the features that contributed most.",
                figs["top_anomalies"],
            ),
            (
                "Cluster map",
                "Autoencoder embedding projected to 2-D; stars are transactions touching labelled addresses.",
                figs["cluster_map"],
            ),
            ("Value and fees", "Value moved and median fee paid per block of the range.", figs["value_fee"]),
            (
                "Detection rates",
                "For each label (devnet typology), the share of its transactions above the threshold.",
                figs["detection_rates"],
            ),
            ("Drift", _drift_note(drift), figs["drift"]),
        ]
    )
    return render_page(f"Anomaly report · blocks {key}", "Scored transactions of one block range", stats, sections)


def render_overview_report(
    frame: pd.DataFrame, report_links: dict[str, str] | None = None, drift: pd.DataFrame | None = None
) -> str:
    """The overview across every materialised range, linking each range's anomaly report."""
    figs = overview_figures.overview_figures(frame)
    drift = pd.DataFrame() if drift is None else drift
    figs["drift"] = drift_figures.drift_over_ranges(drift)
    links = report_links or {}
    rows = "".join(
        "<tr>"
        + f"<td>{_link(r['key'], links.get(r['key']))}</td><td>{_num(r['transactions'])}</td>"
        + f"<td>{_num(r['anomalies'])}</td><td>{_num(r['labelled_anomalies'])}</td>"
        + f"<td>{html.escape(str(r['classifier_version'] or ''))}</td>"
        + f"<td>{html.escape(str(r['autoencoder_version'] or ''))}</td></tr>"
        for r in frame.to_dict("records")
    )
    head = "<tr><th>range</th><th>transactions</th><th>anomalies</th><th>labelled</th><th>classifier</th>"
    table = f'<table class="ranges">{head}<th>autoencoder</th></tr>{rows}</table>'
    stats = [
        ("ranges", f"{len(frame):,}"),
        ("transactions", _num(frame["transactions"].sum() if len(frame) else 0)),
        ("anomalies", _num(frame["anomalies"].sum() if len(frame) else 0)),
        ("labelled anomalies", _num(frame["labelled_anomalies"].sum() if len(frame) else 0)),
        ("drifting ranges", _num((drift["drifted"] != "").sum() if len(drift) else 0)),
    ]
    sections = _figure_sections(
        [
            ("Volume", "Transactions and ETH moved per block range.", figs["volume"]),
            (
                "Anomalies",
                "Transactions above each range's threshold; red ones touch labelled addresses.",
                figs["anomalies"],
            ),
            ("Model versions", "Registry versions of the models that scored each range.", figs["versions"]),
            (
                "Drift",
                "Population stability index of each range against its champion's training window: the largest "
                "monitored feature and the anomaly score. Above the dashed line the drift checks warn.",
                figs["drift"],
            ),
        ]
    )
    sections.append(("Ranges", "Every materialised range; follow a key to its anomaly report.", table))
    return render_page("BlockAnalytix overview", "All materialised block ranges", stats, sections)


def _psi(v: float) -> str:
    return "n/a" if not math.isfinite(v) else f"{v:.3f}"


def _drift_note(drift: RangeDrift | None) -> str:
    """What the drift section compares, and the verdict."""
    if drift is None or drift.champion is None:
        return "Not compared: " + ("; ".join(drift.notes) if drift else "no drift figures") + "."
    verdict = f"drifted: {', '.join(drift.drifted)}" if drift.drifted else "nothing above the threshold"
    extra = f" ({'; '.join(drift.notes)})" if drift.notes else ""
    return (f"PSI against {drift.champion}'s training window, grey bars are not monitored (calendar, nonce, "
            f"history features); {verdict}{extra}.")  # fmt: skip


def _num(v: Any) -> str:
    return "" if v is None or pd.isna(v) else f"{int(v):,}"


def _link(key: str, href: str | None) -> str:
    k = html.escape(key)
    return f'<a href="{html.escape(href)}">{k}</a>' if href else k


def write_report(storage: Storage, relpath: str, page: str) -> str:
    """Write a report atomically under the storage root; returns its location (path or s3:// URI)."""
    return storage.write_bytes(relpath, page.encode("utf-8"))


def location_url(location: str) -> str:
    """A clickable URL for a written file: file:// for local paths, the URI itself otherwise."""
    if "://" in location:
        return location
    return Path(os.path.abspath(location)).as_uri()
