"""Report pages: self-contained HTML (plotly.js inline once), escaped text, atomic writes, clickable URLs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from blockanalytix_assets.reports import data, html, png
from blockanalytix_assets.storage import Storage
from blockanalytix_tests.api.dataset import build_dataset


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Storage:
    root = tmp_path_factory.mktemp("reports")
    build_dataset(str(root), ranges=2, txs_per_range=80)
    return Storage(str(root))


def _anomaly_page(store: Storage, key: str) -> str:
    t = data.load_report_inputs(store, key)
    return html.render_anomaly_report(key, t.scores, t.clusters, t.transactions, t.labels)


def test_anomaly_report_is_self_contained(store):
    page = _anomaly_page(store, "000000000-000000099")
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script[^>]+src=[\"']?(https?:)?//", page, re.I)
    assert not re.search(r"<link[^>]+href=[\"']?(https?:)?//", page, re.I)
    assert page.count("plotly.js v") == 1  # the library is embedded exactly once
    assert page.count('class="plotly-graph-div"') == 6
    for heading in ("Score distribution", "Top anomalous transactions", "Cluster map", "Detection rates", "Drift"):
        assert f"<h2>{heading}</h2>" in page


def test_user_text_is_escaped(store):
    frame = data.overview_frame(store)
    frame.loc[0, "classifier_version"] = "<script>alert(1)</script>"
    page = html.render_overview_report(frame, {"000000000-000000099": "a.html?x=<b>"})
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'href="a.html?x=&lt;b&gt;"' in page


def test_reports_are_written_under_the_contract_paths(store):
    key = "000000100-000000199"
    location = html.write_report(store, html.anomaly_report_relpath(key), _anomaly_page(store, key))
    assert location == f"{store.root}/reports/anomaly_report/{key}.html"
    written = Path(location).read_text(encoding="utf-8")
    assert f"blocks {key}" in written
    assert [p.name for p in Path(location).parent.iterdir() if p.name.endswith(".tmp")] == []
    overview = html.write_report(store, html.OVERVIEW_RELPATH, html.render_overview_report(data.overview_frame(store)))
    assert overview.endswith("reports/overview_report.html") and Path(overview).stat().st_size > 1_000_000
    url = html.location_url(location)
    assert url.startswith("file:///") and url.endswith(f"{key}.html")
    assert html.location_url("s3://bucket/x/report.html") == "s3://bucket/x/report.html"


def test_overview_lists_every_range_with_totals(store):
    frame = data.overview_frame(store)
    assert frame["key"].tolist() == ["000000000-000000099", "000000100-000000199"]
    assert frame["transactions"].tolist() == [80, 80]
    scores = store.read("anomaly_scores", "000000000-000000099").to_pandas()
    assert frame.loc[0, "anomalies"] == int((scores["anomaly_score"] >= scores["threshold"]).sum())


def test_png_export_with_kaleido_or_a_reason(store):
    t = data.load_report_inputs(store, "000000000-000000099")
    figs = html.anomaly_report_figures(t.scores, t.clusters, t.transactions)
    written, skipped = png.export_pngs(store, "reports/anomaly_report/png-test", {"dist": figs["score_distribution"]})
    if png.find_browser() is None:
        assert written == [] and "Chromium" in skipped
        return
    assert skipped is None
    assert len(written) == 1 and Path(written[0]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
