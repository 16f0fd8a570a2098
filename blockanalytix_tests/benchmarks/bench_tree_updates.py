"""Benchmark: the cost of folding one arriving range into both run trees, at 10 to 10,000 ranges present.

Issue 11 asks for an update cost that does not grow with history. Stores of N ranges (N = 10, 100, 1,000, 10,000)
are built once (untimed, a full update); then, in interleaved rounds so that host noise hits every N alike, one new
range lands in each store and `RunTree.update([key])` of address_profiles and transaction_index is timed, as the
index assets run it. Ranges are small (200 transactions, 8 distinct ranges hard-linked under every key) because
what is measured is the per-update bookkeeping; merge cost per row is bench_serving's. Writes
results/tree_updates.json.

    python -m blockanalytix_tests.benchmarks.bench_tree_updates [--sizes 10 100 1000 10000] [--rounds 64]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from blockanalytix_assets.index.runs import RunTree
from blockanalytix_assets.index.trees import PROFILE_TREE, TX_INDEX_TREE
from blockanalytix_assets.ranges import format_key
from blockanalytix_assets.storage import Storage
from blockanalytix_tests.benchmarks.serving_data import WorldSpec, write_range

RESULTS = Path(__file__).parent / "results" / "tree_updates.json"
SPEC = WorldSpec(tx_per_range=200, range_blocks=100)
DISTINCT = 8
LEAVES = ("address_activity", "cleaned_transactions")
TARGET_RATIO = 2.0  # median update at the largest N over the median at the smallest: "flat"


def _key(i: int) -> str:
    return format_key(i * SPEC.range_blocks, (i + 1) * SPEC.range_blocks - 1)


def _link(src: str, root: str, i: int) -> None:
    """Publish range i in root as a hard link of one of the distinct source ranges."""
    for asset in LEAVES:
        os.makedirs(f"{root}/{asset}", exist_ok=True)
        os.link(f"{src}/{asset}/{_key(i % DISTINCT)}.parquet", f"{root}/{asset}/{_key(i)}.parquet")


def _update(root: str, key: str | None) -> float:
    t0 = time.perf_counter()
    for spec in (PROFILE_TREE, TX_INDEX_TREE):
        RunTree(Storage(root), spec).update(None if key is None else [key])
    return time.perf_counter() - t0


def bench(sizes: list[int], rounds: int, work: str) -> dict:
    """Per N: the median, p90 and mean of `rounds` timed single-range updates (both trees)."""
    src = f"{work}/src"
    for i in range(DISTINCT):
        write_range(src, SPEC, i)
    roots, build = {n: f"{work}/n{n}" for n in sizes}, {}
    for n, root in roots.items():
        for i in range(n):
            _link(src, root, i)
        build[n] = round(_update(root, None), 2)
    times: dict[int, list[float]] = {n: [] for n in sizes}
    for r in range(rounds):
        for n, root in roots.items():
            _link(src, root, n + r)
            times[n].append(_update(root, _key(n + r)))
    out = {}
    for n, ts in times.items():
        ts = sorted(ts)
        ms = [round(v * 1e3, 2) for v in (statistics.median(ts), ts[int(0.9 * len(ts))], statistics.fmean(ts))]
        out[str(n)] = {"median_ms": ms[0], "p90_ms": ms[1], "mean_ms": ms[2], "full_build_s": build[n]}
    lo, hi = out[str(min(sizes))], out[str(max(sizes))]
    ratio = round(hi["median_ms"] / lo["median_ms"], 2)
    return {"by_ranges": out, "rounds": rounds, "median_ratio_largest_to_smallest": ratio,
            "target_ratio": TARGET_RATIO, "meets_target": ratio <= TARGET_RATIO}  # fmt: skip


def run(sizes: list[int] | None = None, rounds: int = 64) -> dict:
    """`make bench`: N = 10, 100, 1,000, 10,000; writes results/tree_updates.json."""
    with tempfile.TemporaryDirectory(prefix="bench_tree_updates_") as work:
        doc = bench(sizes or [10, 100, 1000, 10_000], rounds, work)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(doc, indent=2))
    return doc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000, 10_000])
    ap.add_argument("--rounds", type=int, default=64)
    args = ap.parse_args()
    run(args.sizes, args.rounds)


if __name__ == "__main__":
    main()
