"""A synthetic multi-range store for the serving benchmark, generated with vectorised numpy and the project's writers.

Addresses are integer ids rendered as 20-byte hex by a fixed mix, so ranges are generated independently (in
parallel) yet share one population: before range i it holds (i + 1) * new ids; each range introduces `new` =
`new_per_tx * tx_per_range` fresh ids (each used once, on introduction) and draws every other endpoint from a
Zipf-like law (exponent `zipf_a`) over ranks = ids, so the oldest ids are the heaviest (id 0 behaves like an
exchange hot wallet). Contract calls go to a separate, Zipf-weighted contract population that grows with
creations; calls to the first N_TOKENS contracts are ERC-20 transfers (one token_transfers row each).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from blockanalytix_assets.api.summaries import with_summary
from blockanalytix_assets.features.activity import ACTIVITY_TX_COLUMNS, address_activity
from blockanalytix_assets.ingest.schema import BLOCKS, TRANSFER_EVENTS
from blockanalytix_assets.ingest.token_mapping import scaled
from blockanalytix_assets.ranges import format_key
from blockanalytix_assets.storage import Storage
from blockanalytix_assets.transform.cleaning import CLEANED_SCHEMA
from blockanalytix_tests.benchmarks import serving_ids as ids_
from blockanalytix_tests.benchmarks.serving_ids import CONTRACT, addresses, labelled, pick, typology, zipf_ids

GENESIS_TS = 1_600_000_000
N_TOKENS = 200
FEATURES = ["value_eth", "fee_eth", "gas_price_to_base_fee", "is_contract_call", "hour_of_day", "to_is_new"]
TRANSFER_INPUT = "0xa9059cbb" + "00" * 64


@dataclass(frozen=True)
class WorldSpec:
    """The shape of the synthetic chain."""

    tx_per_range: int = 10_000
    range_blocks: int = 100
    zipf_a: float = 1.1
    new_per_tx: float = 0.1
    call_share: float = 0.25
    creation_share: float = 0.002
    failed_share: float = 0.02
    label_every: int = 1000  # about one address in this many carries a label
    seed: int = 11

    @property
    def new_per_range(self) -> int:
        return int(self.tx_per_range * self.new_per_tx)

    @property
    def creations(self) -> int:
        return max(1, round(self.tx_per_range * self.creation_share))

    def population(self, i: int) -> int:
        """EOA ids that exist before range i."""
        return self.new_per_range * (i + 1)

    def contracts(self, i: int) -> int:
        """Contract ids that exist before range i (each range's creations add to them)."""
        return N_TOKENS + 50 + self.creations * i

    def key(self, i: int) -> str:
        return format_key(i * self.range_blocks, (i + 1) * self.range_blocks - 1)


def _column(name: str, values: dict, n: int) -> pa.Array:
    if name not in values:
        return pa.nulls(n, CLEANED_SCHEMA.field(name).type)
    return pa.array(values[name]).cast(CLEANED_SCHEMA.field(name).type)


def range_transactions(
    spec: WorldSpec, i: int, rng: np.random.Generator
) -> tuple[pa.Table, pa.Table, np.ndarray, np.ndarray]:
    """cleaned_transactions and token_transfers of range i, the sender ids and the EOA ids of every endpoint."""
    n, first = spec.tx_per_range, i * spec.range_blocks
    offset = (np.arange(n) * spec.range_blocks) // n
    block = first + offset
    tx_index = np.arange(n) - np.searchsorted(offset, offset)
    creation = np.zeros(n, dtype=bool)
    creation[rng.choice(n, size=spec.creations, replace=False)] = True
    call = ~creation & (rng.random(n) < spec.call_share)
    failed = rng.random(n) < spec.failed_share
    pop, new, half = spec.population(i), spec.new_per_range, spec.new_per_range // 2
    frm = zipf_ids(rng, n, pop, spec.zipf_a)
    to = zipf_ids(rng, n, pop, spec.zipf_a)
    # Each new address appears exactly once in its first range: half as a sender, half as a plain recipient.
    frm[rng.choice(n, size=half, replace=False)] = pop + np.arange(half)
    to[rng.choice(np.flatnonzero(~call & ~creation), size=new - half, replace=False)] = pop + np.arange(half, new)
    contract = zipf_ids(rng, n, spec.contracts(i), spec.zipf_a)
    token_call = call & (contract < N_TOKENS)
    created = spec.contracts(i) + np.cumsum(creation) - 1
    none = pa.scalar(None, pa.string())
    to_addr = pc.if_else(creation, none, pc.if_else(call, addresses(contract, CONTRACT), addresses(to)))
    gwei = np.where(call & (rng.random(n) < 0.7), 0, np.minimum(rng.lognormal(17.0, 2.5, n), 2**52)).astype(np.int64)
    used = np.where(call, rng.integers(40_000, 200_000, n), np.where(creation, 1_000_000, 21_000))
    base = rng.integers(5, 40, spec.range_blocks)[offset] * 10**9
    price = base + rng.integers(10**8, 5 * 10**9, n)
    fee = used * price
    hashes = ids_.random_hashes(rng, n)
    block_hashes = ids_.random_hashes(rng, spec.range_blocks).take(pa.array(offset))
    values = {
        "hash": hashes, "nonce": rng.integers(0, 100_000, n), "block_hash": block_hashes, "block_number": block,
        "transaction_index": tx_index, "from_address": addresses(frm), "to_address": to_addr,
        "value": ids_.wei(gwei), "gas": used * 3 // 2, "gas_price": price,
        "input": pick(["0x", TRANSFER_INPUT, "0x38ed1739" + "00" * 96, "0x6080604052"],
                       np.where(creation, 3, np.where(token_call, 1, np.where(call, 2, 0)))),
        "block_timestamp": GENESIS_TS + 12 * block, "max_fee_per_gas": price * 2, "max_priority_fee_per_gas":
        price - base, "transaction_type": np.full(n, 2), "receipt_gas_used": used,
        "receipt_contract_address": pc.if_else(creation, addresses(created, CONTRACT), none),
        "receipt_status": (~failed).astype(np.int64), "receipt_effective_gas_price": price,
        "value_eth": gwei / 1e9, "fee_wei": fee, "fee_eth": fee / 1e18, "base_fee_per_gas": base,
        "gas_price_to_base_fee": price / base, "gas_price_to_block_median": rng.lognormal(0.0, 0.2, n),
        "is_contract_creation": creation, "is_contract_call": call,
        "method_selector": pc.if_else(call, pick(["0xa9059cbb", "0x38ed1739"], (~token_call).astype(int)), none),
        "failed": failed, "token_transfer_count": token_call.astype(np.int64),
    }  # fmt: skip
    cleaned = pa.Table.from_arrays([_column(f.name, values, n) for f in CLEANED_SCHEMA], schema=CLEANED_SCHEMA)
    m = int(token_call.sum())
    recipient = zipf_ids(rng, m, pop, spec.zipf_a)
    amount = pc.cast(pa.array(rng.integers(1, 10**12, m)), pa.string())
    tt = pa.table(
        {
            "token_address": addresses(contract[token_call], CONTRACT), "from_address": addresses(frm[token_call]),
            "to_address": addresses(recipient), "value": pc.binary_join_element_wise(amount, "000000", ""),
            "transaction_hash": hashes.filter(pa.array(token_call)), "log_index": np.zeros(m, np.int64),
            "block_number": block[token_call], "token_standard": pa.array(["erc20"] * m),
        }
    ).cast(TRANSFER_EVENTS)  # fmt: skip
    tt = scaled(tt, dict.fromkeys(tt.column("token_address").to_pylist(), 18))
    endpoints = np.concatenate([frm, to[~call & ~creation], recipient])
    return cleaned, tt, frm, endpoints


def range_scores(cleaned: pa.Table, senders: np.ndarray, spec: WorldSpec, rng: np.random.Generator) -> pa.Table:
    """anomaly_scores like the scoring asset writes them (labelled senders score high), with the footer summary."""
    n, bad = cleaned.num_rows, labelled(senders, spec.label_every)
    score = np.clip(np.where(bad, rng.beta(6, 2, n), rng.beta(1.5, 8, n)), 0.0, 1.0)
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(-score, kind="stable")] = np.arange(1, n + 1)
    tops, zeros = rng.integers(0, len(FEATURES), size=(3, n)), np.zeros(n, np.int32)
    scores = pa.table(
        {
            **{c: cleaned[c] for c in ("hash", "block_number", "block_timestamp", "from_address", "to_address")},
            "value_eth": cleaned["value_eth"], "fee_eth": cleaned["fee_eth"],
            "classifier_probability": score * 0.9, "reconstruction_error": score * 3.0, "anomaly_score": score,
            "rank": rank, "cluster_id": np.where(bad, 3, rng.integers(0, 3, n)).astype(np.int64),
            "classifier_version": pick(["v1"], zeros), "autoencoder_version": pick(["v1"], zeros),
            **{f"top_feature_{j + 1}": pick(FEATURES, tops[j]) for j in range(3)},
            "is_labelled": bad, "label": pc.if_else(bad, typology(senders), pa.scalar(None, pa.string())),
            "threshold": np.full(n, 0.6),
        }
    )  # fmt: skip
    return with_summary(scores)


def range_risk(active: pa.Array, ids: np.ndarray, spec: WorldSpec, rng: np.random.Generator) -> pa.Table:
    """address_risk_scores of the range's active addresses (EOA ids give the labels; others are unlabelled)."""
    names = addresses(ids)
    bad_names = names.filter(pa.array(labelled(ids, spec.label_every)))
    bad = pc.is_in(active, value_set=bad_names).to_numpy(zero_copy_only=False)
    risk = np.where(bad, rng.beta(8, 2, len(active)), rng.beta(1.2, 10, len(active)))
    rank = np.empty(len(active), dtype=np.int64)
    rank[np.argsort(-risk, kind="stable")] = np.arange(1, len(active) + 1)
    label = pc.if_else(bad, typology(ids).take(pc.index_in(active, value_set=names)), pa.scalar(None, pa.string()))
    return pa.table({"address": active, "risk_score": risk, "rank": rank,
                     "model_version": pick(["v1"], np.zeros(len(active), np.int32)), "label": label})  # fmt: skip


def label_table(spec: WorldSpec, n_ranges: int) -> pa.Table:
    """address_labels ("all"): every labelled EOA id that exists after n_ranges ranges."""
    ids = np.arange(spec.population(n_ranges))
    ids = ids[labelled(ids, spec.label_every)]
    zeros = np.zeros(len(ids), np.int32)
    return pa.table({"address": addresses(ids), "label": typology(ids), "category": pick(["scam"], zeros),
                     "source": pick(["synthetic"], zeros), "first_seen": pa.nulls(len(ids), pa.int64())})  # fmt: skip


def blocks_table(spec: WorldSpec, i: int, cleaned: pa.Table) -> pa.Table:
    """raw_blocks of range i (number, hash, timestamp, transaction_count; other columns null)."""
    numbers = np.arange(i * spec.range_blocks, (i + 1) * spec.range_blocks)
    counts = np.bincount(cleaned["block_number"].to_numpy() - numbers[0], minlength=len(numbers))
    first = pc.index_in(pa.array(numbers), value_set=cleaned["block_number"].combine_chunks())
    values = {"number": numbers, "hash": cleaned["block_hash"].take(first), "timestamp": GENESIS_TS + 12 * numbers,
              "transaction_count": counts}  # fmt: skip
    n = len(numbers)
    return pa.Table.from_arrays(
        [pa.array(values[f.name]).cast(f.type) if f.name in values else pa.nulls(n, f.type) for f in BLOCKS],
        schema=BLOCKS,
    )


@dataclass(frozen=True)
class RangeInfo:
    """What one generated range holds, for the harness to pick lookups from."""

    index: int
    key: str
    transactions: int
    token_transfers: int
    activity_rows: int
    first_hash: str
    last_hash: str
    ids: np.ndarray  # distinct EOA ids touched (as sender, recipient or token recipient)
    counts: np.ndarray  # endpoint count of each of those ids
    seconds: dict


def range_tables(spec: WorldSpec, i: int) -> tuple[dict[str, pa.Table], RangeInfo]:
    """Every per-range table of range i (deterministic in spec.seed and i)."""
    t0 = time.perf_counter()
    rng = np.random.default_rng([spec.seed, i])
    cleaned, tt, senders, endpoints = range_transactions(spec, i, rng)
    tables = {"cleaned_transactions": cleaned, "token_transfers": tt, "raw_blocks": blocks_table(spec, i, cleaned),
              "anomaly_scores": range_scores(cleaned, senders, spec, rng)}  # fmt: skip
    t1 = time.perf_counter()
    tables["address_activity"] = address_activity(cleaned.select(ACTIVITY_TX_COLUMNS), tt, i)
    t2 = time.perf_counter()
    ids, counts = np.unique(endpoints, return_counts=True)
    tables["address_risk_scores"] = range_risk(tables["address_activity"]["address"], ids, spec, rng)
    hashes = cleaned["hash"]
    seconds = {"generate": t1 - t0 + time.perf_counter() - t2, "activity": t2 - t1}
    info = RangeInfo(i, spec.key(i), cleaned.num_rows, tt.num_rows, tables["address_activity"].num_rows,
                     hashes[0].as_py(), hashes[-1].as_py(), ids, counts.astype(np.int32), seconds)  # fmt: skip
    return tables, info


def write_range(root: str, spec: WorldSpec, i: int) -> RangeInfo:
    """Generate range i and write its tables under root with Storage.write_all."""
    tables, info = range_tables(spec, i)
    t0 = time.perf_counter()
    Storage(root).write_all(info.key, tables)
    info.seconds["write"] = time.perf_counter() - t0
    return info


def generate(root: str, spec: WorldSpec, n_ranges: int, workers: int | None = None) -> Iterator[RangeInfo]:
    """Write ranges 0..n_ranges-1 (in parallel processes) and address_labels; yields RangeInfo in range order."""
    Storage(root).write("address_labels", "all", label_table(spec, n_ranges))
    workers = workers or max(1, min(os.cpu_count() or 1, 8))
    if workers == 1:
        yield from (write_range(root, spec, i) for i in range(n_ranges))
        return
    with ProcessPoolExecutor(workers) as pool:
        yield from pool.map(write_range, [root] * n_ranges, [spec] * n_ranges, range(n_ranges), chunksize=4)
