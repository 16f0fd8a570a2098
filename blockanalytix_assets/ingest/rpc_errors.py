"""JSON-RPC failures: the exceptions callers see, and the rule that tells transient errors from fatal ones."""

from __future__ import annotations

import re
from typing import Any

from blockanalytix_assets.ingest.redact import scrub
from blockanalytix_assets.ingest.rpc_requests import Call

TRANSIENT_CODES = {-32005, 429, -32097}
TRANSIENT_MSG = re.compile(
    r"header not found|limit|exceeded|rate|too many|timeout|timed out|busy|try again|temporar|"
    r"unavailable|capacity|overload",
    re.I,
)
# an eth_call that ran and failed (revert, invalid opcode, out of gas): an answer, not a node failure
REVERT_MSG = re.compile(
    r"revert|invalid opcode|opcode ?not ?found|out of gas|stack (underflow|overflow)|invalid jump|evm error|halt", re.I
)
# a pruned (non-archive) node asked for state at an old block: geth/Nethermind "missing trie node", geth's path
# scheme "historical state ... is not available", Reth/Erigon "pruned", anvil after --load-state "BlockOutOfRange"
STATE_MSG = re.compile(r"missing trie node|historical state|state .*(not available|unavailable)|pruned|"
                       r"BlockOutOfRange|state histor", re.I)  # fmt: skip
NOT_FOUND_MSG = re.compile(r"method .*(not found|does not exist|not available|not supported)|unsupported method", re.I)


class RpcError(RuntimeError):
    """A JSON-RPC request that failed for good (retries exhausted or a non-transient error)."""


class ChainIdMismatch(RpcError):
    """The node serves another chain than the configured BLOCKANALYTIX_CHAIN_ID."""


class BlockNotFoundError(RpcError):
    """A requested block is beyond the node's head (the node returned null)."""


class MethodNotFound(RpcError):
    """The node does not implement a JSON-RPC method."""


class StateUnavailable(RpcError):
    """The node has no state at the requested block (a pruned, non-archive node): eth_call there cannot answer."""


class TracerError(RpcError):
    """geth's callTracer failed for a transaction of a block ({"error": ...} in its place) on every retry."""


class _Transient(Exception):
    """A failure worth retrying; reason is a short counter name."""

    def __init__(self, reason: str, retry_after: float = 0.0, split: bool = True):
        super().__init__(reason)
        self.reason, self.retry_after, self.split = reason, retry_after, split


def _blocks_of(calls: list[Call]) -> str:
    """The block numbers a list of calls is about, compactly, for error messages."""
    nums = sorted(
        int(p[0], 16) for _, p in calls if p and isinstance(p[0], str) and p[0].startswith("0x") and len(p[0]) < 20
    )
    if not nums:
        return f"{len(calls)} call(s)"
    if len(nums) == 1:
        return f"block {nums[0]}"
    return f"blocks {nums[0]}..{nums[-1]} ({len(nums)} calls)"


def _classify(err: Any, method: str) -> Exception | None:
    """None for a transient JSON-RPC error object, else the exception to raise."""
    code = err.get("code") if isinstance(err, dict) else None
    msg = str(err.get("message", err) if isinstance(err, dict) else err)
    if code == -32601 or NOT_FOUND_MSG.search(msg):
        return MethodNotFound(f"the node does not support {method} ({code}: {scrub(msg)})")
    if method == "eth_call" and STATE_MSG.search(msg):  # before the transient rule: "unavailable" would match
        return StateUnavailable(f"{method} failed: JSON-RPC error {code}: {scrub(msg)}")
    if code in TRANSIENT_CODES or TRANSIENT_MSG.search(msg):
        return None
    return RpcError(f"{method} failed: JSON-RPC error {code}: {scrub(msg)}")


def is_revert(err: Any) -> bool:
    """Whether a JSON-RPC error object reports a call that ran and failed (code 3, or a revert/halt message)."""
    code = err.get("code") if isinstance(err, dict) else None
    msg = str(err.get("message", err) if isinstance(err, dict) else err)
    if code == 3:
        return True
    if code == -32601 or NOT_FOUND_MSG.search(msg) or code in TRANSIENT_CODES or TRANSIENT_MSG.search(msg):
        return False
    if STATE_MSG.search(msg):
        return False
    return bool(REVERT_MSG.search(msg))
