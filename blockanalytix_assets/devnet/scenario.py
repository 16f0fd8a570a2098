"""Deterministic devnet scenario: plan blocks (pure) and play them into a running anvil."""

from __future__ import annotations

import csv
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from blockanalytix_assets.devnet.activity import background, deploy_tokens
from blockanalytix_assets.devnet.benign import BENIGN_EVERY, UTILITIES_BLOCK, benign, deploy_utilities
from blockanalytix_assets.devnet.delegations import plan_delegations
from blockanalytix_assets.devnet.plan import BASE_FEE, BlockBuilder
from blockanalytix_assets.devnet.rpc import DevnetRpc
from blockanalytix_assets.devnet.typologies import TYPOLOGY_FUNCS
from blockanalytix_assets.devnet.world import TYPOLOGIES, ScenarioConfig, World

LABEL_COLUMNS = ("address", "typology", "first_block")
FIRST_TYPOLOGY_BLOCK = 4  # after the token launches (block 1) have been distributed a little


class ScenarioError(RuntimeError):
    """The node did not mine exactly the planned transactions."""


def typology_schedule(world: World) -> dict[int, str]:
    """Return start block -> typology: a shuffled round of all typologies, one about every few blocks."""
    cfg, rng = world.config, world.rng
    schedule: dict[int, str] = {}
    block = FIRST_TYPOLOGY_BLOCK
    order: list[str] = []
    while block <= cfg.blocks:
        if not order:
            order = [TYPOLOGIES[i] for i in rng.permutation(len(TYPOLOGIES))]
        schedule[block] = order.pop()
        block += max(1, cfg.typology_every + int(rng.integers(-2, 3)))
    return schedule


def plan_blocks(world: World) -> Iterator[BlockBuilder]:
    """Plan blocks 1..config.blocks in order; each yielded block is final (its credits are applied)."""
    cfg = world.config
    schedule = typology_schedule(world)
    active: list[Iterator[None]] = []
    for number in range(1, cfg.blocks + 1):
        block = world.new_block(number)
        if number == 1:
            deploy_tokens(world)
        if number == UTILITIES_BLOCK:
            deploy_utilities(world)
        elif number > UTILITIES_BLOCK and number % BENIGN_EVERY == 0:
            active.append(benign(world))
        if number in schedule:
            active.append(TYPOLOGY_FUNCS[schedule[number]](world))
        for inst in list(active):
            if next(inst, StopIteration) is StopIteration:
                active.remove(inst)
        background(world, cfg.txs_per_block - len(block.txs))
        plan_delegations(world)  # its own RNG and accounts: the txs above are those of the chain without it
        world.ledger.end_block()
        yield block


def _send_calls(block: BlockBuilder) -> list[tuple[str, list]]:
    return [("eth_sendTransaction", [tx.rpc()]) for tx in block.txs]


def _check_mined(number: int, mined: dict, sent: list[str]) -> None:
    got = mined["transactions"]
    if sorted(got) != sorted(sent):
        raise ScenarioError(
            f"block {number}: node mined {len(got)} transactions, {len(sent)} were sent "
            f"({len(set(sent) - set(got))} missing): anvil dropped or deferred some"
        )


def play(rpc: DevnetRpc, config: ScenarioConfig, log: Callable[[str], None] = lambda _: None) -> tuple[dict, World]:
    """Fill a fresh anvil (started with --no-mining) with the scenario; return (manifest, world)."""
    if int(rpc.call("eth_blockNumber"), 16) != 0:
        raise ScenarioError("the node already has blocks: the scenario needs a fresh anvil")
    if int(rpc.call("eth_chainId"), 16) != config.chain_id:
        raise ScenarioError(f"node chain id differs from {config.chain_id}")
    t0 = time.monotonic()
    world = World(config)
    items = list(world.genesis.items())
    for i in range(0, len(items), 500):
        rpc.batch([("anvil_setBalance", [a, hex(v)]) for a, v in items[i : i + 500]])
    types: Counter = Counter()
    kinds: Counter = Counter()
    prev: tuple[int, list[str]] | None = None
    for block in plan_blocks(world):
        calls = _send_calls(block)
        if prev:
            calls.append(("eth_getBlockByNumber", [hex(prev[0]), False]))
        results = rpc.batch(calls)
        if prev:
            _check_mined(prev[0], results.pop(), prev[1])
        rpc.call("anvil_setNextBlockBaseFeePerGas", hex(BASE_FEE))
        rpc.call("evm_mine", {"timestamp": block.timestamp, "blocks": 1})
        prev = (block.number, results)
        types.update(tx.fees.tx_type for tx in block.txs)
        kinds.update("revert" if tx.reverts else tx.kind for tx in block.txs)
        if block.number % 100 == 0:
            log(f"block {block.number}/{config.blocks}: {sum(types.values())} transactions")
    if prev:
        _check_mined(prev[0], rpc.call("eth_getBlockByNumber", hex(prev[0]), False), prev[1])
    pool = rpc.call("txpool_status")
    if int(pool["pending"], 16) or int(pool["queued"], 16):
        raise ScenarioError(f"transactions left in the pool after generation: {pool}")
    seconds = time.monotonic() - t0
    head = rpc.call("eth_getBlockByNumber", "latest", False)
    label_counts = Counter(t for _, t, _ in world.label_rows())
    manifest = {
        "seed": config.seed,
        "blocks": config.blocks,
        "txs_per_block": config.txs_per_block,
        "accounts": config.accounts,
        "chain_id": config.chain_id,
        "genesis_timestamp": config.genesis_timestamp,
        "block_time": config.block_time,
        "head": {"number": int(head["number"], 16), "hash": head["hash"], "timestamp": int(head["timestamp"], 16)},
        "tx_count": sum(types.values()),
        "tx_types": {str(k): v for k, v in sorted(types.items())},
        "tx_kinds": dict(sorted(kinds.items())),
        "tokens": world.tokens,
        "contracts": dict(sorted(world.contracts.items())),
        "exchanges": world.exchanges,
        "labels": {t: label_counts.get(t, 0) for t in TYPOLOGIES},
        "generation_seconds": round(seconds, 3),
    }
    log(f"generated {manifest['tx_count']} transactions in {config.blocks} blocks in {seconds:.1f}s")
    return manifest, world


def write_labels(path: Path, rows: list[tuple[str, str, int]]) -> None:
    """Write ground-truth labels as CSV address,typology,first_block (atomic)."""
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(LABEL_COLUMNS)
        writer.writerows(rows)
    tmp.replace(path)


def read_labels(path: Path) -> list[tuple[str, str, int]]:
    """Read a labels CSV back as (address, typology, first_block) rows."""
    with open(path, newline="") as f:
        return [(r["address"], r["typology"], int(r["first_block"])) for r in csv.DictReader(f)]


def write_json(path: Path, data: dict) -> None:
    """Write JSON atomically."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)
