"""`blockanalytix serve`: run the read-only analytics API with uvicorn."""

from __future__ import annotations

import click

from blockanalytix_assets.settings import Settings


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind (loopback by default).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
@click.option("--storage", default=None, help="Storage root (local path or s3://); default BLOCKANALYTIX_STORAGE.")
def serve_command(host: str, port: int, storage: str | None) -> None:
    """Serve GET /health, /ready, /ranges, /ranges/{key}/anomalies, /transactions/{hash}, /addresses/{address}."""
    import uvicorn

    from blockanalytix_assets.api.app import create_app

    settings = Settings.from_env()
    root = storage or settings.storage
    click.echo(f"BlockAnalytix API on http://{host}:{port} (OpenAPI at /docs), reading {root}")
    app = create_app(root, memory_limit=settings.api_memory_limit, cache_folder=settings.home / "api-cache")
    uvicorn.run(app, host=host, port=port, log_level="info")


if __name__ == "__main__":
    serve_command()
