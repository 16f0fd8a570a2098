"""The anomaly and overview reports render in a real headless chromium, offline, with data in every plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from blockanalytix_assets.ml.drift import feature_drift, score_drift
from blockanalytix_assets.ml.range_drift import RangeDrift
from blockanalytix_assets.reports import data, drift_figures, html
from blockanalytix_assets.storage import Storage
from blockanalytix_tests.api.dataset import build_dataset

pytestmark = pytest.mark.integration

PLOT_STATE_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(
    d => ({id: d.id, traces: (d.data || []).length,
           points: (d.calcdata || []).reduce((n, c) => n + (c || []).length, 0),
           title: d.layout?.title?.text || ''}))"""


def _drift(key: str) -> RangeDrift:
    """A range whose fees moved: the drift panels have bars and a point to draw."""
    rng = np.random.default_rng(0)
    before = {"log_fee_gwei": rng.normal(0, 1, 2000), "hour_of_day": rng.uniform(0, 24, 2000)}
    after = {"log_fee_gwei": rng.normal(1, 1, 2000), "hour_of_day": rng.uniform(0, 24, 2000)}
    scores = score_drift(rng.uniform(0, 1, 2000), rng.uniform(0, 1, 2000))
    return RangeDrift(key, "clf/3", 0.25, feature_drift(before, after, list(before)), scores)


@pytest.fixture(scope="module")
def written_reports(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("storage")
    ds = build_dataset(str(root))
    store = Storage(str(root))
    key = ds.keys[0]
    t = data.load_report_inputs(store, key)
    drift = _drift(key)
    report = html.write_report(
        store,
        html.anomaly_report_relpath(key),
        html.render_anomaly_report(key, t.scores, t.clusters, t.transactions, t.labels, drift),
    )
    links = {k: f"anomaly_report/{k}.html" for k in data.report_keys(store)}
    frame = drift_figures.drift_frame(drift.table())
    overview = html.write_report(
        store, html.OVERVIEW_RELPATH, html.render_overview_report(data.overview_frame(store), links, frame)
    )
    return Path(report), Path(overview)


def _open(bp, path: Path, expected_plots: int) -> list[dict]:
    bp.page.goto(path.as_uri())
    bp.page.wait_for_function(
        f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {expected_plots}", timeout=20_000
    )
    return bp.page.evaluate(PLOT_STATE_JS)


def test_anomaly_report_renders_every_plot_offline(browser_page, written_reports, artifacts_dir):
    report, _ = written_reports
    plots = _open(browser_page, report, 6)
    browser_page.page.screenshot(path=str(artifacts_dir / "anomaly_report.png"), full_page=True)
    assert len(plots) == 6
    assert all(p["traces"] > 0 and p["points"] > 0 for p in plots), plots
    titles = " | ".join(p["title"] for p in plots)
    for expected in ("score distribution", "anomalous transactions", "clusters", "fees", "Detection rate", "Drift"):
        assert expected.lower() in titles.lower()
    assert browser_page.errors == []
    # Self-contained: nothing but the file itself (and inline data: URIs) is fetched.
    assert [u for u in browser_page.requests if not u.startswith(("file:", "data:"))] == []
    # The threshold line is drawn as a shape in the score distribution.
    shapes = browser_page.page.evaluate(
        "() => document.querySelectorAll('.js-plotly-plot')[0].layout.shapes.map(s => s.x0)"
    )
    assert shapes and abs(shapes[0] - 0.6) < 1e-9


def test_overview_report_renders_and_links_range_reports(browser_page, written_reports, artifacts_dir):
    _, overview = written_reports
    plots = _open(browser_page, overview, 4)
    browser_page.page.screenshot(path=str(artifacts_dir / "overview_report.png"), full_page=True)
    assert len(plots) == 4 and all(p["traces"] > 0 for p in plots)
    assert plots[-1]["title"] == "Drift per range" and plots[-1]["points"] > 0
    links = browser_page.page.eval_on_selector_all("table.ranges a", "els => els.map(e => e.href)")
    assert len(links) == 2 and links[0].endswith("anomaly_report/000000000-000000099.html")
    browser_page.page.click("table.ranges a >> nth=0")
    browser_page.page.wait_for_selector(".js-plotly-plot")
    assert "Anomaly report" in browser_page.page.title()
    assert browser_page.errors == []
