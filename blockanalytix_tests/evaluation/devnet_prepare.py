"""Materialise one devnet seed's chain into a storage root: raw tables, cleaned_transactions, transaction_features.

Calls the same pure functions, in the same way, as the raw_ingest, cleaned_transactions and
transaction_features assets, so the evaluation sees exactly what the pipeline would write (no Dagster).
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = "/tmp/blockanalytix-eval"


@dataclass
class PreparedChain:
    """One seed's materialised storage root, its ground-truth labels and what it took."""

    seed: int
    root: Path
    labels: Path
    manifest: dict
    keys: list[str]
    rows: int
    generated: bool
    seconds: float
    range_size: int = 100


def eval_home() -> Path:
    """BLOCKANALYTIX_HOME when set, else a folder under /tmp (the chain cache and the storage roots live here)."""
    return Path(os.environ.get("BLOCKANALYTIX_HOME") or DEFAULT_HOME)


def materialise(url: str, chain_id: int, root: Path, head: int, range_size: int, lookback: int) -> list[str]:
    """Write every full range of blocks 0..head into root as the pipeline assets would; return the keys.

    raw_ingest writes every raw table of the registry, the trace tables too (the devnet's anvil serves trace_block).
    """
    from blockanalytix_assets.features.transaction import ACTIVITY_COLUMNS, lookback_keys, transaction_features
    from blockanalytix_assets.ingest.extract import extract_range
    from blockanalytix_assets.ingest.rpc import RpcClient
    from blockanalytix_assets.ranges import complete_ranges
    from blockanalytix_assets.storage import Storage
    from blockanalytix_assets.transform.cleaning import TRANSFER_COLUMNS, clean_transactions

    store = Storage(str(root))
    ranges = complete_ranges(head, 0, range_size)
    client = RpcClient(url)  # RpcResource.client() defaults: batch 100, 4 workers
    client.check_chain_id(chain_id)
    client.trace_api = client.probe_traces("auto", head)
    try:
        for r in ranges:  # raw_ingest
            for name, table in extract_range(client, r.first, r.last).items():
                store.write(name, r.key, table)
    finally:
        client.close()
    for r in ranges:  # cleaned_transactions
        raw = store.read("raw_transactions", r.key)
        blocks = store.read("raw_blocks", r.key, columns=["number", "base_fee_per_gas"])
        transfers = store.read("token_transfers", r.key, columns=TRANSFER_COLUMNS)
        result = clean_transactions(raw, r.first, r.last, blocks, transfers)
        store.write("cleaned_transactions", r.key, result.cleaned)
        store.write("quarantined_transactions", r.key, result.quarantined)
    for r in ranges:  # transaction_features with the asset's lookback over earlier cleaned ranges
        keys = lookback_keys(r.key, lookback, store.keys("cleaned_transactions"))
        earlier = [store.read("cleaned_transactions", k, columns=ACTIVITY_COLUMNS) for k in keys]
        internal = store.read("internal_transfers", r.key) if store.exists("internal_transfers", r.key) else None
        features = transaction_features(store.read("cleaned_transactions", r.key), earlier, internal)
        store.write("transaction_features", r.key, features)
    return [r.key for r in ranges]


def prepare_seed(
    seed: int, blocks: int, range_size: int = 100, lookback: int = 3, home: Path | None = None, log=print
) -> PreparedChain:
    """Start (or reload) the seed's devnet chain, materialise its ranges into a fresh root, stop anvil."""
    from blockanalytix_assets.devnet.chain import cache_files, start_chain
    from blockanalytix_assets.devnet.world import ScenarioConfig
    from blockanalytix_assets.storage import Storage

    home = home or eval_home()
    config = ScenarioConfig(seed=seed, blocks=blocks)
    t0 = time.perf_counter()
    chain = start_chain(config, cache_files(home, config), log=lambda m: log(f"[seed {seed}] {m}"))
    root = home / "evaluation" / "devnet_cross_seed" / config.cache_key()
    try:
        shutil.rmtree(root, ignore_errors=True)  # this script's own output folder: never mix stale ranges
        keys = materialise(chain.url, config.chain_id, root, chain.head, range_size, lookback)
    finally:
        chain.anvil.stop()
    rows = sum(Storage(str(root)).read("transaction_features", k, columns=["hash"]).num_rows for k in keys)
    seconds = time.perf_counter() - t0
    log(f"[seed {seed}] {len(keys)} ranges, {rows} transactions in {root} ({seconds:.1f}s)")
    return PreparedChain(
        seed, root, chain.files.labels, chain.manifest, keys, rows, chain.generated, seconds, range_size
    )
