"""Pytest fixture `replay_rpc`: the devnet's first blocks as recorded JSON-RPC answers, served without a node."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from blockanalytix_assets.ingest.replay import load_recording
from blockanalytix_assets.resources import ReplayRpcResource

RECORDING = Path(__file__).resolve().parents[1] / "fixtures" / "rpc" / "devnet_seed7_blocks_0-29.jsonl.gz"
RECORDED_BLOCKS = range(0, 30)  # the `devnet` fixture's chain (DEVNET_CONFIG), blocks 0..29
CHAIN_ID = 31337


@dataclass(frozen=True)
class ReplayRpc:
    """What tests get from `replay_rpc`: resources over the recording and its answers."""

    recording: Path
    chain_id: int
    blocks: range

    def resource(self, **overrides: Any) -> ReplayRpcResource:
        """A ReplayRpcResource on the recording; overrides set RpcResource fields (chain_id, batch_size, ...)."""
        return ReplayRpcResource(**{"recording": str(self.recording), "chain_id": self.chain_id, **overrides})

    def call(self, method: str, *params: Any) -> Any:
        """The recorded result of one request (as DevnetHandle.call answers it from the live node)."""
        answer = load_recording(str(self.recording)).answer(method, list(params))
        if "error" in answer:
            raise AssertionError(f"{method} was recorded as an error: {answer['error']}")
        return answer["result"]


@pytest.fixture(scope="session")
def replay_rpc() -> ReplayRpc:
    """The recorded devnet blocks 0..29 (`make record-rpc` regenerates them); no process is started."""
    return ReplayRpc(RECORDING, CHAIN_ID, RECORDED_BLOCKS)
