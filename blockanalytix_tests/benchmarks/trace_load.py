"""An anvil chain with thousands of traces per block: fan-out contracts making hundreds of internal calls per tx.

Hand-assembled EVM code (no compiler: as blockanalytix_tests/trace_chain.py). A transaction calls FANOUT with
calldata (target, n, leaf): FANOUT calls target n times with 100 bytes of input; target LEAF returns one word
(n + 1 traces, depth 1), target RELAY calls LEAF and returns its word (2n + 1 traces, depth 2).
"""

from __future__ import annotations

from blockanalytix_assets.devnet.rpc import DevnetRpc
from blockanalytix_tests.trace_chain import deploy_code

LEAF = "602a60005260206000f3"  # MSTORE(0, 42); RETURN(0, 32)
RELAY = "60206000600060006000604035" + "5af150" + "60206000f3"  # CALL(gas, word 2, 0, 0, 0, 0, 32); RETURN(0, 32)
ARGS = 0x64  # the input of each inner call: the transaction's three words and 4 zero bytes


def _fanout() -> str:
    """CALLDATACOPY(0, 0, ARGS); n = word 1; while n: CALL(gas, word 0, 0, 0, ARGS, 0x80, 32); n -= 1."""
    head = f"60{ARGS:02x}60006000376020 35".replace(" ", "")
    loop_at = len(head) // 2
    body = f"8015 60__ 57 6020 6080 60{ARGS:02x} 6000 6000 6000 35 5a f1 50 6001 90 03 60{loop_at:02x} 56"
    body = "5b" + body.replace(" ", "")
    end = loop_at + len(body) // 2
    return head + body.replace("__", f"{end:02x}") + "5b00"


FANOUT = _fanout()
SENDERS = 10  # anvil's funded accounts: one transaction per sender per block (manual mining)


def deploy(rpc: DevnetRpc) -> dict[str, str]:
    """Deploy LEAF, RELAY and FANOUT in one block; their addresses by name."""
    sender = rpc.call("eth_accounts")[0]
    names, codes = ("leaf", "relay", "fanout"), (LEAF, RELAY, FANOUT)
    nonce = int(rpc.call("eth_getTransactionCount", sender, "latest"), 16)
    calls = [("eth_sendTransaction", [{"from": sender, "data": deploy_code(c), "gas": hex(500_000),
                                        "nonce": hex(nonce + i)}]) for i, c in enumerate(codes)]  # fmt: skip
    hashes = rpc.batch(calls)
    rpc.call("evm_mine")
    receipts = rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
    return {n: r["contractAddress"] for n, r in zip(names, receipts, strict=True)}


def load(url: str, blocks: int, calls_per_tx: int) -> dict:
    """Mine blocks of SENDERS fan-out transactions each (half to LEAF, half through RELAY); what was mined."""
    rpc = DevnetRpc(url)
    try:
        addr = deploy(rpc)
        first = int(rpc.call("eth_blockNumber"), 16) + 1
        accounts = rpc.call("eth_accounts")[:SENDERS]

        def word(x: str | int) -> str:
            return (x[2:] if isinstance(x, str) else f"{x:x}").rjust(64, "0")

        for _ in range(blocks):
            txs = []
            for i, sender in enumerate(accounts):
                target = addr["leaf"] if i % 2 == 0 else addr["relay"]
                data = "0x" + word(target) + word(calls_per_tx) + word(addr["leaf"])
                txs.append(("eth_sendTransaction", [{"from": sender, "to": addr["fanout"], "data": data,
                                                      "gas": hex(3_000_000)}]))  # fmt: skip
            rpc.batch(txs)
            rpc.call("evm_mine")
        last = int(rpc.call("eth_blockNumber"), 16)
    finally:
        rpc.close()
    per_block = SENDERS // 2 * (calls_per_tx + 1) + (SENDERS - SENDERS // 2) * (2 * calls_per_tx + 1)
    return {"first": first, "last": last, "traces_per_block": per_block, "addresses": addr}
