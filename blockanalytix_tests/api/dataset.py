"""A small hand-built data set following the table contracts, written to a Storage root for tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pyarrow as pa

from blockanalytix_assets.api.summaries import with_summary
from blockanalytix_assets.features.activity import address_activity
from blockanalytix_assets.index.runs import RunTree
from blockanalytix_assets.index.trees import PROFILE_TREE, TX_INDEX_TREE
from blockanalytix_assets.ingest.schema import BLOCKS, TRANSACTIONS, WEI
from blockanalytix_assets.ranges import format_key
from blockanalytix_assets.storage import Storage

TYPOLOGIES = ["phishing_drain", "peel_chain", "wash_trading", "dusting", "fan_out_burst"]
FEATURES = ["value_eth", "fee_eth", "gas_price_to_base_fee", "is_contract_call", "hour_of_day", "to_is_new"]
RANGE_SIZE = 100


@dataclass
class Dataset:
    """What was written, so tests can check answers against it."""

    root: str
    keys: list[str]
    labelled: dict[str, str]  # address -> typology
    scores: dict[str, pa.Table] = field(default_factory=dict)
    cleaned: dict[str, pa.Table] = field(default_factory=dict)
    risk: dict[str, pa.Table] = field(default_factory=dict)


def _hex(rng: np.random.Generator, nbytes: int) -> str:
    return "0x" + rng.bytes(nbytes).hex()


def build_dataset(root: str, ranges: int = 2, txs_per_range: int = 240, seed: int = 7, trees: bool = True) -> Dataset:
    """Write raw_blocks, cleaned_transactions, address_activity, anomaly_scores (the summary in the footer of
    every other range, as older writers left it out), transaction_clusters, address_risk_scores and
    address_labels for `ranges` ranges of RANGE_SIZE blocks; then fold them into both run trees."""
    rng = np.random.default_rng(seed)
    store = Storage(root)
    population = [_hex(rng, 20) for _ in range(60)]
    labelled = {_hex(rng, 20): t for t in TYPOLOGIES}
    bad = list(labelled)
    store.write("address_labels", "all", _labels_table(labelled))
    ds = Dataset(root=root, keys=[], labelled=labelled)
    for i in range(ranges):
        first, last = i * RANGE_SIZE, (i + 1) * RANGE_SIZE - 1
        key = format_key(first, last)
        ds.keys.append(key)
        n = txs_per_range
        blocks = np.sort(rng.integers(first, last + 1, n))
        is_bad = rng.random(n) < 0.08
        senders = [bad[j % len(bad)] if b else population[rng.integers(60)] for j, b in enumerate(is_bad)]
        receivers = [population[rng.integers(60)] for _ in range(n)]
        hashes = [_hex(rng, 32) for _ in range(n)]
        value_eth = np.round(rng.lognormal(-1.0, 1.5, n), 6)
        fee_eth = rng.gamma(2.0, 2e-4, n)
        ts = 1_700_000_000 + blocks * 12
        store.write("raw_blocks", key, _blocks_table(first, last))
        cleaned = _cleaned_table(hashes, blocks, ts, senders, receivers, value_eth, fee_eth, rng)
        store.write("cleaned_transactions", key, cleaned)
        store.write("address_activity", key, address_activity(cleaned, None, i))
        score = np.clip(np.where(is_bad, rng.beta(6, 2, n), rng.beta(1.5, 8, n)), 0.0, 1.0)
        order = np.argsort(-score, kind="stable")
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(1, n + 1)
        cluster = np.where(is_bad, 3, rng.integers(0, 3, n)).astype(np.int64)
        tops = [rng.choice(FEATURES, 3, replace=False).tolist() for _ in range(n)]
        label = [labelled[s] if b else None for s, b in zip(senders, is_bad, strict=True)]
        scores = pa.table(
            {
                "hash": hashes,
                "block_number": blocks.astype(np.int64),
                "block_timestamp": ts.astype(np.int64),
                "from_address": senders,
                "to_address": receivers,
                "value_eth": value_eth,
                "fee_eth": fee_eth,
                "classifier_probability": score * 0.9,
                "reconstruction_error": score * 3.0,
                "anomaly_score": score,
                "rank": rank,
                "cluster_id": cluster,
                "classifier_version": [f"v{i + 1}"] * n,
                "autoencoder_version": ["v1"] * n,
                "top_feature_1": [t[0] for t in tops],
                "top_feature_2": [t[1] for t in tops],
                "top_feature_3": [t[2] for t in tops],
                "is_labelled": is_bad,
                "label": pa.array(label, pa.string()),
                "threshold": np.full(n, 0.6),
            }
        )
        store.write("anomaly_scores", key, with_summary(scores) if i % 2 == 0 else scores)
        centre = np.array([[0, 0], [4, 1], [1, 5], [6, 6]], dtype=float)[cluster]
        emb = centre + rng.normal(0, 0.7, (n, 2))
        clusters = pa.table(
            {
                "hash": hashes,
                "block_number": blocks.astype(np.int64),
                "cluster_id": cluster,
                "embedding_x": emb[:, 0],
                "embedding_y": emb[:, 1],
                "is_labelled": is_bad,
            }
        )
        store.write("transaction_clusters", key, clusters)
        addrs = sorted(set(senders) | set(receivers))
        risk_score = np.array([0.9 if a in labelled else float(rng.random() * 0.5) for a in addrs])
        risk_rank = np.empty(len(addrs), dtype=np.int64)
        risk_rank[np.argsort(-risk_score, kind="stable")] = np.arange(1, len(addrs) + 1)
        risk = pa.table(
            {
                "address": addrs,
                "risk_score": risk_score,
                "rank": risk_rank,
                "model_version": ["v1"] * len(addrs),
                "label": pa.array([labelled.get(a) for a in addrs], pa.string()),
            }
        )
        store.write("address_risk_scores", key, risk)
        ds.scores[key], ds.cleaned[key], ds.risk[key] = scores, cleaned, risk
    if trees:
        for spec in (PROFILE_TREE, TX_INDEX_TREE):
            RunTree(store, spec).update()
    return ds


def _labels_table(labelled: dict[str, str]) -> pa.Table:
    return pa.table(
        {
            "address": list(labelled),
            "label": list(labelled.values()),
            "category": ["devnet_typology"] * len(labelled),
            "source": ["devnet"] * len(labelled),
            "first_seen": pa.array([None] * len(labelled), pa.int64()),
        }
    )


def _blocks_table(first: int, last: int) -> pa.Table:
    rows = [{"number": b, "hash": f"0x{b:064x}", "timestamp": 1_700_000_000 + b * 12} for b in range(first, last + 1)]
    return pa.Table.from_pylist(rows, schema=BLOCKS)


def _cleaned_table(hashes, blocks, ts, senders, receivers, value_eth, fee_eth, rng) -> pa.Table:
    n = len(hashes)
    wei = [Decimal(int(round(v * 1e6))) * Decimal(10**12) for v in value_eth]
    base = {name: pa.nulls(n, typ) for name, typ in zip(TRANSACTIONS.names, TRANSACTIONS.types, strict=True)}
    base.update(
        hash=pa.array(hashes),
        block_number=pa.array(blocks, pa.int64()),
        block_timestamp=pa.array(ts, pa.int64()),
        from_address=pa.array(senders),
        to_address=pa.array(receivers),
        value=pa.array(wei, WEI),
        transaction_index=pa.array(np.arange(n), pa.int64()),
        receipt_status=pa.array(np.ones(n, np.int64)),
        gas=pa.array(np.full(n, 21000), pa.int64()),
        gas_price=pa.array(np.full(n, 10**9), pa.int64()),
    )
    extra = {
        "value_eth": pa.array(value_eth),
        "fee_wei": pa.array([Decimal(int(f * 1e18)) for f in fee_eth], WEI),
        "fee_eth": pa.array(fee_eth),
        "base_fee_per_gas": pa.array(np.full(n, 7 * 10**8), pa.int64()),
        "gas_price_to_base_fee": pa.array(np.full(n, 10 / 7)),
        "gas_price_to_block_median": pa.array(np.ones(n)),
        "is_contract_creation": pa.array(np.zeros(n, bool)),
        "is_contract_call": pa.array(rng.random(n) < 0.3),
        "method_selector": pa.array([None] * n, pa.string()),
        "failed": pa.array(np.zeros(n, bool)),
        "token_transfer_count": pa.array(np.zeros(n, np.int64)),
    }
    return pa.table({**base, **extra})
