"""The generated devnet chain, read back from a real anvil: tx types, creations, reverts, tokens, labels."""

from collections import defaultdict

import pytest

from blockanalytix_assets.devnet.erc20 import TRANSFER_TOPIC
from blockanalytix_assets.devnet.rpc import DevnetRpc
from blockanalytix_assets.devnet.scenario import plan_blocks, read_labels
from blockanalytix_assets.devnet.world import TYPOLOGIES, World

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def chain(devnet):
    """Every block (full transactions) and every receipt of the devnet, fetched in batches."""
    numbers = range(1, devnet.head + 1)
    blocks, receipts = [], []
    for i in range(0, len(numbers), 50):
        chunk = numbers[i : i + 50]
        blocks += devnet.rpc.batch([("eth_getBlockByNumber", [hex(n), True]) for n in chunk])
        receipts += devnet.rpc.batch([("eth_getBlockReceipts", [hex(n)]) for n in chunk])
    return blocks, receipts


def test_head_and_timestamps_match_the_manifest(devnet, chain):
    blocks, _ = chain
    head = devnet.call("eth_getBlockByNumber", "latest", False)
    assert int(head["number"], 16) == devnet.head == devnet.config.blocks
    assert head["hash"] == devnet.manifest["head"]["hash"]
    cfg = devnet.config
    assert [int(b["timestamp"], 16) for b in blocks] == [
        cfg.genesis_timestamp + n * cfg.block_time for n in range(1, cfg.blocks + 1)
    ]
    assert int(devnet.call("eth_chainId"), 16) == devnet.chain_id == 31337


def test_chain_has_all_tx_types_creations_reverts_and_token_transfers(devnet, chain):
    blocks, receipts = chain
    txs = [t for b in blocks for t in b["transactions"]]
    rcpts = [r for rs in receipts for r in rs]
    assert len(txs) == len(rcpts) == devnet.manifest["tx_count"]
    assert {t["type"] for t in txs} == {"0x0", "0x1", "0x2", "0x4"}
    assert all(t["accessList"] for t in txs if t["type"] == "0x1")
    assert all(t["authorizationList"] for t in txs if t["type"] == "0x4")
    kinds = devnet.manifest["tx_kinds"]
    assert devnet.manifest["tx_types"]["4"] == kinds["delegation"] + kinds["wallet_upgrade"] > 30
    created = [r["contractAddress"] for r in rcpts if r["contractAddress"]]
    assert len(created) >= 3
    assert {c.lower() for c in created} == set(devnet.manifest["tokens"]) | set(devnet.manifest["contracts"])
    reverted = [r for r in rcpts if r["status"] == "0x0"]
    assert len(reverted) >= devnet.manifest["tx_kinds"]["revert"] > 10
    transfers = [lg for r in rcpts for lg in r["logs"] if lg["topics"][0] == TRANSFER_TOPIC]
    assert len(transfers) > 500
    assert {lg["address"].lower() for lg in transfers} <= set(devnet.manifest["tokens"])
    assert not any(r["logs"] for r in reverted)


def test_every_label_is_active_on_chain_at_its_first_block(devnet, chain):
    blocks, receipts = chain
    seen: dict[int, set[str]] = defaultdict(set)
    for b, rs in zip(blocks, receipts, strict=True):
        n = int(b["number"], 16)
        for t in b["transactions"]:
            seen[n].update(a.lower() for a in (t["from"], t["to"]) if a)
        for r in rs:
            if r["contractAddress"]:  # a labelled contract is active from its creation
                seen[n].add(r["contractAddress"].lower())
            for lg in r["logs"]:
                seen[n].update("0x" + topic[-40:] for topic in lg["topics"][1:3])
    rows = read_labels(devnet.labels_path)
    assert {t for _, t, _ in rows} == set(TYPOLOGIES)
    assert len({a for a, _, _ in rows}) > 50
    missing = [(a, t, f) for a, t, f in rows if a not in seen[f]]
    assert missing == []
    for lo in range(1, devnet.head - 98, 20):  # any 100-block range holds labelled activity
        assert any(lo <= f < lo + 100 for _, _, f in rows), lo


def test_reloaded_state_serves_the_same_chain(devnet, fresh_anvil):
    anvil = fresh_anvil(load_devnet=True)
    rpc = DevnetRpc(anvil.url)
    got = rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in (1, 150, devnet.head)])
    want = devnet.rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in (1, 150, devnet.head)])
    assert [b["hash"] for b in got] == [b["hash"] for b in want]
    rpc.close()


def test_delegated_wallets_carry_the_delegation_designator(devnet, chain):
    blocks, receipts = chain
    type4 = [(t, r) for b, rs in zip(blocks, receipts, strict=True) for t, r in zip(b["transactions"], rs, strict=True)
             if t["type"] == "0x4"]  # fmt: skip
    assert type4 and all(r["status"] == "0x1" for _, r in type4)
    world = World(devnet.config)
    for _ in plan_blocks(world):  # the plan knows which wallets end delegated, and to what
        pass
    wallets = world.wallets
    codes = devnet.rpc.batch([("eth_getCode", [a, "latest"]) for a in wallets.keys])
    want = ["0xef0100" + wallets.delegated[a][2:] if a in wallets.delegated else "0x" for a in wallets.keys]
    assert codes == want and any(c != "0x" for c in codes)  # a revoked (or never delegated) wallet has no code
