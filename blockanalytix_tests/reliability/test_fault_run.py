"""24 ranges ingested through a proxy injecting ~10% faults end byte-identical to a clean ingest."""

from __future__ import annotations

import time

import dagster as dg
import pyarrow.parquet as pq

from blockanalytix_assets.resources import RpcResource
from blockanalytix_tests.faultproxy import FAULTS, FaultProxy
from blockanalytix_tests.reliability.support import (
    clean_ingest,
    ingest,
    keys_of,
    parquet_files,
    record,
    resources,
)

RANGE, N_RANGES, PER_RUN = 10, 24, 8
RATE = 0.10
# batch_size 4 -> 2 blocks per JSON-RPC batch: ~5 requests per range, enough traffic for faults to land.
RPC = dict(batch_size=4, max_workers=2, max_retries=8, timeout_s=1.0)


def test_24_ranges_through_10_percent_faults_match_a_clean_ingest(devnet, tmp_path):
    keys = keys_of(0, N_RANGES, RANGE)
    clean, faulty = tmp_path / "clean", tmp_path / "faulty"
    clean_ingest(RpcResource(url=devnet.url, chain_id=devnet.chain_id), str(clean), keys)

    # Every kind once up front (each followed by a clean request), then random faults at RATE.
    script = [x for f in FAULTS for x in (f, None)]
    instance = dg.DagsterInstance.ephemeral()
    started = time.perf_counter()
    with FaultProxy(devnet.url, rate=RATE, seed=11, script=script, delay=2.5, retry_after=0.2) as proxy:
        res = resources(proxy.url, str(faulty), RANGE, **RPC)
        results = [ingest(keys[i : i + PER_RUN], instance, res) for i in range(0, N_RANGES, PER_RUN)]
    seconds = time.perf_counter() - started

    failed = [r.run_id for r in results if not r.success]
    restarts = sum(1 for r in results for e in r.all_events if e.event_type == dg.DagsterEventType.STEP_RESTARTED)
    survived = sum(1 for k in keys if all((faulty / a / f"{k}.parquet").exists() for a in ("raw_blocks", "raw_logs")))
    expected, got = parquet_files(clean, keys), parquet_files(faulty, keys) if not failed else {}
    rows = sum(pq.read_metadata(clean / f"{name}.parquet").num_rows for name in expected)
    identical = sum(got.get(name) == data for name, data in expected.items())
    random_faults = sum(proxy.injected.values()) - len(FAULTS)
    figures = {
        "ranges": N_RANGES,
        "ranges_survived": survived,
        "files_compared": len(expected),
        "files_identical": identical,
        "rows_compared": rows,
        "requests": proxy.requests,
        "faults_injected": sum(proxy.injected.values()),
        "faults_by_kind": dict(sorted(proxy.injected.items())),
        "random_fault_rate": round(random_faults / max(1, proxy.requests - 2 * len(FAULTS)), 3),
        "step_restarts": restarts,
        "seconds": round(seconds, 1),
    }
    record("fault_run", figures)
    print(f"\nfault run: {figures}")
    assert not failed, f"runs failed under faults: {failed}"
    assert set(proxy.injected) == set(FAULTS)
    assert survived == N_RANGES and identical == len(expected) == 4 * N_RANGES
    assert rows > 0 and figures["faults_injected"] >= 20
