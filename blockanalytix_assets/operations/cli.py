"""`blockanalytix backfill --from-block A --to-block B`: a real Dagster backfill from the command line."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from blockanalytix_assets.operations.consistency import Views, problems, range_count

if TYPE_CHECKING:
    from dagster import DagsterInstance


@click.command("backfill")
@click.option("--from-block", "from_block", type=int, required=True, help="First block (inclusive).")
@click.option("--to-block", "to_block", type=int, required=True, help="Last block (inclusive).")
def backfill_command(from_block: int, to_block: int) -> None:
    """Launch one backfill of every range covering the blocks; the daemon runs it (UI: Backfills)."""
    import dagster as dg

    from blockanalytix_assets.definitions import defs
    from blockanalytix_assets.operations.jobs import launch_backfill
    from blockanalytix_assets.operations.repair import keys_for_blocks
    from blockanalytix_assets.settings import Settings

    try:
        keys = keys_for_blocks(from_block, to_block, Settings.from_env().range_size)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    instance = dg.DagsterInstance.get()
    backfill_id = launch_backfill(instance, defs.resolve_asset_graph(), keys, title="cli backfill")
    click.echo(json.dumps({"backfill_id": backfill_id, "ranges": len(keys), "first": keys[0], "last": keys[-1]}))


@click.command("consistency")
@click.option("--api", "api_url", default="http://127.0.0.1:8000", show_default=True, help="The running API.")
@click.option("--ranges", "expected", type=int, required=True, help="Ranges that must be scored.")
@click.option("--wait", type=float, default=0.0, help="Poll up to this many seconds until all agree.")
def consistency_command(api_url: str, expected: int, wait: float) -> None:
    """Check that the overview report, the API's /ranges and Dagster agree on every range's anomalies.

    Progress goes to stderr; the agreed figures are one JSON line on stdout; exit 1 if they still differ.
    """
    import time

    import dagster as dg
    import requests

    instance, deadline, said = dg.DagsterInstance.get(), time.monotonic() + wait, None
    while True:
        try:
            views = gather(instance, api_url, expected)
            todo = problems(views)
        except (requests.RequestException, ValueError) as exc:
            todo = [f"API at {api_url} is not answering ({type(exc).__name__})"]
        if not todo:
            total = sum(n or 0 for n in views.scores.values())
            sides = ["overview_report", "api /ranges", "dagster anomaly_scores"]
            click.echo(json.dumps({"ranges": len(views.scores), "anomalies": total, "agree": sides}))
            return
        if time.monotonic() >= deadline:
            raise click.ClickException("not consistent: " + "; ".join(todo))
        if todo != said:
            click.echo("waiting: " + "; ".join(todo), err=True)
            said = todo
        time.sleep(3)


def _latest(instance: DagsterInstance, asset: str) -> dict[str, tuple[dict, float]]:
    """Partition -> (metadata, timestamp) of the asset's latest materialization of each partition."""
    import dagster as dg

    out: dict[str, tuple[dict, float]] = {}
    records = instance.fetch_materializations(dg.AssetKey(asset), limit=10_000).records
    for r in records:  # newest first
        mat = r.asset_materialization
        key = mat.partition if mat is not None and mat.partition else ""
        if mat is not None and key not in out:
            out[key] = ({k: v.value for k, v in mat.metadata.items()}, r.timestamp)
    return out


def gather(instance: DagsterInstance, api_url: str, expected_ranges: int) -> Views:
    """The three views from the Dagster instance and the running API."""
    import requests

    v = Views(expected_ranges)
    scores = _latest(instance, "anomaly_scores")
    v.scores = {k: range_count(meta, k) for k, (meta, _) in scores.items() if k}
    v.last_score_at = max((ts for _, ts in scores.values()), default=None)
    overview = _latest(instance, "overview_report").get("")
    if overview is not None:
        meta, v.overview_at = overview
        v.overview = {k: n for k, n in (meta.get("anomalies_by_range") or {}).items() if k in v.scores or n}
    url, cursor = f"{api_url.rstrip('/')}/ranges", None
    while True:
        page = requests.get(url, params={"limit": 1000, **({"cursor": cursor} if cursor else {})}, timeout=10).json()
        v.api |= {r["key"]: r["anomalies"] for r in page["ranges"] if r.get("anomalies") is not None}
        cursor = page.get("next_cursor")
        if not cursor:
            return v
