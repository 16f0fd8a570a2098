"""Keep a devnet alive: mine a block with light activity every few seconds (for the chain-head sensor)."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable

import numpy as np

from blockanalytix_assets.devnet.plan import BASE_FEE, GAS_TRANSFER, GWEI
from blockanalytix_assets.devnet.rpc import DevnetRpc
from blockanalytix_assets.devnet.world import ScenarioConfig, World


def mine_live_block(rpc: DevnetRpc, rng: np.random.Generator, accounts: list[str], txs: int, block_time: int) -> int:
    """Send up to txs small payments (one per sender) and mine them 12 s after the head; return its number."""
    head = rpc.call("eth_getBlockByNumber", "latest", False)
    senders = rng.choice(len(accounts), size=min(txs, len(accounts)), replace=False)
    calls = []
    for i in senders:
        to = accounts[int(rng.integers(len(accounts)))]
        tip = int(rng.uniform(1, 3) * GWEI)
        calls.append(
            (
                "eth_sendTransaction",
                [
                    {
                        "from": accounts[int(i)],
                        "to": to,
                        "value": hex(int(rng.uniform(0.001, 0.05) * 1e18)),
                        "gas": hex(GAS_TRANSFER),
                        "maxFeePerGas": hex(tip + 30 * GWEI),
                        "maxPriorityFeePerGas": hex(tip),
                    }
                ],
            )
        )
    rpc.batch(calls, strict=False)  # a sender that ran dry is simply skipped
    rpc.call("anvil_setNextBlockBaseFeePerGas", hex(BASE_FEE))
    rpc.call("evm_mine", {"timestamp": int(head["timestamp"], 16) + block_time, "blocks": 1})
    return int(head["number"], 16) + 1


def live_loop(
    url: str,
    config: ScenarioConfig,
    interval: float = 5.0,
    txs: int = 5,
    stop: threading.Event | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> None:
    """Mine a light block every interval seconds until stop is set (or KeyboardInterrupt)."""
    rpc = DevnetRpc(url)
    rpc.call("evm_setAutomine", False)
    accounts = World(config).retail
    rng = np.random.default_rng([config.seed, 1])
    stop = stop or threading.Event()
    try:
        while not stop.is_set():
            number = mine_live_block(rpc, rng, accounts, txs, config.block_time)
            log(f"live: mined block {number}")
            stop.wait(interval)
    finally:
        rpc.close()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the detached live miner (`python -m blockanalytix_assets.devnet.live`)."""
    p = argparse.ArgumentParser(prog="blockanalytix_assets.devnet.live")
    p.add_argument("--url", required=True)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--accounts", type=int, default=400)
    p.add_argument("--interval", type=float, default=5.0)
    p.add_argument("--txs", type=int, default=5)
    a = p.parse_args(argv)
    try:
        cfg = ScenarioConfig(seed=a.seed, accounts=a.accounts)
        live_loop(a.url, cfg, a.interval, a.txs, log=lambda m: print(m, flush=True))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
