"""The serving benchmark's generator follows the table contracts, and the harness runs end to end on a tiny store."""

from __future__ import annotations

import os
from decimal import Decimal

import numpy as np
import pyarrow.compute as pc

from blockanalytix_assets.features.activity import ACTIVITY_SCHEMA
from blockanalytix_assets.ingest.schema import TOKEN_TRANSFERS
from blockanalytix_assets.transform.cleaning import CLEANED_SCHEMA
from blockanalytix_tests.benchmarks import bench_serving
from blockanalytix_tests.benchmarks import serving_ids as ids
from blockanalytix_tests.benchmarks.serving_data import WorldSpec, range_tables


def test_encoders_are_exact() -> None:
    gwei = np.array([0, 1, 2**32 - 1, 2**32, 2**52, 123_456_789_012_345], dtype=np.int64)
    assert ids.wei(gwei).to_pylist() == [Decimal(int(g) * 10**9) for g in gwei]
    raw = np.array([[0, 1, 171, 255]], dtype=np.uint8)
    assert ids.hex_strings(raw).to_pylist() == ["0x0001abff"]
    a = ids.addresses(np.arange(1000))
    assert len(set(a.to_pylist())) == 1000 and pc.all(pc.match_substring_regex(a, r"^0x[0-9a-f]{40}$")).as_py()
    z = ids.zipf_ids(np.random.default_rng(0), 100_000, 500, 1.1)
    assert z.min() == 0 and z.max() < 500 and (z == 0).mean() > (z == 10).mean() > (z == 400).mean()


def test_ranges_follow_the_schemas_and_share_one_population() -> None:
    spec = WorldSpec(tx_per_range=2_000)
    t3, info3 = range_tables(spec, 3)
    again, _ = range_tables(spec, 3)
    t4, info4 = range_tables(spec, 4)
    assert t3["cleaned_transactions"].equals(again["cleaned_transactions"])  # deterministic per (seed, range)
    assert t3["cleaned_transactions"].schema.equals(CLEANED_SCHEMA)
    assert t3["token_transfers"].schema.equals(TOKEN_TRANSFERS)
    assert t3["address_activity"].schema.equals(ACTIVITY_SCHEMA, check_metadata=False)
    blocks = t3["cleaned_transactions"]["block_number"].to_numpy()
    assert blocks.min() == 300 and blocks.max() == 399 and info3.key == "000000300-000000399"
    assert b"blockanalytix.summary" in t3["anomaly_scores"].schema.metadata
    assert len(np.intersect1d(info3.ids, info4.ids)) > 100  # addresses recur across ranges
    new3 = np.arange(spec.population(3), spec.population(4))
    assert np.isin(new3, info3.ids).all()  # every new address appears in its first range


def test_harness_runs_end_to_end(tmp_path) -> None:
    fig = bench_serving.bench(
        10, tx_per_range=300, keep=str(tmp_path / "store"), workers=1, requests=3, concurrency=(2, 5)
    )
    api = fig["api"]
    assert api["errors"] == 0 and api["concurrent"]["errors"] == 0, api
    assert api["answers"]["tx_oldest"]["hash_matches"] and api["answers"]["tx_newest"]["hash_matches"]
    assert api["answers"]["address_heavy"]["active_ranges"] == 10
    assert set(fig["updates"]) == {"10"} and fig["disk_mb"]["total"] > 0
    assert set(fig["checks"]) >= {"address_p95_ms", "update_median_s"}
    assert api["restart"]["status"] == 200 and api["restart"]["first_ranges_ms"] > 0


def test_tree_update_benchmark_runs_on_small_stores(tmp_path) -> None:
    from blockanalytix_tests.benchmarks import bench_tree_updates

    doc = bench_tree_updates.bench([10, 20], rounds=3, work=str(tmp_path))
    assert set(doc["by_ranges"]) == {"10", "20"} and doc["rounds"] == 3
    assert all(f["median_ms"] > 0 and f["p90_ms"] >= f["median_ms"] for f in doc["by_ranges"].values())
    assert len(os.listdir(tmp_path / "n20" / "address_activity")) == 23
