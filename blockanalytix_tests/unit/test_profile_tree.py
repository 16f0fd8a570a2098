"""address_profiles built in order, shuffled and with a range re-materialised twice equals a full recompute."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from blockanalytix_assets.features.activity import address_activity
from blockanalytix_assets.features.address import address_features
from blockanalytix_assets.features.profiles import merge_activity, profile_features
from blockanalytix_assets.index.runs import RunTree
from blockanalytix_assets.index.trees import PROFILE_TREE
from blockanalytix_assets.ranges import format_key
from blockanalytix_assets.storage import Storage

RANGE_SIZE = 100
N_RANGES = 21  # two complete level-1 nodes (fan-out 8) plus loose leaves, and one level-2 node at 64+ would be slow


def _range(i: int, rng: np.random.Generator, population: list[str]) -> tuple[pa.Table, pa.Table]:
    """Cleaned transactions and ERC-20 transfers of range i, addresses drawn heavy-tailed from the population."""
    n = int(rng.integers(20, 60))
    weights = 1.0 / np.arange(1, len(population) + 1) ** 1.2
    pick = lambda: [population[j] for j in rng.choice(len(population), n, p=weights / weights.sum())]  # noqa: E731
    frm, to = pick(), pick()
    blocks = np.sort(rng.integers(i * RANGE_SIZE, (i + 1) * RANGE_SIZE, n))
    wei = [int(v) * 10**12 for v in rng.integers(0, 5_000_000, n)]
    creation = rng.random(n) < 0.05
    call = ~creation & (rng.random(n) < 0.2)
    hashes = ["0x" + rng.bytes(32).hex() for _ in range(n)]
    txs = pa.table(
        {
            "hash": hashes,
            "block_number": blocks,
            "block_timestamp": 1_600_000_000 + 12 * blocks,
            "transaction_index": np.arange(n),
            "from_address": frm,
            "to_address": pa.array([None if c else t for c, t in zip(creation, to, strict=True)], pa.string()),
            "receipt_contract_address": pa.array(
                ["0x" + rng.bytes(20).hex() if c else None for c in creation], pa.string()
            ),
            "value": pa.array([Decimal(w) for w in wei], pa.decimal128(38, 0)),
            "value_eth": np.array(wei, dtype=np.float64) / 1e18,
            "failed": rng.random(n) < 0.05,
            "is_contract_call": call,
            "is_contract_creation": creation,
        }
    )
    k = int(rng.integers(0, 10))
    sel = rng.choice(n, k, replace=False) if k else np.array([], dtype=int)
    tokens = [population[-1 - int(j)] for j in rng.integers(0, 3, k)]
    amounts = rng.integers(1, 10_000, k)
    transfers = pa.table(
        {
            "token_address": pa.array(tokens, pa.string()),
            "from_address": pa.array([frm[j] for j in sel], pa.string()),
            "to_address": pa.array([to[j] for j in sel], pa.string()),
            "value": pa.array([str(int(v) * 10**15) for v in amounts], pa.string()),
            "scaled_value": pa.array([int(v) * 10**15 / 10**18 for v in amounts], pa.float64()),
            "transaction_hash": pa.array([hashes[j] for j in sel], pa.string()),
            "token_standard": pa.array(["erc20"] * k, pa.string()),
        }
    )
    return txs, transfers


@pytest.fixture(scope="module")
def ranges() -> dict[str, tuple[pa.Table, pa.Table]]:
    rng = np.random.default_rng(11)
    population = ["0x" + rng.bytes(20).hex() for _ in range(80)]
    return {format_key(i * RANGE_SIZE, (i + 1) * RANGE_SIZE - 1): _range(i, rng, population) for i in range(N_RANGES)}


def _leaf(store: Storage, key: str, data: tuple[pa.Table, pa.Table]) -> None:
    index = int(key.split("-")[0]) // RANGE_SIZE
    store.write("address_activity", key, address_activity(data[0], data[1], index))


def _build(
    root: Path,
    ranges: dict,
    order: list[str],
    rewrite: str | None = None,
    shard_rows: int | None = None,
    incremental: bool = True,
) -> RunTree:
    """Land the leaves in `order`, updating the tree after each; `rewrite` is re-materialised twice mid-way.

    incremental: update with the landed key as the index assets do (else a full listing each time).
    """
    store = Storage(str(root))
    tree = RunTree(store, PROFILE_TREE, shard_rows=shard_rows)
    for n, key in enumerate(order):
        _leaf(store, key, ranges[key])
        tree.update([key] if incremental else None)
        if rewrite is not None and n in (len(order) // 2, len(order) // 2 + 3):
            _leaf(store, rewrite, ranges[rewrite])
            tree.update([rewrite] if incremental else None)
    return tree


def _node_files(root: Path) -> dict[str, bytes]:
    base = root / "address_profiles"
    return {str(p.relative_to(base)): p.read_bytes() for p in sorted(base.rglob("*.parquet"))}


@pytest.mark.parametrize("shard_rows", [None, 20], ids=["whole", "sharded"])
def test_in_order_shuffled_and_rematerialised_equal_a_full_recompute(tmp_path, ranges, shard_rows):
    keys = sorted(ranges)
    shuffled = keys[:]
    random.Random(3).shuffle(shuffled)
    roots = {name: tmp_path / name for name in ("in_order", "shuffled", "rematerialised", "full")}
    trees = {
        "in_order": _build(roots["in_order"], ranges, keys, shard_rows=shard_rows, incremental=False),
        "shuffled": _build(roots["shuffled"], ranges, shuffled, shard_rows=shard_rows),
        "rematerialised": _build(roots["rematerialised"], ranges, keys, rewrite=keys[4], shard_rows=shard_rows),
    }
    # Full recompute: every leaf written first, then one update.
    full_store = Storage(str(roots["full"]))
    for key in keys:
        _leaf(full_store, key, ranges[key])
    full = RunTree(full_store, PROFILE_TREE, shard_rows=shard_rows)
    full.update()
    expected_state = merge_activity([full.read()])
    expected = profile_features(expected_state)
    assert any(name.startswith("L") for name in _node_files(roots["full"])), "no node built: only leaves compared"
    assert any("-" in name for name in _node_files(roots["full"])) == (shard_rows is not None)
    for name, tree in trees.items():
        assert _node_files(roots[name]) == _node_files(roots["full"]), name
        assert merge_activity([tree.read()]).equals(expected_state), name
        assert profile_features(merge_activity([tree.read()])).equals(expected), name


def _assert_same(a: pa.Table, b: pa.Table) -> None:
    """Equal tables: exact for every non-float column, floats to 1e-12 (sums associate differently)."""
    assert a.column_names == b.column_names and a.num_rows == b.num_rows
    for name in a.column_names:
        if pa.types.is_floating(a.schema.field(name).type):
            np.testing.assert_allclose(a[name].to_numpy(), b[name].to_numpy(), rtol=1e-12, err_msg=name)
        else:
            assert a[name].equals(b[name]), name


def test_lifetime_features_equal_the_window_features_over_every_range(tmp_path, ranges):
    keys = sorted(ranges)
    tree = _build(tmp_path, ranges, keys)
    lifetime = profile_features(merge_activity([tree.read()])).to_pandas().set_index("address").sort_index()
    txs = pa.concat_tables([ranges[k][0] for k in keys])
    transfers = pa.concat_tables([ranges[k][1] for k in keys])
    window = address_features(txs, transfers).to_pandas().set_index("address").sort_index()
    assert list(lifetime.index) == list(window.index)
    for col in ("sent_tnx", "received_tnx", "number_of_created_contracts", "total_ether_sent",
                "total_ether_received", "max_val_sent", "unique_sent_to_addresses",
                "time_diff_between_first_and_last_mins", "avg_min_between_sent_tnx", "total_erc20_tnxs"):  # fmt: skip
        np.testing.assert_allclose(lifetime[col], window[col], rtol=1e-9, err_msg=col)


def test_as_of_a_range_sees_only_ranges_up_to_it(tmp_path, ranges):
    keys = sorted(ranges)
    tree = _build(tmp_path, ranges, keys)
    upto = keys[10]
    state = merge_activity([tree.read(upto_key=upto)])
    flat = merge_activity([Storage(str(tmp_path)).read("address_activity", k) for k in keys[:11]])
    _assert_same(state, flat)
    assert pc.max(state["last_block"]).as_py() <= int(upto.split("-")[1])
