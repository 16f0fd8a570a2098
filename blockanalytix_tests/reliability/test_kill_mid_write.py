"""kill -9 of a raw_ingest materialisation inside Storage.write: no partial Parquet, identical retry."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pyarrow as pa
from dagster._core.instance import InstanceRef

from blockanalytix_assets.ingest.tables import RAW_ASSETS, TRACE_ASSETS
from blockanalytix_assets.storage import Storage
from blockanalytix_tests.reliability.support import ingest, keys_of, parquet_files, record, resources

REPO = Path(__file__).resolve().parents[2]
RANGE = 50
KEY, OTHER = keys_of(100, 2, RANGE)
HANG_AT = 2  # raw_blocks is written first, then raw_transactions: die half-way through the second
WRITTEN = (*RAW_ASSETS, *TRACE_ASSETS)  # anvil serves traces: raw_traces is written too


def _child(url: str, root: Path, home: Path, **env: str) -> subprocess.Popen:
    home.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "blockanalytix_tests.reliability.child_ingest", url, str(root), KEY, str(RANGE)],
        cwd=REPO,
        env={**os.environ, "DAGSTER_HOME": str(home), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _kill_when(proc: subprocess.Popen, marker: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if proc.poll() is not None:
            raise AssertionError(f"child exited before the write: {proc.stdout.read().decode()[-3000:]}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError("child never reached the hanging write")
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL


def test_kill_9_mid_write_leaves_no_partial_file_and_retry_is_identical(devnet, tmp_path):
    reference, root, home = tmp_path / "undisturbed", tmp_path / "killed", tmp_path / "dagster_home"
    # The undisturbed run, and a stale raw_transactions file (another range's bytes) the killed run overwrites.
    assert ingest([KEY, OTHER], dg.DagsterInstance.ephemeral(), resources(devnet.url, str(reference), RANGE)).success
    stale = (reference / "raw_transactions" / f"{OTHER}.parquet").read_bytes()
    (root / "raw_transactions").mkdir(parents=True)
    (root / "raw_transactions" / f"{KEY}.parquet").write_bytes(stale)

    marker = tmp_path / "writing"
    proc = _child(devnet.url, root, home, HANG_WRITE_AT=str(HANG_AT), HANG_MARKER=str(marker))
    _kill_when(proc, marker)

    tmp_file = Path(marker.read_text())
    hung = tmp_file.parent.name  # the tables are written concurrently: any of them may be the one hung
    assert hung in WRITTEN and tmp_file.name.startswith(f".{KEY}.parquet.")
    assert tmp_file.exists() and 0 < tmp_file.stat().st_size  # the half-written temp file survives the kill
    # Every final name holds only whole files: the old one byte for byte, none, or a complete new one.
    before = {"raw_transactions": stale}
    for name in WRITTEN:
        final = root / name / f"{KEY}.parquet"
        complete = (reference / name / f"{KEY}.parquet").read_bytes()
        if name == hung:
            assert (final.read_bytes() if final.exists() else None) == before.get(name)
        elif final.exists():
            assert final.read_bytes() in (complete, before.get(name)), name
    store = Storage(str(root))
    assert all(k == KEY for k in store.keys(hung))  # the dot-prefixed temp file is not a partition

    retry = _child(devnet.url, root, home)
    out = retry.communicate(timeout=180)[0].decode()
    assert retry.returncode == 0, out[-3000:]
    assert parquet_files(root, [KEY]) == parquet_files(reference, [KEY])
    leftovers = sorted(p.name for p in root.rglob(".*.tmp"))
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        statuses = sorted(r.status.value for r in instance.get_runs())
    record(
        "kill_mid_write",
        {"killed_in": f"{hung}/{KEY} (write #{HANG_AT})", "tmp_leftovers": leftovers,
         "retry_identical_files": len(RAW_ASSETS), "run_statuses": statuses},
    )  # fmt: skip
    print(f"\nkill -9 mid-write: final files intact, retry byte-identical ({len(RAW_ASSETS)} files); "
          f"stale temp files left: {leftovers}; runs: {statuses}")  # fmt: skip
    assert statuses.count("SUCCESS") == 1


def test_next_write_removes_stale_temp_files_of_its_key(tmp_path):
    store, table = Storage(str(tmp_path)), pa.table({"number": [1, 2]})
    store.write("raw_blocks", KEY, table)
    folder = tmp_path / "raw_blocks"
    stale, busy = folder / f".{KEY}.parquet.dead.tmp", folder / f".{KEY}.parquet.busy.tmp"
    for p in (stale, busy):
        p.write_bytes(b"PAR1 half a file")
    hours_ago = time.time() - 2 * 3600
    os.utime(stale, (hours_ago, hours_ago))
    store.write("raw_blocks", KEY, table)
    assert busy.exists()  # a concurrent writer's temp file is left alone
    assert not stale.exists()
