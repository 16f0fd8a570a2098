"""Benchmark: client CPU, wall time and memory of ingesting block ranges vs ethereum-etl 2.4.2 and a bare fetch.

One anvil holds the devnet scenario of 600 blocks x ~100 transactions. Every run of ours is a fresh child
process (imports and fixed costs included); ethereum-etl runs its four CLI steps in .etl-venv; the bare
fetch posts the same JSON-RPC batches and only parses the bytes with orjson: the floor the node sets.
Only the standard library is imported at module level, so a child's import cost is its own.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).parent / "results" / "ingest.json"
ETL_VENV = ROOT / ".etl-venv"
MODULE = "blockanalytix_tests.benchmarks.bench_ingest"
SMALL, LARGE = (0, 99), (0, 599)  # the devnet head is block 600; block 0 is genesis
REPEATS = int(os.environ.get("BENCH_INGEST_REPEATS", "2"))  # best of, for ours and the bare fetch
TARGET_CPU_RATIO, TARGET_WALL_RATIO = 0.2, 1.3
HEAVY = ("tensorflow", "keras", "mlflow", "torch", "jax")  # must stay out of an ingest step's imports
OTHER = ("sklearn", "plotly", "pandas", "eth_abi")  # reported, not a target


def _cpu(ru: resource.struct_rusage) -> float:
    return ru.ru_utime + ru.ru_stime


def child_ours(url: str, first: int, last: int, root: str, spawned_at: float) -> dict:
    """In a fresh process: extract_range + Storage.write of the four tables; rusage of this process."""
    from blockanalytix_assets.ingest.extract import extract_range
    from blockanalytix_assets.ingest.rpc import RpcClient
    from blockanalytix_assets.ranges import format_key
    from blockanalytix_assets.storage import Storage

    ready = time.time()
    store, key = Storage(root), format_key(first, last)
    with RpcClient(url) as client:
        tables = extract_range(client, first, last)
    for name, table in tables.items():
        store.write(name, key, table)
    done, ru = time.time(), resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu_s": _cpu(ru), "startup_s": ready - spawned_at, "work_s": done - ready, "wall_s": done - spawned_at,
            "user_s": ru.ru_utime, "sys_s": ru.ru_stime, "peak_rss_mb": ru.ru_maxrss / 1024,
            "rows": {n: t.num_rows for n, t in tables.items()},
            "parquet_mb": {n: os.path.getsize(store.path(n, key)) / 1e6 for n in tables}}  # fmt: skip


def child_dagster(url: str, first: int, last: int, root: str, spawned_at: float) -> dict:
    """In a fresh process: load the code location and materialise raw_ingest for one partition."""
    import dagster as dg

    import blockanalytix_assets.definitions  # noqa: F401  (what a step pod loads before it runs anything)
    from blockanalytix_assets.ingest.assets import raw_ingest
    from blockanalytix_assets.ranges import format_key
    from blockanalytix_assets.resources import PipelineSettings, RpcResource, StorageResource

    loaded, other_loaded = time.time(), [m for m in OTHER if m in sys.modules]
    key, size = format_key(first, last), last - first + 1
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("block_ranges", [key])
    resources = {"rpc": RpcResource(url=url, chain_id=31337), "storage": StorageResource(root=root),
                 "settings": PipelineSettings(range_size=size, confirmations=0, home=root)}  # fmt: skip
    result = dg.materialize([raw_ingest], partition_key=key, instance=instance, resources=resources)
    done, ru = time.time(), resource.getrusage(resource.RUSAGE_SELF)
    return {"success": result.success, "cpu_s": _cpu(ru), "wall_s": done - spawned_at,
            "import_definitions_s": loaded - spawned_at, "materialize_s": done - loaded,
            "peak_rss_mb": ru.ru_maxrss / 1024,
            "heavy_modules_after_run": [m for m in HEAVY if m in sys.modules],
            "other_modules_after_import": other_loaded}  # fmt: skip


def _spawn(mode: str, url: str, span: tuple[int, int], root: str, module: str = MODULE) -> dict:
    """Run module's child `mode` in a fresh interpreter; its last stdout line is the JSON it measured."""
    args = [sys.executable, "-m", module, mode, url, *map(str, span), root]
    spawned_at = time.time()
    out = subprocess.run([*args, repr(spawned_at)], cwd=ROOT, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{mode} {span} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _best(runs: list[dict]) -> dict:
    """The last run with every timing replaced by its minimum over runs (the machine is shared)."""
    timed = ("cpu_s", "user_s", "sys_s", "startup_s", "work_s", "wall_s", "peak_rss_mb", "import_definitions_s")
    return runs[-1] | {k: min(r[k] for r in runs) for k in timed if k in runs[-1]} | {"repeats": len(runs)}


def ours(url: str, span: tuple[int, int]) -> dict:
    """One fresh-process ingest of span into a temporary storage root."""
    with tempfile.TemporaryDirectory(prefix="bench_ingest_") as root:
        return _spawn("--ours", url, span, root)


def ethereum_etl(url: str, span: tuple[int, int]) -> dict:
    """ethereum-etl's four default steps for span; client CPU from RUSAGE_CHILDREN deltas."""
    etl = str(ETL_VENV / "bin" / "ethereumetl")
    with tempfile.TemporaryDirectory(prefix="bench_etl_") as d:
        f = {n: os.path.join(d, n) for n in ("blocks.csv", "txs.csv", "hashes.txt", "receipts.csv", "logs.csv",
                                              "token_transfers.csv")}  # fmt: skip
        steps = {
            "export_blocks_and_transactions": ["-s", str(span[0]), "-e", str(span[1]), "-p", url, "--blocks-output",
                                               f["blocks.csv"], "--transactions-output", f["txs.csv"]],
            "extract_csv_column": ["-i", f["txs.csv"], "-c", "hash", "-o", f["hashes.txt"]],
            "export_receipts_and_logs": ["--transaction-hashes", f["hashes.txt"], "-p", url,
                                         "--receipts-output", f["receipts.csv"], "--logs-output", f["logs.csv"]],
            "extract_token_transfers": ["--logs", f["logs.csv"], "-o", f["token_transfers.csv"]],
        }  # fmt: skip
        out: dict = {"steps": {}}
        cpu0, wall0 = _cpu(resource.getrusage(resource.RUSAGE_CHILDREN)), time.perf_counter()
        for name, args in steps.items():
            c, w = _cpu(resource.getrusage(resource.RUSAGE_CHILDREN)), time.perf_counter()
            subprocess.run([etl, name, *args], check=True, capture_output=True)
            out["steps"][name] = {"cpu_s": _cpu(resource.getrusage(resource.RUSAGE_CHILDREN)) - c,
                                  "wall_s": time.perf_counter() - w}  # fmt: skip
        out |= {"cpu_s": _cpu(resource.getrusage(resource.RUSAGE_CHILDREN)) - cpu0,
                "wall_s": time.perf_counter() - wall0}  # fmt: skip
        out["transactions"] = len(Path(f["hashes.txt"]).read_text().split())
        out["token_transfers"] = len(Path(f["token_transfers.csv"]).read_text().splitlines()) - 1
    return out


def bare_fetch(url: str, span: tuple[int, int], batch_size: int = 100, workers: int = 4) -> dict:
    """The same batches as RpcClient (block + block receipts, 100 calls, 4 in flight), bytes + orjson only."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import orjson
    import requests

    calls = []
    for n in range(span[0], span[1] + 1):
        calls += [
            {"jsonrpc": "2.0", "id": 2 * n, "method": "eth_getBlockByNumber", "params": [hex(n), True]},
            {"jsonrpc": "2.0", "id": 2 * n + 1, "method": "eth_getBlockReceipts", "params": [hex(n)]},
        ]
    local = threading.local()

    def post(chunk: list[dict]) -> int:
        if not hasattr(local, "s"):
            local.s = requests.Session()
        body = local.s.post(url, data=orjson.dumps(chunk), headers={"Content-Type": "application/json"}).content
        assert len(orjson.loads(body)) == len(chunk)
        return len(body)

    c0, w0 = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(workers) as ex:
        nbytes = sum(ex.map(post, [calls[i : i + batch_size] for i in range(0, len(calls), batch_size)]))
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    return {"wall_s": wall, "cpu_s": cpu, "calls": len(calls), "response_mb": nbytes / 1e6}


def derive(r: dict) -> dict:
    """Marginal per-transaction costs, fixed costs, ratios and scaling figures from the raw measurements."""
    s, b = r["ours"]["small"], r["ours"]["large"]
    tx_s, tx_b = s["rows"]["raw_transactions"], b["rows"]["raw_transactions"]
    dtx = tx_b - tx_s
    cpu_tx, wall_tx = (b["cpu_s"] - s["cpu_s"]) / dtx, (b["wall_s"] - s["wall_s"]) / dtx
    e_s, e_b = r["ethereum_etl"]["small"], r["ethereum_etl"]["large"]
    etl_cpu_tx = (e_b["cpu_s"] - e_s["cpu_s"]) / (e_b["transactions"] - e_s["transactions"])
    bare = r["bare_fetch"]["large"]
    blocks_b = LARGE[1] - LARGE[0] + 1
    dag = r["dagster_partition_run"]
    d = {
        "transactions": {"small": tx_s, "large": tx_b}, "tx_per_block": round(tx_b / blocks_b, 1),
        "ours_marginal_cpu_us_per_tx": round(cpu_tx * 1e6, 1),
        "ours_marginal_wall_us_per_tx": round(wall_tx * 1e6, 1),
        "etl_marginal_cpu_us_per_tx": round(etl_cpu_tx * 1e6, 1),
        "cpu_ratio_ours_to_etl": round(cpu_tx / etl_cpu_tx, 3),
        "bare_fetch_cpu_us_per_tx": round(bare["cpu_s"] / tx_b * 1e6, 1),
        "ours_fixed_cpu_s": round(s["cpu_s"] - tx_s * cpu_tx, 3),
        "ours_fixed_wall_s": round(s["wall_s"] - tx_s * wall_tx, 3),
        "dagster_fixed_wall_s_per_partition_run": round(dag["wall_s"] - tx_s * wall_tx, 3),
        "wall_ratio_ours_to_bare_fetch": round(b["work_s"] / bare["wall_s"], 3),
        "wall_ratio_paired_median": statistics.median(b["paired_wall_ratios"]),
        "wall_ratio_etl_to_bare_fetch": round(e_b["wall_s"] / bare["wall_s"], 3),
        "peak_rss_mb": {"small": round(s["peak_rss_mb"], 1), "large": round(b["peak_rss_mb"], 1)},
        "peak_rss_mb_per_1k_tx": round((b["peak_rss_mb"] - s["peak_rss_mb"]) / dtx * 1000, 2),
        "parquet_mb_per_1k_tx": {n: round(v / tx_b * 1000, 4) for n, v in b["parquet_mb"].items()},
        "json_kb_per_block": round(bare["response_mb"] * 1000 / blocks_b, 1),
        "json_kb_per_tx": round(bare["response_mb"] * 1000 / tx_b, 3),
        "node_calls_per_s": round(bare["calls"] / bare["wall_s"], 1),
        "node_tx_per_s": round(tx_b / bare["wall_s"]),
        "heavy_modules_in_ingest_run": dag["heavy_modules_after_run"],
        "dagster_import_definitions_s": round(dag["import_definitions_s"], 2),
    }  # fmt: skip
    d["meets_targets"] = (d["cpu_ratio_ours_to_etl"] <= TARGET_CPU_RATIO
                          and d["wall_ratio_ours_to_bare_fetch"] <= TARGET_WALL_RATIO
                          and not d["heavy_modules_in_ingest_run"] and dag["success"])  # fmt: skip
    return d


def run() -> dict:
    """Start the devnet, measure everything, stop it; print figures and write results/ingest.json."""
    from blockanalytix_assets.devnet.chain import cache_files, start_chain
    from blockanalytix_assets.devnet.world import ScenarioConfig
    from blockanalytix_assets.settings import Settings

    subprocess.run(["bash", str(Path(__file__).parent / "etl_venv.sh")], check=True, capture_output=True)
    config = ScenarioConfig(seed=7, blocks=600, txs_per_block=100)
    t0 = time.perf_counter()
    chain = start_chain(config, cache_files(Settings.from_env().home, config))
    r: dict = {"chain_ready_s": round(time.perf_counter() - t0, 1), "chain_generated": chain.generated,
               "load_average_1m_before": round(os.getloadavg()[0], 2)}  # fmt: skip
    t0 = time.perf_counter()
    try:
        url = chain.url
        bare_fetch(url, LARGE)  # warm the node: anvil is slower on the first read of a loaded state
        r |= {"bare_fetch": {}, "ours": {}, "ethereum_etl": {}}
        for size, span in (("small", SMALL), ("large", LARGE)):
            # Interleaved, so that the bare fetch and ours see the same load on this shared machine.
            pairs = [(bare_fetch(url, span), ours(url, span)) for _ in range(REPEATS)]
            r["bare_fetch"][size], r["ours"][size] = _best([p[0] for p in pairs]), _best([p[1] for p in pairs])
            r["ours"][size]["paired_wall_ratios"] = [round(o["work_s"] / b["wall_s"], 3) for b, o in pairs]
            r["ethereum_etl"][size] = ethereum_etl(url, span)
        dagster_runs = []
        for _ in range(REPEATS):
            with tempfile.TemporaryDirectory(prefix="bench_dagster_") as root:
                dagster_runs.append(_spawn("--dagster", url, SMALL, root))
        r["dagster_partition_run"] = _best(dagster_runs)
    finally:
        chain.anvil.stop()
    r["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    figures = derive(r) | {"measure_s": round(time.perf_counter() - t0, 1)}
    targets = {"cpu_ratio_ours_to_etl": TARGET_CPU_RATIO, "wall_ratio_ours_to_bare_fetch": TARGET_WALL_RATIO}
    figures |= {"targets": targets, "ranges": {"small": SMALL, "large": LARGE}}
    return publish(RESULTS, figures, r)


def publish(path: Path, figures: dict, raw: dict) -> dict:
    """Print the figures, then write them with the machine and the raw measurements to path as JSON."""
    from blockanalytix_assets.devnet.anvil import anvil_version, find_anvil

    for k, v in figures.items():
        print(f"{k:>42}: {v}")
    figures |= {"cpu_count": os.cpu_count(), "python": sys.version.split()[0], "node": anvil_version(find_anvil()),
                "raw": raw}  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2, default=float) + "\n")
    return figures


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] in ("--ours", "--dagster"):
        fn = child_ours if sys.argv[1] == "--ours" else child_dagster
        url, first, last, root, spawned = sys.argv[2:]
        print(json.dumps(fn(url, int(first), int(last), root, float(spawned))))
    else:
        run()
