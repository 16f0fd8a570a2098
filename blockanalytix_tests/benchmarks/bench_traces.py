"""Benchmark: client CPU per trace of raw_traces (fetch + map + Parquet) vs ethereum-etl 2.4.2's export_traces.

One anvil holds a chain of fan-out transactions (trace_load.py: ~3,000 traces per block). Both clients read
trace_block from that node in the same run, on a span and on one 10x longer: ours in a fresh child process
(bench_ingest's pattern: imports and fixed costs included, best of BENCH_INGEST_REPEATS), `ethereumetl
export_traces` as its CLI. CPU is each client's process CPU (rusage); anvil's serving CPU is reported apart.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from blockanalytix_tests.benchmarks.bench_ingest import ETL_VENV, REPEATS, _best, _cpu, _spawn, publish

RESULTS = Path(__file__).parent / "results" / "traces.json"
MODULE = "blockanalytix_tests.benchmarks.bench_traces"
BLOCKS, CALLS_PER_TX = 50, 200  # the large span: 50 blocks of 10 fan-out transactions, ~150,000 traces
SMALL_BLOCKS = BLOCKS // 10
TARGET_CPU_RATIO = 1.0  # ours per trace at most ethereum-etl's


def child_traces(url: str, first: int, last: int, root: str, spawned_at: float) -> dict:
    """In a fresh process: extract_range of raw_traces (trace_block) + Storage.write; rusage of this process."""
    from blockanalytix_assets import table_names as tn
    from blockanalytix_assets.ingest.extract import extract_range
    from blockanalytix_assets.ingest.rpc import RpcClient
    from blockanalytix_assets.ingest.tables import RAW_TABLES
    from blockanalytix_assets.ranges import format_key
    from blockanalytix_assets.storage import Storage

    ready = time.time()
    store, key = Storage(root), format_key(first, last)
    with RpcClient(url) as client:
        client.trace_api = "parity"
        traces = extract_range(client, first, last, tables=tuple(t for t in RAW_TABLES if t.name == tn.RAW_TRACES))
        response_bytes = client.stats()["bytes"]  # blocks and receipts included (10 transactions a block)
    store.write(tn.RAW_TRACES, key, traces[tn.RAW_TRACES])
    done, ru = time.time(), resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu_s": _cpu(ru), "user_s": ru.ru_utime, "sys_s": ru.ru_stime, "startup_s": ready - spawned_at,
            "work_s": done - ready, "wall_s": done - spawned_at, "peak_rss_mb": ru.ru_maxrss / 1024,
            "traces": traces[tn.RAW_TRACES].num_rows, "response_mb": response_bytes / 1e6,
            "arrow_mb": traces[tn.RAW_TRACES].nbytes / 1e6,
            "parquet_mb": os.path.getsize(store.path(tn.RAW_TRACES, key)) / 1e6}  # fmt: skip


def node_cpu(pid: int) -> float:
    """anvil's CPU seconds so far (user + system, from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ours(url: str, span: tuple[int, int], pid: int) -> dict:
    """One fresh-process raw_traces extract of span into a temporary storage root, with the node's CPU for it."""
    with tempfile.TemporaryDirectory(prefix="bench_traces_") as root:
        n0 = node_cpu(pid)
        out = _spawn("--traces", url, span, root, MODULE)
        return out | {"node_cpu_s": node_cpu(pid) - n0}


def ethereum_etl(url: str, span: tuple[int, int], pid: int) -> dict:
    """`ethereumetl export_traces` (its defaults: 5 workers, one block per trace_block) for span to CSV."""
    with tempfile.TemporaryDirectory(prefix="bench_etl_traces_") as d:
        out = os.path.join(d, "traces.csv")
        cmd = [str(ETL_VENV / "bin" / "ethereumetl"), "export_traces", "-s", str(span[0]), "-e", str(span[1]),
               "-p", url, "-o", out]  # fmt: skip
        c0, w0, n0 = _cpu(resource.getrusage(resource.RUSAGE_CHILDREN)), time.perf_counter(), node_cpu(pid)
        subprocess.run(cmd, check=True, capture_output=True)
        cpu, wall = _cpu(resource.getrusage(resource.RUSAGE_CHILDREN)) - c0, time.perf_counter() - w0
        with open(out) as fh:
            rows = sum(1 for _ in fh) - 1  # no field of these traces holds a newline
    return {"cpu_s": cpu, "wall_s": wall, "node_cpu_s": node_cpu(pid) - n0, "traces": rows}


def derive(r: dict) -> dict:
    """Per-trace CPU at both sizes, marginal per-trace CPU, the ratio to ethereum-etl and the growth with 10x."""
    o, e = r["ours"], r["ethereum_etl"]
    d: dict = {"traces": {s: o[s]["traces"] for s in ("small", "large")}}
    dt = o["large"]["traces"] - o["small"]["traces"]
    for name, side in (("ours", o), ("etl", e)):
        for s in ("small", "large"):
            d[f"{name}_cpu_us_per_trace_{s}"] = round(side[s]["cpu_s"] / side[s]["traces"] * 1e6, 2)
        d_side = side["large"]["traces"] - side["small"]["traces"]
        d[f"{name}_marginal_cpu_us_per_trace"] = round(
            (side["large"]["cpu_s"] - side["small"]["cpu_s"]) / d_side * 1e6, 2
        )
        d[f"{name}_cpu_growth_10x_traces"] = round(side["large"]["cpu_s"] / side["small"]["cpu_s"], 2)
        d[f"{name}_wall_s_large"] = round(side["large"]["wall_s"], 2)
        d[f"node_cpu_us_per_trace_serving_{name}"] = round(
            side["large"]["node_cpu_s"] / side["large"]["traces"] * 1e6, 2
        )
    d["cpu_ratio_ours_to_etl"] = round(d["ours_marginal_cpu_us_per_trace"] / d["etl_marginal_cpu_us_per_trace"], 3)
    d["cpu_ratio_ours_to_etl_large"] = round(o["large"]["cpu_s"] / e["large"]["cpu_s"], 3)
    d["ours_fixed_cpu_s"] = round(
        o["small"]["cpu_s"] - o["small"]["traces"] * d["ours_marginal_cpu_us_per_trace"] / 1e6, 3
    )
    d["peak_rss_mb"] = {s: round(o[s]["peak_rss_mb"], 1) for s in ("small", "large")}
    d["peak_rss_kb_per_trace"] = round((o["large"]["peak_rss_mb"] - o["small"]["peak_rss_mb"]) * 1024 / dt, 2)
    for what in ("response", "arrow", "parquet"):
        d[f"{what}_bytes_per_trace"] = round(o["large"][f"{what}_mb"] * 1e6 / o["large"]["traces"], 1)
    d["same_rows_as_etl"] = all(o[s]["traces"] == e[s]["traces"] for s in ("small", "large"))
    # mainnet: ~1e10 traces (order of magnitude, assumed); CPU hours of the client alone at the marginal cost
    d["mainnet_1e10_traces_client_cpu_hours"] = {n: round(d[f"{n}_marginal_cpu_us_per_trace"] * 1e10 / 1e6 / 3600)
                                                 for n in ("ours", "etl")}  # fmt: skip
    d["meets_targets"] = d["same_rows_as_etl"] and d["cpu_ratio_ours_to_etl"] <= TARGET_CPU_RATIO
    return d


def run() -> dict:
    """Start anvil, load the fan-out chain, measure both clients on both spans; write results/traces.json."""
    from blockanalytix_assets.devnet.anvil import Anvil
    from blockanalytix_tests.benchmarks.trace_load import load

    subprocess.run(["bash", str(Path(__file__).parent / "etl_venv.sh")], check=True, capture_output=True)
    r: dict = {"load_average_1m_before": round(os.getloadavg()[0], 2)}
    t0 = time.perf_counter()
    with Anvil(extra_args=("--gas-limit", "100000000")) as node:
        chain = load(node.url, BLOCKS, CALLS_PER_TX)
        r["chain"] = chain | {"ready_s": round(time.perf_counter() - t0, 1)}
        spans = {"small": (chain["first"], chain["first"] + SMALL_BLOCKS - 1), "large": (chain["first"], chain["last"])}
        pid = node.pid or 0
        ethereum_etl(node.url, spans["small"], pid)  # warm the node: anvil is slower on the first trace of a block
        r |= {"ours": {}, "ethereum_etl": {}, "spans": spans}
        t0 = time.perf_counter()
        for size, span in spans.items():
            r["ours"][size] = _best([ours(node.url, span, pid) for _ in range(REPEATS)])
            r["ethereum_etl"][size] = ethereum_etl(node.url, span, pid)
    r["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    figures = derive(r) | {"measure_s": round(time.perf_counter() - t0, 1), "target_cpu_ratio": TARGET_CPU_RATIO}
    return publish(RESULTS, figures, r)


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "--traces":
        url, first, last, root, spawned = sys.argv[2:]
        print(json.dumps(child_traces(url, int(first), int(last), root, float(spawned))))
    else:
        run()
