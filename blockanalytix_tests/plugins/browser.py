"""Pytest fixtures: the system Debian chromium, headless, driven by Playwright (no downloaded browser)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from blockanalytix_tests.plugins.integration import starts_processes

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def chromium_path() -> str | None:
    """The system chromium: BLOCKANALYTIX_CHROMIUM, else /usr/bin/chromium or chromium on PATH."""
    for candidate in (
        os.environ.get("BLOCKANALYTIX_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
    ):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


@dataclass
class BrowserPage:
    """A fresh page plus what went wrong in it (uncaught JS errors) and what it fetched."""

    page: object
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
@starts_processes
def chromium_browser() -> Iterator[object]:
    """One headless chromium per test session."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    if path is None:
        pytest.fail("Debian chromium is not installed: run `make test-deps` (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(chromium_browser) -> Iterator[BrowserPage]:
    """A page in its own context (1400x900), recording JS errors and requested URLs."""
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    bp = BrowserPage(page=page)
    page.on("pageerror", lambda exc: bp.errors.append(str(exc)))
    page.on("request", lambda req: bp.requests.append(req.url))
    try:
        yield bp
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """blockanalytix_tests/artifacts/ (gitignored): screenshots and other test artefacts."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
