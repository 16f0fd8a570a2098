"""Generating the scenario into real anvils: determinism of block hashes, speed, the live miner."""

import time

import numpy as np
import pytest

from blockanalytix_assets.devnet.live import mine_live_block
from blockanalytix_assets.devnet.rpc import DevnetRpc
from blockanalytix_assets.devnet.scenario import ScenarioError, play
from blockanalytix_assets.devnet.world import ScenarioConfig, World

pytestmark = pytest.mark.integration


def _generate(fresh_anvil, config: ScenarioConfig) -> tuple[list[str], dict]:
    anvil = fresh_anvil(auto_mine=False)
    rpc = DevnetRpc(anvil.url)
    manifest, _ = play(rpc, config)
    hashes = [
        b["hash"] for b in rpc.batch([("eth_getBlockByNumber", [hex(n), False]) for n in range(config.blocks + 1)])
    ]
    rpc.close()
    anvil.stop()
    return hashes, manifest


def test_same_seed_gives_the_same_block_hashes(fresh_anvil):
    config = ScenarioConfig(seed=5, blocks=40, txs_per_block=10, accounts=60)
    first, m1 = _generate(fresh_anvil, config)
    second, m2 = _generate(fresh_anvil, config)
    other, _ = _generate(fresh_anvil, ScenarioConfig(seed=6, blocks=40, txs_per_block=10, accounts=60))
    assert first == second and m1["head"] == m2["head"]
    assert len(set(first)) == 41
    assert other[0] == first[0]  # same genesis, different history
    assert other[1:] != first[1:] and other[-1] != first[-1]


def test_ten_thousand_transactions_generate_well_under_a_minute(fresh_anvil):
    config = ScenarioConfig(seed=7, blocks=500, txs_per_block=21)
    anvil = fresh_anvil(auto_mine=False)
    rpc = DevnetRpc(anvil.url)
    t0 = time.perf_counter()
    manifest, _ = play(rpc, config)
    seconds = time.perf_counter() - t0
    rate = manifest["tx_count"] / seconds
    n = manifest["tx_count"]
    print(f"\ndevnet generation: {n} txs in {config.blocks} blocks, {seconds:.2f}s, {rate:.0f} tx/s")
    assert n >= 10_000
    assert int(rpc.call("eth_blockNumber"), 16) == config.blocks
    assert seconds < 60
    rpc.close()


def test_play_refuses_a_node_that_already_has_blocks(fresh_anvil):
    anvil = fresh_anvil(auto_mine=False)
    rpc = DevnetRpc(anvil.url)
    rpc.call("evm_mine")
    with pytest.raises(ScenarioError, match="fresh anvil"):
        play(rpc, ScenarioConfig(blocks=5))
    rpc.close()


def test_live_miner_adds_blocks_with_transactions(devnet, fresh_anvil):
    anvil = fresh_anvil(load_devnet=True, auto_mine=False)
    rpc = DevnetRpc(anvil.url)
    accounts = World(devnet.config).retail
    rng = np.random.default_rng(0)
    for expected in (devnet.head + 1, devnet.head + 2):
        assert mine_live_block(rpc, rng, accounts, 4, devnet.config.block_time) == expected
    head = rpc.call("eth_getBlockByNumber", "latest", False)
    assert int(head["number"], 16) == devnet.head + 2
    assert len(head["transactions"]) >= 1
    assert int(head["timestamp"], 16) == devnet.manifest["head"]["timestamp"] + 2 * devnet.config.block_time
    rpc.close()
