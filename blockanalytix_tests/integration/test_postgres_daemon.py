"""deployment/dagster.prod.yaml on a real PostgreSQL 15: CLI materialisation, a daemon-run backfill, repair."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.execution.backfill import BulkActionStatus

from blockanalytix_assets.ingest.tables import RAW_ASSETS
from blockanalytix_assets.ranges import format_key
from blockanalytix_assets.storage import Storage

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RANGE = 100
KEYS = [format_key(0, 99), format_key(100, 199), format_key(200, 299)]
BACKFILL_TIMEOUT_S = 240
TERMINAL = {
    BulkActionStatus.COMPLETED_SUCCESS,
    BulkActionStatus.COMPLETED_FAILED,
    BulkActionStatus.FAILED,
    BulkActionStatus.CANCELED,
    BulkActionStatus.COMPLETED,
}


@dataclass
class ProdHome:
    """A DAGSTER_HOME holding the production instance config, and the env every subprocess gets."""

    home: Path
    storage: Path
    env: dict[str, str]

    def run(self, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [str(BIN / args[0]), *args[1:]], cwd=REPO, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"{args} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return proc


@pytest.fixture(scope="module")
def prod_home(devnet, postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProdHome]:
    """DAGSTER_HOME = a tmp dir with deployment/dagster.prod.yaml, pointed at a fresh Postgres database."""
    base = tmp_path_factory.mktemp("prod")
    home = base / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "deployment" / "dagster.prod.yaml", home / "dagster.yaml")
    db = postgres.create_database("dagster_prod")
    env = {
        **os.environ,
        **postgres.dagster_env(db),
        "DAGSTER_HOME": str(home),
        "BLOCKANALYTIX_RPC_URL": devnet.url,
        "BLOCKANALYTIX_CHAIN_ID": str(devnet.chain_id),
        "BLOCKANALYTIX_RANGE_SIZE": str(RANGE),
        "BLOCKANALYTIX_CONFIRMATIONS": "0",
        "BLOCKANALYTIX_STORAGE": str(base / "data"),
        "BLOCKANALYTIX_HOME": str(base / "ba_home"),
        "BLOCKANALYTIX_DEPLOYMENT": "local",
    }
    with pytest.MonkeyPatch.context() as mp:
        for name in ("DAGSTER_HOME", *postgres.dagster_env(db)):
            mp.setenv(name, env[name])
        yield ProdHome(home, base / "data", env)


@pytest.fixture(scope="module")
def instance(prod_home: ProdHome) -> Iterator[dg.DagsterInstance]:
    """The Postgres-backed instance the CLI and the daemon use."""
    with dg.DagsterInstance.from_config(str(prod_home.home)) as inst:
        yield inst


def _start_daemon(prod_home: ProdHome) -> subprocess.Popen:
    log = open(prod_home.home / "daemon.log", "wb")  # noqa: SIM115 - kept open for the daemon's lifetime
    return subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=REPO,
        env=prod_home.env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop_daemon(proc: subprocess.Popen) -> None:
    """Stop the daemon's process group (its code server and any run processes included)."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@dataclass
class BackfillOutcome:
    """What the daemon did with the CLI's backfill."""

    backfill_id: str
    cli_output: dict
    status: BulkActionStatus
    seconds: float
    runs: list


@pytest.fixture(scope="module")
def daemon_backfill(prod_home: ProdHome, instance: dg.DagsterInstance) -> BackfillOutcome:
    """Sync ranges, materialise one by CLI, then run `blockanalytix backfill` through a real dagster-daemon."""
    synced = json.loads(prod_home.run("blockanalytix", "ranges", "sync").stdout)
    assert synced["added"] == len(KEYS), synced
    assert instance.get_dynamic_partitions("block_ranges") == KEYS
    prod_home.run(
        "dagster",
        "asset",
        "materialize",
        "-m",
        "blockanalytix_assets.definitions",
        "--select",
        ",".join(RAW_ASSETS),
        "--partition",
        KEYS[0],
    )
    daemon = _start_daemon(prod_home)
    try:
        out = json.loads(prod_home.run("blockanalytix", "backfill", "--from-block", "0", "--to-block", "299").stdout)
        started = time.monotonic()
        while time.monotonic() - started < BACKFILL_TIMEOUT_S:
            backfill = instance.get_backfill(out["backfill_id"])
            if backfill.status in TERMINAL:
                break
            assert daemon.poll() is None, (prod_home.home / "daemon.log").read_text()[-3000:]
            time.sleep(2)
        seconds = time.monotonic() - started
    finally:
        _stop_daemon(daemon)
    runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": out["backfill_id"]}))
    return BackfillOutcome(out["backfill_id"], out, backfill.status, seconds, list(runs))


def test_cli_materialisation_is_recorded_in_postgres(daemon_backfill, instance, prod_home: ProdHome) -> None:
    cli_runs = [
        r
        for r in instance.get_runs()
        if "dagster/backfill" not in r.tags and r.tags.get("dagster/partition") == KEYS[0]
    ]
    assert cli_runs and all(r.status == dg.DagsterRunStatus.SUCCESS for r in cli_runs)
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
    url = instance.run_storage.postgres_url
    assert url.startswith("postgresql://") and url.endswith(f":{prod_home.env['DAGSTER_PG_PORT']}/dagster_prod")


def test_daemon_completes_the_backfill_of_every_range(daemon_backfill, instance, prod_home: ProdHome) -> None:
    outcome = daemon_backfill
    assert outcome.cli_output["ranges"] == len(KEYS)
    assert (outcome.cli_output["first"], outcome.cli_output["last"]) == (KEYS[0], KEYS[-1])
    backfills = {b.backfill_id: b for b in instance.get_backfills()}
    assert outcome.backfill_id in backfills
    assert backfills[outcome.backfill_id].status == BulkActionStatus.COMPLETED_SUCCESS, (
        outcome.status,
        (prod_home.home / "daemon.log").read_text()[-4000:],
    )
    assert outcome.runs and all(r.status == dg.DagsterRunStatus.SUCCESS for r in outcome.runs)
    store = Storage(str(prod_home.storage))
    for name in RAW_ASSETS:
        assert store.keys(name) == KEYS, name
        assert instance.get_materialized_partitions(dg.AssetKey(name)) >= set(KEYS), name
    # BackfillPolicy.multi_run(10): all three ranges of the raw assets are fetched by a single run.
    raw_runs = [r for r in outcome.runs if dg.AssetKey("raw_blocks") in (r.asset_selection or set())]
    assert len(raw_runs) == 1
    tags = raw_runs[0].tags
    assert (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]) == (
        KEYS[0],
        KEYS[-1],
    )


def test_backfill_run_records_every_raw_check_per_range(daemon_backfill, instance) -> None:
    """The one raw run covers three ranges; each raw check is still recorded (in Postgres) under each range."""
    from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

    from blockanalytix_assets.definitions import build_definitions
    from blockanalytix_assets.operations.jobs import failed_check_partitions

    graph = build_definitions("local").resolve_asset_graph()
    check_keys = [k for k in graph.asset_check_keys if k.asset_key.to_user_string() in RAW_ASSETS]
    raw_run = next(r for r in daemon_backfill.runs if dg.AssetKey("raw_blocks") in (r.asset_selection or set()))
    for ck in check_keys:
        records = instance.event_log_storage.get_asset_check_execution_history(ck, limit=100)
        in_run = {rec.partition: rec.status for rec in records if rec.run_id == raw_run.run_id}
        assert in_run == dict.fromkeys(KEYS, AssetCheckExecutionRecordStatus.SUCCEEDED), ck
    assert failed_check_partitions(instance, check_keys) == {ck.to_user_string(): set() for ck in check_keys}


def test_ingest_steps_claim_the_rpc_pool(daemon_backfill, instance) -> None:
    assert "rpc" in instance.event_log_storage.get_concurrency_keys()
    info = instance.event_log_storage.get_concurrency_info("rpc")
    assert info.slot_count == 4  # default_limit in dagster.prod.yaml
    assert info.active_slot_count == 0 and info.pending_step_count == 0  # every slot was given back
    # Intervals of raw_ingest steps over every run: never more at once than the pool allows.
    spans = []
    for run in instance.get_runs():
        events = instance.all_logs(
            run.run_id,
            of_type={
                dg.DagsterEventType.STEP_START,
                dg.DagsterEventType.STEP_SUCCESS,
                dg.DagsterEventType.STEP_FAILURE,
            },
        )
        starts = [
            e.timestamp
            for e in events
            if e.step_key == "raw_ingest" and e.dagster_event_type == dg.DagsterEventType.STEP_START
        ]
        ends = [
            e.timestamp
            for e in events
            if e.step_key == "raw_ingest" and e.dagster_event_type != dg.DagsterEventType.STEP_START
        ]
        spans += list(zip(starts, ends, strict=False))
    assert len(spans) >= 2
    assert max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans) <= info.slot_count


def test_repair_job_backfills_exactly_the_missing_range(daemon_backfill, instance, prod_home: ProdHome) -> None:
    missing = format_key(300, 399)  # registered, never materialised (the daemon is stopped by now)
    instance.add_dynamic_partitions("block_ranges", [missing])
    before = {b.backfill_id for b in instance.get_backfills()}
    # As the nightly schedule does: the job runs from the code location, so the op sees the asset graph.
    prod_home.run("dagster", "job", "execute", "-m", "blockanalytix_assets.definitions", "-j", "repair_job")
    new = [b for b in instance.get_backfills() if b.backfill_id not in before]
    assert len(new) == 1
    backfill = new[0]
    assert backfill.tags.get("blockanalytix/purpose") == "repair"
    assert backfill.status == BulkActionStatus.REQUESTED
    subset = backfill.asset_backfill_data.target_subset
    for name in RAW_ASSETS:
        assert set(subset.get_partitions_subset(dg.AssetKey(name)).get_partition_keys()) == {missing}, name
    repair_runs = instance.get_runs(filters=dg.RunsFilter(job_name="repair_job"))
    assert repair_runs and repair_runs[0].status == dg.DagsterRunStatus.SUCCESS
