"""The anomaly and overview reports render in a real headless chromium, offline, with data in every plot."""

from __future__ import annotations

from pathlib import Path

import pytest

from blockanalytix_assets.reports import data, html
from blockanalytix_assets.storage import Storage
from blockanalytix_tests.api.dataset import build_dataset

pytestmark = pytest.mark.integration

PLOT_STATE_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(
    d => ({id: d.id, traces: (d.data || []).length,
           points: (d.calcdata || []).reduce((n, c) => n + (c || []).length, 0),
           title: d.layout?.title?.text || ''}))"""


@pytest.fixture(scope="module")
def written_reports(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("storage")
    ds = build_dataset(str(root))
    store = Storage(str(root))
    key = ds.keys[0]
    t = data.load_report_inputs(store, key)
    report = html.write_report(
        store,
        html.anomaly_report_relpath(key),
        html.render_anomaly_report(key, t.scores, t.clusters, t.transactions, t.labels),
    )
    links = {k: f"anomaly_report/{k}.html" for k in data.report_keys(store)}
    overview = html.write_report(
        store, html.OVERVIEW_RELPATH, html.render_overview_report(data.overview_frame(store), links)
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
    plots = _open(browser_page, report, 5)
    browser_page.page.screenshot(path=str(artifacts_dir / "anomaly_report.png"), full_page=True)
    assert len(plots) == 5
    assert all(p["traces"] > 0 and p["points"] > 0 for p in plots), plots
    titles = " | ".join(p["title"] for p in plots)
    for expected in ("score distribution", "anomalous transactions", "clusters", "fees", "Detection rate"):
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
    plots = _open(browser_page, overview, 3)
    browser_page.page.screenshot(path=str(artifacts_dir / "overview_report.png"), full_page=True)
    assert len(plots) == 3 and all(p["traces"] > 0 for p in plots)
    links = browser_page.page.eval_on_selector_all("table.ranges a", "els => els.map(e => e.href)")
    assert len(links) == 2 and links[0].endswith("anomaly_report/000000000-000000099.html")
    browser_page.page.click("table.ranges a >> nth=0")
    browser_page.page.wait_for_selector(".js-plotly-plot")
    assert "Anomaly report" in browser_page.page.title()
    assert browser_page.errors == []
