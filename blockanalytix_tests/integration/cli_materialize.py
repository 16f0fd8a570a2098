"""`dagster asset materialize --partition KEY` of an ingest selection against a node, in a fresh DAGSTER_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# issue 12's ingest selection, by name: users' scripts run exactly this
INGEST_SELECTION = "raw_blocks,raw_transactions,raw_logs,token_transfers,raw_traces,contracts,tokens"


def materialize_cli(url: str, home: Path, key: str, range_size: int, selection: str) -> Path:
    """Run the CLI over one partition (storage under home/data); returns home. Fails with the CLI's stderr."""
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "BLOCKANALYTIX_RPC_URL": url,
        "BLOCKANALYTIX_STORAGE": str(home / "data"),
        "BLOCKANALYTIX_HOME": str(home),
        "BLOCKANALYTIX_RANGE_SIZE": str(range_size),
        "BLOCKANALYTIX_CONFIRMATIONS": "0",
        "BLOCKANALYTIX_TRACES": "auto",
    }
    add = f"import dagster as dg; dg.DagsterInstance.get().add_dynamic_partitions('block_ranges', ['{key}'])"
    subprocess.run([sys.executable, "-c", add], env=env, check=True, cwd=REPO)
    dagster = Path(sys.executable).parent / "dagster"
    cmd = [str(dagster), "asset", "materialize", "-m", "blockanalytix_assets.definitions"]
    done = subprocess.run([*cmd, "--select", selection, "--partition", key], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return home
