"""The range summaries survive a restart: with the footer cache the catalog is complete at once, and a file
rewritten while the server was down is read again rather than served from the cache."""

from __future__ import annotations

import pyarrow.parquet as pq

from blockanalytix_assets.api import footer_cache
from blockanalytix_assets.api.catalog import Catalog
from blockanalytix_assets.api.queries import Queries
from blockanalytix_tests.api.dataset import build_dataset


def test_a_restart_answers_ranges_from_the_cache_and_rereads_what_changed(tmp_path, monkeypatch):
    ds = build_dataset(str(tmp_path / "store"), ranges=4, txs_per_range=40, seed=3, trees=False)
    cache = tmp_path / "cache"
    first = Queries(ds.root, refresh_s=None, cache_folder=cache)  # a full refresh, which writes the cache
    expected = first.ranges(100, None)
    first.close()
    assert footer_cache.cache_file(cache, ds.root).exists()

    reads: list[tuple[str, str]] = []
    real_footer = Catalog._footer
    monkeypatch.setattr(Catalog, "_footer", lambda self, a, k: reads.append((a, k)) or real_footer(self, a, k))
    second = Queries(ds.root, refresh_s=3600, cache_folder=cache)  # start(): listing only, then a thread
    try:
        assert second.catalog.complete.is_set(), "every footer was in the cache: no wait"
        assert second.ranges(100, None) == expected
    finally:
        second.close()
    assert reads == [], "nothing read from storage: the background refresh found every footer current"

    key = sorted(ds.keys)[1]
    path = f"{ds.root}/anomaly_scores/{key}.parquet"
    table = pq.read_table(path)
    pq.write_table(table.slice(0, table.num_rows // 2).replace_schema_metadata(table.schema.metadata), path)
    reads.clear()
    third = Queries(ds.root, refresh_s=3600, cache_folder=cache)
    try:
        assert not third.catalog.complete.is_set() or ("anomaly_scores", key) in reads
        assert third.catalog.complete.wait(60)
        assert ("anomaly_scores", key) in reads and len(reads) == 1  # only the rewritten file is read again
    finally:
        third.close()
