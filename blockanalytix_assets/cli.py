"""The `blockanalytix` command line: devnet, ranges, backfill, materialize, consistency, evaluate-accounts, serve."""

from __future__ import annotations

import importlib
import json
import sys
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from dagster import DagsterInstance

# Subcommands live with their stage and are imported only when used, so `--help` stays fast.
LAZY_COMMANDS = {
    "devnet": ("blockanalytix_assets.devnet.cli", "devnet_command", "Start anvil filled with the demo chain."),
    "evaluate-accounts": (
        "blockanalytix_assets.ml.cli",
        "evaluate_accounts_command",
        "Train and score the address risk model on a labelled account table.",
    ),
    "serve": ("blockanalytix_assets.api.cli", "serve_command", "Serve the read-only analytics API."),
    "backfill": ("blockanalytix_assets.operations.cli", "backfill_command", "Launch a Dagster backfill of blocks."),
    "materialize": (
        "blockanalytix_assets.operations.cli",
        "materialize_command",
        "Materialize assets over every registered range in one run, in this process.",
    ),
    "consistency": (
        "blockanalytix_assets.operations.cli",
        "consistency_command",
        "Check that the overview report, the API and Dagster agree on the anomalies.",
    ),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in LAZY_COMMANDS:
            module, attr, _ = LAZY_COMMANDS[name]
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(n, c.get_short_help_str()) for n, c in self.commands.items()]
        rows += [(n, help_) for n, (_, _, help_) in LAZY_COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(sorted(rows))


@click.group(cls=LazyGroup)
def main() -> None:
    """BlockAnalytix: Ethereum blocks to scored anomalies, as Dagster assets."""


@main.group()
def ranges() -> None:
    """Block-range partitions (`block_ranges`) in the Dagster instance."""


def _instance() -> DagsterInstance:
    import dagster as dg

    try:
        return dg.DagsterInstance.get()
    except Exception as exc:  # DAGSTER_HOME unset or invalid
        raise click.ClickException(
            f"No Dagster instance: {exc}. Set DAGSTER_HOME to the folder holding dagster.yaml "
            "(`make demo` uses .blockanalytix/dagster_home)."
        ) from None


@ranges.command("sync")
@click.option("--dry-run", is_flag=True, help="Print the keys that would be added, add nothing.")
def ranges_sync(dry_run: bool) -> None:
    """Register every complete range at or below head - BLOCKANALYTIX_CONFIRMATIONS as a partition."""
    from blockanalytix_assets.ingest.rpc import RpcClient
    from blockanalytix_assets.ingest.rpc_errors import RpcError
    from blockanalytix_assets.ingest.sensors import new_range_keys
    from blockanalytix_assets.partitions import BLOCK_RANGES
    from blockanalytix_assets.settings import Settings

    s = Settings.from_env()
    try:
        client = RpcClient(s.rpc_url)
        client.check_chain_id(s.chain_id)
        head = client.block_number()
    except RpcError as exc:
        raise click.ClickException(str(exc)) from None
    instance = _instance()
    existing = set(instance.get_dynamic_partitions(BLOCK_RANGES))
    new_keys = new_range_keys(head, existing, s.range_size, s.confirmations, s.start_block)
    if not dry_run and new_keys:
        instance.add_dynamic_partitions(BLOCK_RANGES, new_keys)
    click.echo(
        json.dumps(
            {
                "head": head,
                "added": len(new_keys),
                "total": len(existing) + len(new_keys),
                "first_new": new_keys[0] if new_keys else None,
                "last_new": new_keys[-1] if new_keys else None,
                "dry_run": dry_run,
            }
        )
    )


@ranges.command("list")
def ranges_list() -> None:
    """Print the registered partition keys, one per line."""
    from blockanalytix_assets.partitions import BLOCK_RANGES

    for key in _instance().get_dynamic_partitions(BLOCK_RANGES):
        click.echo(key)


if __name__ == "__main__":
    sys.exit(main())
