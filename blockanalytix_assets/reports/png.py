"""Static PNG copies of report figures through kaleido (needs a Chrome/Chromium); skipped when unavailable."""

from __future__ import annotations

import logging
import os
import shutil

import plotly.graph_objects as go

from blockanalytix_assets.settings import Settings
from blockanalytix_assets.storage import Storage

log = logging.getLogger(__name__)
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def find_browser() -> str | None:
    """The Chrome/Chromium kaleido should drive: BROWSER_PATH, else a system chromium."""
    configured = Settings.from_env().browser_path
    if configured and os.path.exists(configured):
        return configured
    for path in CHROMIUM_CANDIDATES:
        if os.path.exists(path):
            return path
    return shutil.which("chromium")


def export_pngs(
    storage: Storage, reldir: str, figs: dict[str, go.Figure], width: int = 1200, height: int | None = None
) -> tuple[list[str], str | None]:
    """Write each figure as <reldir>/<name>.png; returns the locations and, if skipped, why."""
    return export_png_batches(storage, {reldir: figs}, width, height)


def export_png_batches(
    storage: Storage, batches: dict[str, dict[str, go.Figure]], width: int = 1200, height: int | None = None
) -> tuple[list[str], str | None]:
    """export_pngs for several folders through one browser start (a run renders up to 10 ranges' reports)."""
    try:
        import kaleido
        import plotly.io as pio
    except ImportError:
        return [], "kaleido is not installed (pip install kaleido)"
    browser = find_browser()
    if browser is None:
        return [], "no Chrome/Chromium found for kaleido (install chromium or set BROWSER_PATH)"
    os.environ.setdefault("BROWSER_PATH", browser)  # how kaleido (choreographer) is told which browser
    written: list[str] = []
    try:
        kaleido.start_sync_server(silence_warnings=True)
        try:
            for reldir, figs in batches.items():
                for name, fig in figs.items():
                    h = height or int(fig.layout.height or 450)
                    data = pio.to_image(fig, format="png", width=width, height=h)
                    written.append(storage.write_bytes(f"{reldir}/{name}.png", data))
        finally:
            kaleido.stop_sync_server(silence_warnings=True)
    except Exception as exc:  # kaleido raises many kinds (browser start, timeouts): a PNG is optional
        log.warning("PNG export skipped: %s", type(exc).__name__)
        return written, f"kaleido failed: {type(exc).__name__}: {str(exc)[:200]}"
    return written, None
