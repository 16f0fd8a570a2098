"""Unit tests of the scenario plan: determinism, coverage of tx kinds and typologies, label files."""

import json
import re
from collections import Counter
from dataclasses import asdict

import numpy as np

from blockanalytix_assets.devnet.chain import ChainFiles
from blockanalytix_assets.devnet.delegations import ZERO
from blockanalytix_assets.devnet.scenario import plan_blocks, read_labels, typology_schedule, write_labels
from blockanalytix_assets.devnet.world import TYPOLOGIES, ScenarioConfig, World
from blockanalytix_assets.ingest.authorization import recover_authority

CONFIG = ScenarioConfig(seed=7, blocks=300, txs_per_block=20)
ADDRESS = re.compile(r"^0x[0-9a-f]{40}$")


def _plan(config: ScenarioConfig) -> tuple[World, list]:
    world = World(config)
    return world, [[tx.rpc() for tx in block.txs] for block in plan_blocks(world)]


def test_same_seed_same_plan_other_seed_other_plan():
    w1, p1 = _plan(ScenarioConfig(seed=3, blocks=60, txs_per_block=10))
    w2, p2 = _plan(ScenarioConfig(seed=3, blocks=60, txs_per_block=10))
    _, p3 = _plan(ScenarioConfig(seed=4, blocks=60, txs_per_block=10))
    assert p1 == p2 and w1.label_rows() == w2.label_rows()
    assert p1 != p3


def test_plan_has_every_kind_type_and_typology():
    world = World(CONFIG)
    blocks = list(plan_blocks(world))
    txs = [tx for b in blocks for tx in b.txs]
    assert 0.8 * CONFIG.blocks * CONFIG.txs_per_block < len(txs) < 1.6 * CONFIG.blocks * CONFIG.txs_per_block
    assert {tx.fees.tx_type for tx in txs} == {0, 1, 2, 4}
    kinds = Counter(tx.kind for tx in txs)
    assert kinds["deploy"] >= 3 and kinds["token"] > 100 and kinds["withdrawal"] > 100
    assert sum(tx.reverts for tx in txs) > 20
    assert all(b.timestamp == CONFIG.genesis_timestamp + b.number * CONFIG.block_time for b in blocks)
    assert min(world.ledger.eth.values()) >= 0
    assert all(v >= 0 for bal in world.ledger.tokens.values() for v in bal.values())
    rows = world.label_rows()
    assert {t for _, t, _ in rows} == set(TYPOLOGIES)
    assert all(ADDRESS.match(a) and 1 <= b <= CONFIG.blocks for a, _, b in rows)


def test_typologies_recur_in_every_100_block_window():
    world = World(CONFIG)
    for _ in plan_blocks(world):
        pass
    rows = world.label_rows()
    for lo in range(1, CONFIG.blocks - 99, 25):
        assert any(lo <= b < lo + 100 for _, _, b in rows), lo
    starts = Counter(typology_schedule(World(CONFIG)).values())
    assert set(starts) == set(TYPOLOGIES) and min(starts.values()) >= 5


def test_no_sender_mixes_fees_within_a_block():
    world = World(ScenarioConfig(seed=11, blocks=120, txs_per_block=30))
    for block in plan_blocks(world):
        fees: dict = {}
        for tx in block.txs:
            assert fees.setdefault(tx.sender, tx.fees) == tx.fees


def test_labels_round_trip(tmp_path):
    rows = [("0x" + "ab" * 20, "dusting", 12), ("0x" + "cd" * 20, "peel_chain", 3)]
    path = tmp_path / "labels.csv"
    write_labels(path, rows)
    assert path.read_text().splitlines()[0] == "address,typology,first_block"
    assert read_labels(path) == rows


def test_cached_chain_is_reused_only_for_the_same_config_and_code(tmp_path):
    files = ChainFiles.in_dir(tmp_path)
    assert files.matching_manifest(CONFIG, "fp") is None
    files.state.write_text("{}")
    write_labels(files.labels, [])
    files.manifest.write_text(json.dumps({"fingerprint": "fp", "config": asdict(CONFIG)}))
    assert files.matching_manifest(CONFIG, "fp") is not None
    assert files.matching_manifest(CONFIG, "other") is None
    assert files.matching_manifest(ScenarioConfig(seed=8, blocks=300), "fp") is None
    beside = ChainFiles.beside(tmp_path / "chain.json")
    assert (beside.labels.name, beside.manifest.name) == ("chain.labels.csv", "chain.manifest.json")


def test_regime_shift_changes_only_the_blocks_from_the_shift_on():
    # 180 blocks: after the shift there is room for every typology (a round of all of them is ~50 blocks)
    config = ScenarioConfig(seed=3, blocks=180, txs_per_block=20)
    shifted = ScenarioConfig(seed=3, blocks=180, txs_per_block=20, regime_shift_at=60)
    (_, before), (world, after) = _plan(config), _plan(shifted)
    assert before[:59] == after[:59] and before[59:] != after[59:]
    assert config.cache_key() == "f3-s3-b180-k20-a400" and shifted.cache_key() == "f3-s3-b180-k20-a400-r60"

    def figures(plan: list) -> tuple[float, float, float]:
        txs = [tx for block in plan for tx in block]
        price = [int(tx.get("maxFeePerGas", tx.get("gasPrice")), 16) for tx in txs]
        value = [int(tx["value"], 16) for tx in txs if int(tx["value"], 16)]
        return float(np.median(price)), float(np.median(value)), sum("data" in tx for tx in txs) / len(txs)

    (p0, v0, c0), (p1, v1, c1) = figures(before[60:]), figures(after[60:])
    assert p1 > 3 * p0 and v1 > 3 * v0 and c1 > c0 + 0.1  # gas prices, ETH values, contract calls
    assert {t for _, t, b in world.label_rows() if b >= 60} == set(TYPOLOGIES)  # typologies continue


def _signer(a: dict) -> str | None:
    ints = [int(a[k], 16) for k in ("chainId", "nonce", "yParity", "r", "s")]
    return recover_authority(ints[0], a["address"], ints[1], *ints[2:])


def test_type4_delegations_are_signed_by_their_wallets_with_the_nonces_the_chain_expects():
    world = World(CONFIG)
    nonces: dict[str, int] = {}  # replayed from the planned txs, as the chain applies them
    delegations = []
    for block in plan_blocks(world):
        senders = Counter(tx.sender for tx in block.txs)
        for tx in block.txs:
            assert tx.nonce == nonces.get(tx.sender, 0)
            nonces[tx.sender] = tx.nonce + 1
            for a in tx.authorizations or []:
                signer = _signer(a)
                assert signer is not None and int(a["nonce"], 16) == nonces.get(signer, 0)
                assert senders[signer] == (signer == tx.sender)  # no other tx of the wallet in that block
                assert int(a["chainId"], 16) in (0, CONFIG.chain_id)
                nonces[signer] = nonces.get(signer, 0) + 1
            if tx.fees.tx_type == 4:
                delegations.append(tx)
    assert all(world.ledger.nonces.get(a, 0) == n for a, n in nonces.items())
    kinds = ("delegation", "wallet_upgrade")  # wallets (delegations.py), sweeper victims, upgrades (benign.py)
    assert len(delegations) > 30 and all(tx.kind in kinds and tx.authorizations for tx in delegations)
    sponsored = [tx for tx in delegations if tx.sender in world.wallets.relayers]
    assert sponsored and any(len(tx.authorizations) > 1 for tx in sponsored)
    targets = {a["address"] for tx in delegations for a in tx.authorizations}
    assert ZERO in targets and targets - {ZERO} <= set(world.wallets.targets) | set(world.contracts)


def test_calls_to_tokens_only_reach_tokens_mined_in_an_earlier_block():
    # a call in the deployment's own block may be mined first and pay an empty address (the ledger then drifts)
    w = World(ScenarioConfig(seed=7, blocks=40, txs_per_block=100))
    mined: set[str] = set()
    for block in plan_blocks(w):
        assert not [tx for tx in block.txs if tx.to in set(w.tokens) - mined], block.number
        mined |= set(w.tokens)
