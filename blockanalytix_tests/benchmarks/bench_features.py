"""Benchmark: clean + transaction/address features of a 1,000,000-transaction partition vs the I/O floor.

The partition is synthetic but chain-shaped (1,000 blocks x 1,000 txs, Zipf-like address activity, 25%
contract calls, ERC-20 transfers, a few creations and failures), written as raw Parquet with Storage.
The measurement runs in a fresh child process so that its peak RSS is the pipeline's own.
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

import numpy as np
import pyarrow as pa

from blockanalytix_assets.features.address import TOKEN_COLUMNS, TX_COLUMNS, address_features
from blockanalytix_assets.features.transaction import transaction_features
from blockanalytix_assets.ingest.schema import BLOCKS, TRANSACTIONS, TRANSFER_EVENTS
from blockanalytix_assets.ingest.token_mapping import scaled
from blockanalytix_assets.storage import Storage
from blockanalytix_assets.transform.cleaning import TRANSFER_COLUMNS, clean_transactions

RESULTS = Path(__file__).parent / "results" / "features.json"
KEY = "000000000-000000999"
N_BLOCKS, PER_BLOCK = 1000, 1000
TARGET_RATIO, TARGET_PEAK_GB = 4.0, 3.0


def _hex(rng: np.random.Generator, n: int, nbytes: int) -> np.ndarray:
    raw = rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
    return np.array(["0x" + r.tobytes().hex() for r in raw], dtype=object)


def make_partition(root: str, n_tx: int = N_BLOCKS * PER_BLOCK, seed: int = 1) -> None:
    """Write raw_transactions, raw_blocks and token_transfers of one synthetic range under root."""
    rng = np.random.default_rng(seed)
    per_block = n_tx // N_BLOCKS
    addresses = _hex(rng, 200_000, 20)
    pick = np.minimum(rng.zipf(1.3, size=2 * n_tx) - 1, len(addresses) - 1)
    blocks = np.repeat(np.arange(N_BLOCKS), per_block)
    kind = rng.random(n_tx)
    creation, call = kind < 0.002, (kind >= 0.002) & (kind < 0.25)
    to = addresses[pick[n_tx:]].copy()
    to[creation] = None
    calldata = np.where(call, "0xa9059cbb" + "00" * 64, "0x")
    price = rng.integers(10**9, 50 * 10**9, size=n_tx)
    gas_used = np.where(call, 60_000, 21_000)
    hashes = _hex(rng, n_tx, 32)
    txs = pa.table(
        {
            "hash": hashes, "nonce": rng.integers(0, 5000, n_tx), "block_number": blocks,
            "transaction_index": np.tile(np.arange(per_block), N_BLOCKS),
            "from_address": addresses[pick[:n_tx]],
            "to_address": pa.array(to, pa.string()), "value": pa.array(rng.integers(0, 10**18, n_tx)).cast(
                TRANSACTIONS.field("value").type), "gas": gas_used * 2, "gas_price": price,
            "input": calldata, "block_timestamp": 1_700_000_000 + 12 * blocks,
            "transaction_type": np.full(n_tx, 2),
            "receipt_gas_used": gas_used, "receipt_status": (rng.random(n_tx) > 0.02).astype(np.int64),
            "receipt_effective_gas_price": price,
        }
    )  # fmt: skip
    txs = pa.Table.from_arrays(
        [txs.column(f.name) if f.name in txs.column_names else pa.nulls(n_tx, f.type) for f in TRANSACTIONS],
        schema=TRANSACTIONS,
    )
    n_tt = int(call.sum())
    tokens = _hex(rng, 50, 20)
    tt = pa.table(
        {
            "token_address": tokens[rng.integers(0, 50, n_tt)], "from_address": addresses[pick[:n_tx]][call],
            "to_address": addresses[rng.integers(0, len(addresses), n_tt)],
            "value": pa.array(rng.integers(1, 10**9, n_tt) * 10**9).cast(pa.string()),
            "transaction_hash": hashes[call], "log_index": np.zeros(n_tt, dtype=np.int64),
            "block_number": blocks[call], "token_standard": pa.array(["erc20"] * n_tt, pa.string()),
        }
    ).cast(TRANSFER_EVENTS)  # fmt: skip
    tt = scaled(tt, dict.fromkeys(tt.column("token_address").to_pylist(), 18))
    bl = {"number": np.arange(N_BLOCKS), "base_fee_per_gas": np.full(N_BLOCKS, 10**9)}
    bl_table = pa.Table.from_arrays(
        [pa.array(bl[f.name]) if f.name in bl else pa.nulls(N_BLOCKS, f.type) for f in BLOCKS], schema=BLOCKS
    )
    store = Storage(root)
    store.write("raw_transactions", KEY, txs)
    store.write("raw_blocks", KEY, bl_table)
    store.write("token_transfers", KEY, tt)


def _pipeline(store: Storage, out: Storage) -> tuple[dict, dict]:
    """One clean + features pass: stage timings and the output tables."""
    t0 = time.perf_counter()
    raw = store.read("raw_transactions", KEY)
    blocks = store.read("raw_blocks", KEY, columns=["number", "base_fee_per_gas"])
    tt = store.read("token_transfers", KEY)
    t = {"read_inputs_s": time.perf_counter() - t0}
    t1 = time.perf_counter()
    res = clean_transactions(raw, 0, N_BLOCKS - 1, blocks, tt.select(TRANSFER_COLUMNS))
    t["clean_s"] = time.perf_counter() - t1
    del raw
    t1 = time.perf_counter()
    tf = transaction_features(res.cleaned)
    t["transaction_features_s"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    af = address_features(res.cleaned.select(TX_COLUMNS), tt.select(TOKEN_COLUMNS))
    t["address_features_s"] = time.perf_counter() - t1
    tables = {"cleaned_transactions": res.cleaned, "quarantined_transactions": res.quarantined,
              "transaction_features": tf, "address_features": af}  # fmt: skip
    t1 = time.perf_counter()
    for name, table in tables.items():
        out.write(name, KEY, table)
    t["write_outputs_s"] = time.perf_counter() - t1
    t["total_s"] = time.perf_counter() - t0
    return t, tables


def measure(root: str, repeats: int = 3) -> dict:
    """Best of `repeats` (the machine is shared): the pipeline vs its I/O floor on the same partition.

    io_floor_s = reading the inputs + writing the same output tables (the step's unavoidable Parquet I/O);
    raw_copy_s = reading the raw tables and writing them back unchanged.
    """
    store, out, copy = Storage(root), Storage(os.path.join(root, "out")), Storage(os.path.join(root, "copy"))
    best: dict[str, float] = {}
    for _ in range(repeats):
        t0 = time.perf_counter()
        for asset in ("raw_transactions", "raw_blocks", "token_transfers"):
            copy.write(asset, KEY, store.read(asset, KEY))
        timings, tables = _pipeline(store, out)
        timings["raw_copy_s"] = time.perf_counter() - t0 - timings["total_s"]
        t1 = time.perf_counter()
        for asset in ("raw_transactions", "raw_blocks", "token_transfers"):
            store.read(asset, KEY)
        for name, table in tables.items():
            copy.write(name, KEY, table)
        timings["io_floor_s"] = time.perf_counter() - t1
        best = {k: min(v, best.get(k, v)) for k, v in timings.items()}
        rows, addresses = tables["cleaned_transactions"].num_rows, tables["address_features"].num_rows
        del tables
    n_tt = store.read("token_transfers", KEY, columns=["log_index"]).num_rows
    figures = {"transactions": rows, "addresses": addresses, "token_transfers": n_tt, "repeats": repeats}
    figures |= {k: round(v, 3) for k, v in best.items()}
    figures["clean_rows_per_s"] = round(rows / best["clean_s"])
    figures["features_rows_per_s"] = round(rows / (best["transaction_features_s"] + best["address_features_s"]))
    figures["ratio_to_io_floor"] = round(best["total_s"] / best["io_floor_s"], 2)
    figures["ratio_to_raw_copy"] = round(best["total_s"] / best["raw_copy_s"], 2)
    figures["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3)
    return figures


def run() -> dict:
    """Build the partition, measure in a child process, print figures and write results/features.json."""
    with tempfile.TemporaryDirectory(prefix="bench_features_") as root:
        t0 = time.perf_counter()
        make_partition(root)
        build_s = time.perf_counter() - t0
        child = subprocess.run(
            [sys.executable, "-m", "blockanalytix_tests.benchmarks.bench_features", "--measure", root],
            check=True, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2],
        )  # fmt: skip
        figures = json.loads(child.stdout.strip().splitlines()[-1])
    figures |= {
        "build_partition_s": round(build_s, 1),
        "cpu_count": os.cpu_count(),
        "target_ratio": TARGET_RATIO,
        "target_peak_gb": TARGET_PEAK_GB,
        "meets_targets": figures["ratio_to_io_floor"] <= TARGET_RATIO and figures["peak_rss_gb"] < TARGET_PEAK_GB,
    }
    for k, v in figures.items():
        print(f"{k:>24}: {v}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    return figures


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--measure":
        print(json.dumps(measure(sys.argv[2])))
    else:
        run()
