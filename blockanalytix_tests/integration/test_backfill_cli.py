"""`blockanalytix backfill` and `blockanalytix ranges sync` as users run them: clear errors, no side effects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from blockanalytix_assets.ingest.tables import RAW_ASSETS, TRACE_ASSETS
from blockanalytix_assets.ranges import format_key

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).with_name("blockanalytix"))


@pytest.fixture
def cli_env(devnet, tmp_path: Path) -> dict[str, str]:
    """Env of a user with a SQLite DAGSTER_HOME, the devnet as RPC node and 100-block ranges."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "BLOCKANALYTIX_RPC_URL": devnet.url,
        "BLOCKANALYTIX_CHAIN_ID": str(devnet.chain_id),
        "BLOCKANALYTIX_RANGE_SIZE": "100",
        "BLOCKANALYTIX_CONFIRMATIONS": "0",
        "BLOCKANALYTIX_STORAGE": str(tmp_path / "data"),
        "BLOCKANALYTIX_HOME": str(tmp_path / "ba_home"),
    }


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def _backfills(env: dict[str, str]) -> list:
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        return list(instance.get_backfills())


def test_inverted_block_range_is_a_usage_error(cli_env: dict[str, str]) -> None:
    proc = _cli(cli_env, "backfill", "--from-block", "10", "--to-block", "5")
    assert proc.returncode == 2, proc.stderr
    assert "--from-block 10 / --to-block 5" in proc.stderr and "0 <= from <= to" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert _backfills(cli_env) == []


def test_backfill_registers_covering_ranges_and_submits_one_backfill(cli_env: dict[str, str]) -> None:
    proc = _cli(cli_env, "backfill", "--from-block", "150", "--to-block", "250")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    keys = [format_key(100, 199), format_key(200, 299)]
    assert (out["ranges"], out["first"], out["last"]) == (2, keys[0], keys[1])
    with dg.DagsterInstance.from_config(cli_env["DAGSTER_HOME"]) as instance:
        assert instance.get_dynamic_partitions("block_ranges") == keys
        (backfill,) = instance.get_backfills()
        assert backfill.backfill_id == out["backfill_id"]
        subset = backfill.asset_backfill_data.target_subset
        for name in [*RAW_ASSETS, *TRACE_ASSETS]:  # BLOCKANALYTIX_TRACES=auto, and anvil serves trace_block
            assert sorted(subset.get_partitions_subset(dg.AssetKey(name)).get_partition_keys()) == keys
    assert out["traces"] is True


def test_backfill_with_traces_off_leaves_the_trace_tables_out(cli_env: dict[str, str]) -> None:
    proc = _cli({**cli_env, "BLOCKANALYTIX_TRACES": "off"}, "backfill", "--from-block", "0", "--to-block", "99")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["traces"] is False
    (backfill,) = _backfills(cli_env)
    targets = {k.to_user_string() for k in backfill.asset_backfill_data.target_subset.asset_keys}
    assert set(RAW_ASSETS) <= targets and not targets & set(TRACE_ASSETS)


def test_ranges_sync_against_the_wrong_chain_fails_clearly(cli_env: dict[str, str], devnet) -> None:
    proc = _cli({**cli_env, "BLOCKANALYTIX_CHAIN_ID": "1"}, "ranges", "sync")
    assert proc.returncode == 1
    assert f"serves chain id {devnet.chain_id}, but BLOCKANALYTIX_CHAIN_ID is 1" in proc.stderr
    assert "Traceback" not in proc.stderr
    with dg.DagsterInstance.from_config(cli_env["DAGSTER_HOME"]) as instance:
        assert instance.get_dynamic_partitions("block_ranges") == []
    ok = _cli(cli_env, "ranges", "sync")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["added"] == (devnet.head + 1) // 100


def test_materialize_runs_every_range_and_an_unpartitioned_asset_in_one_run(cli_env: dict[str, str], devnet) -> None:
    """`blockanalytix materialize` (the demo's first fill): one run over all registered ranges, in the CLI process."""
    assert _cli(cli_env, "ranges", "sync").returncode == 0
    select = ",".join([*RAW_ASSETS, "cleaned_transactions", "quarantined_transactions", "transaction_index"])
    proc = _cli(cli_env, "materialize", "--select", select)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)  # one JSON line; the run's log goes to stderr
    keys = [format_key(f, f + 99) for f in range(0, devnet.head + 1 - 99, 100)]
    assert (out["ranges"], out["first"], out["last"]) == (len(keys), keys[0], keys[-1])
    with dg.DagsterInstance.from_config(cli_env["DAGSTER_HOME"]) as instance:
        (run,) = instance.get_runs()
        assert run.run_id == out["run_id"] and run.tags["dagster/asset_partition_range_end"] == keys[-1]
        for name in [*RAW_ASSETS, "cleaned_transactions"]:
            assert instance.get_materialized_partitions(dg.AssetKey(name)) == set(keys), name
        assert instance.get_latest_materialization_event(dg.AssetKey("transaction_index")).run_id == run.run_id
        checks = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("cleaned_transactions"), "cleaned_transactions_hash_unique"), limit=100
        )
        assert sorted(c.partition for c in checks) == keys and {c.status.value for c in checks} == {"SUCCEEDED"}


def test_materialize_names_an_unknown_asset_and_times_out_clearly(cli_env: dict[str, str]) -> None:
    proc = _cli(cli_env, "materialize", "--select", "raw_blocks,no_such_asset")
    assert proc.returncode == 2 and "no such asset: no_such_asset" in proc.stderr and "Traceback" not in proc.stderr
    proc = _cli(cli_env, "materialize", "--select", "transaction_index", "--after", "cleaned_transactions",
                "--ranges", "2", "--timeout", "1")  # fmt: skip
    assert proc.returncode == 1 and "timed out waiting for {'cleaned_transactions': 0} (0/2 ranges)" in proc.stderr
    with dg.DagsterInstance.from_config(cli_env["DAGSTER_HOME"]) as instance:
        assert list(instance.get_runs()) == []
