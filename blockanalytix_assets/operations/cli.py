"""`blockanalytix backfill --from-block A --to-block B`: a real Dagster backfill from the command line."""

from __future__ import annotations

import json

import click


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
