"""The real Dagster webserver serves the asset graph, and headless chromium finds our assets on it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from blockanalytix_tests.plugins.integration import starts_processes

pytestmark = pytest.mark.integration
STARTUP_TIMEOUT_S = 180


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
@starts_processes
def webserver(tmp_path_factory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("dagster-ui")
    (tmp / "home").mkdir()
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp / "home"),
        "BLOCKANALYTIX_STORAGE": str(tmp / "data"),
        "BLOCKANALYTIX_HOME": str(tmp / "ba-home"),
        "BLOCKANALYTIX_DEPLOYMENT": "local",
        "MLFLOW_TRACKING_URI": "http://127.0.0.1:9",
    }
    exe = Path(sys.executable).with_name("dagster-webserver")
    cmd = [str(exe), "-m", "blockanalytix_assets.definitions", "-h", "127.0.0.1", "-p", str(port)]
    log_path = tmp / "webserver.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"dagster-webserver exited {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/server_info", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"dagster-webserver not up in {STARTUP_TIMEOUT_S}s:\n{log_path.read_text()[-3000:]}")
            time.sleep(1)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def _dismiss_community_dialog(page) -> None:
    """Close Dagster's first-visit 'Join the community' dialog so screenshots show the page."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=5_000)
        skip.click()
    except Exception:  # playwright TimeoutError: no dialog this time
        pass


def test_asset_graph_lists_the_pipeline_assets(webserver, browser_page, artifacts_dir):
    page = browser_page.page
    page.goto(f"{webserver}/asset-groups", wait_until="domcontentloaded")
    # With several groups the global graph starts collapsed to group boxes; wait for one (the code location
    # loads first), then use the UI's own "Expand all groups" shortcut (Alt+E) so the asset nodes show.
    page.get_by_text("transform", exact=True).first.wait_for(timeout=90_000)
    _dismiss_community_dialog(page)
    page.mouse.click(page.viewport_size["width"] - 300, page.viewport_size["height"] - 150)
    page.keyboard.press("Alt+e")
    page.get_by_text("raw_blocks", exact=True).first.wait_for(timeout=30_000)
    page.wait_for_timeout(1500)  # let the layout settle for a readable screenshot
    page.screenshot(path=str(artifacts_dir / "dagster_asset_graph.png"), full_page=True)
    body = page.inner_text("body")
    for name in ("raw_blocks", "raw_transactions", "raw_logs", "token_transfers", "anomaly_scores"):
        assert name in body
    assert "Error" not in page.title()


def test_asset_catalog_shows_the_report_assets_when_defined(webserver, browser_page, artifacts_dir):
    from blockanalytix_assets.definitions import ASSET_MODULES

    page = browser_page.page
    page.goto(f"{webserver}/assets", wait_until="domcontentloaded")
    page.get_by_text("raw_blocks").first.wait_for(timeout=90_000)
    _dismiss_community_dialog(page)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(artifacts_dir / "dagster_asset_catalog.png"), full_page=True)
    body = page.inner_text("body")
    assert "raw_blocks" in body
    if any(m.__name__ == "blockanalytix_assets.reports.assets" for m in ASSET_MODULES):
        assert "anomaly_report" in body and "overview_report" in body
