"""`blockanalytix backfill` and `blockanalytix ranges sync` as users run them: clear errors, no side effects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from blockanalytix_assets.ingest.tables import RAW_ASSETS
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
        for name in RAW_ASSETS:
            assert sorted(subset.get_partitions_subset(dg.AssetKey(name)).get_partition_keys()) == keys


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
