"""`blockanalytix backfill`, `materialize` and `consistency`: Dagster runs and checks from the command line."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from blockanalytix_assets.operations.consistency import Views, problems, range_count

# What the model steps import first (Keras, TensorFlow, MLflow, scikit-learn): `materialize --after` imports them
# while it waits.
WARM_MODULES = ("blockanalytix_assets.ml.training", "blockanalytix_assets.ml.scoring")

if TYPE_CHECKING:
    from dagster import AssetKey, DagsterInstance
    from dagster._core.definitions.assets.graph.asset_graph import AssetGraph


@click.command("backfill")
@click.option("--from-block", "from_block", type=int, required=True, help="First block (inclusive).")
@click.option("--to-block", "to_block", type=int, required=True, help="Last block (inclusive).")
def backfill_command(from_block: int, to_block: int) -> None:
    """Launch one backfill of every range covering the blocks; the daemon runs it (UI: Backfills)."""
    import dagster as dg

    from blockanalytix_assets.definitions import defs
    from blockanalytix_assets.operations.jobs import launch_backfill, traces_wanted
    from blockanalytix_assets.operations.repair import keys_for_blocks
    from blockanalytix_assets.resources import RpcResource
    from blockanalytix_assets.settings import Settings

    s = Settings.from_env()
    try:
        keys = keys_for_blocks(from_block, to_block, s.range_size)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    rpc = RpcResource(url=s.rpc_url, chain_id=s.chain_id, traces=s.traces, max_retries=2)  # a down node: no long wait
    traces = traces_wanted(rpc, from_block)
    instance = dg.DagsterInstance.get()
    backfill_id = launch_backfill(instance, defs.resolve_asset_graph(), keys, title="cli backfill", traces=traces)
    out = {"backfill_id": backfill_id, "ranges": len(keys), "first": keys[0], "last": keys[-1], "traces": traces}
    click.echo(json.dumps(out))


@click.command("materialize")
@click.option("--select", required=True, help="Comma-separated asset keys (partitioned ones or not).")
@click.option("--after", default="", help="Comma-separated assets: first wait until each has every range.")
@click.option("--ranges", "min_ranges", type=int, default=1, show_default=True, help="Wait for this many ranges.")
@click.option("--timeout", type=float, default=900.0, show_default=True, help="Seconds --after may wait.")
def materialize_command(select: str, after: str, min_ranges: int, timeout: float) -> None:
    """One run, in this process, of the selected assets over every registered range.

    Unlike `dagster asset materialize --partition-range` it takes assets whose backfill policy is not single_run
    and mixes them with unpartitioned ones: `make demo` trains the models and then scores, reports and renders
    the overview in the same run, instead of waiting for automation and the backfill daemon. With --after it
    starts early: it imports the model stack while the inputs land, then runs. The JSON line goes to stdout, the
    run's log (and Keras' and MLflow's progress) to stderr."""
    import contextlib
    import os
    import sys

    import dagster as dg
    from dagster._core.definitions.reconstruct import ReconstructableRepository
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    from blockanalytix_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    selection, inputs = _asset_keys(graph, select, "--select"), _asset_keys(graph, after, "--after")
    instance = dg.DagsterInstance.get()
    warm = any(graph.get(k).group_name == "ml" for k in selection)  # the model stack: worth importing early
    keys = _wait_for_inputs(instance, inputs, min_ranges, timeout, warm) if inputs else _ranges(instance)
    if not keys:
        raise click.ClickException("no registered block ranges: run `blockanalytix ranges sync` first")
    tags = {ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1]}
    # The implicit asset job (__ASSET_JOB) of the `defs` module, as `dagster asset materialize -m` reconstructs it.
    repo = ReconstructableRepository.for_module("blockanalytix_assets.definitions", "defs", os.getcwd())
    job = repo.get_reconstructable_job(defs.resolve_implicit_global_asset_job_def().name)
    with contextlib.redirect_stdout(sys.stderr):
        result = dg.execute_job(job, instance, asset_selection=selection, tags=tags)
    if not result.success:
        raise click.ClickException(f"run {result.run_id} failed")
    click.echo(json.dumps({"run_id": result.run_id, "ranges": len(keys), "first": keys[0], "last": keys[-1]}))


def _asset_keys(graph: AssetGraph, csv: str, option: str) -> list[AssetKey]:
    import dagster as dg

    keys = [dg.AssetKey.from_user_string(k.strip()) for k in csv.split(",") if k.strip()]
    unknown = [k.to_user_string() for k in keys if not graph.has(k)]
    if unknown:
        raise click.BadParameter(f"no such asset: {', '.join(unknown)}", param_hint=option)
    return keys


def _ranges(instance: DagsterInstance) -> list[str]:
    """Registered ranges in registration order: the order a partition range resolves over."""
    from blockanalytix_assets.partitions import BLOCK_RANGES

    return list(instance.get_dynamic_partitions(BLOCK_RANGES))


def _wait_for_inputs(
    instance: DagsterInstance, assets: list[AssetKey], min_ranges: int, timeout: float, warm: bool
) -> list[str]:
    """Poll until min_ranges are registered and every asset has each of them (with warm, import the model stack
    first: Keras and TensorFlow take ~10 s that the run then does not wait for)."""
    import importlib
    import time

    for module in WARM_MODULES if warm else ():
        importlib.import_module(module)
    deadline = time.monotonic() + timeout
    while True:
        keys = _ranges(instance)
        missing = {a.to_user_string(): len(set(keys) - instance.get_materialized_partitions(a)) for a in assets}
        if len(keys) >= min_ranges and not any(missing.values()):
            return keys
        if time.monotonic() >= deadline:
            raise click.ClickException(f"timed out waiting for {missing} ({len(keys)}/{min_ranges} ranges)")
        time.sleep(2)


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
