"""The replay transport: RpcClient batches answered from a recording, and loud failures for what it lacks."""

from __future__ import annotations

import orjson
import pytest

from blockanalytix_assets.ingest.extract import extract_range
from blockanalytix_assets.ingest.replay import REPLAY_URL, UnrecordedRequest, recording_line, replay_session
from blockanalytix_assets.ingest.rpc import BlockNotFoundError, ChainIdMismatch, MethodNotFound, RpcClient


def _client(path, **kw) -> RpcClient:
    return RpcClient(REPLAY_URL, session=replay_session(str(path)), **kw)


def test_batches_over_worker_threads_get_the_recorded_answers(replay_rpc):
    with _client(replay_rpc.recording, batch_size=7, max_workers=3) as client:
        assert client.check_chain_id(31337) == 31337 and client.block_number() == 300
        fetched = client.fetch_range(0, 29)
        tables = extract_range(client, 10, 19)
        stats = client.stats()
    assert [b["hash"] for b in fetched.blocks] == [
        replay_rpc.call("eth_getBlockByNumber", hex(n), True)["hash"] for n in range(30)
    ]
    assert fetched.receipts[12] == replay_rpc.call("eth_getBlockReceipts", hex(12))
    assert tables["raw_blocks"].column("number").to_pylist() == list(range(10, 20))
    assert tables["raw_transactions"].num_rows > 0 and tables["token_transfers"].num_rows > 0
    assert stats["requests"] > 60 / 7 and not any(k.startswith("fault_") for k in stats)


def test_an_unrecorded_request_fails_naming_it_and_the_file(replay_rpc):
    with _client(replay_rpc.recording) as client, pytest.raises(UnrecordedRequest) as exc:
        client.get_blocks([30, 31])  # below the recorded head (300), but not recorded
    message = str(exc.value)
    assert "eth_getBlockByNumber['0x1e', True]" in message and replay_rpc.recording.name in message
    assert "make record-rpc" in message


def test_blocks_above_the_recorded_head_are_null_as_on_a_node(replay_rpc):
    with _client(replay_rpc.recording) as client:
        with pytest.raises(BlockNotFoundError, match="its head is 300"):
            client.fetch_range(301, 305)
        with pytest.raises(ChainIdMismatch, match="serves chain id 31337"):
            client.check_chain_id(1)


def test_recorded_errors_are_answered_as_the_node_gave_them(tmp_path):
    path = tmp_path / "lacks_block_receipts.jsonl"
    lines = [
        recording_line("eth_getBlockReceipts", ["0x1"], {"error": {"code": -32601, "message": "Method not found"}}),
        recording_line("eth_getTransactionReceipt", ["0xaa"], {"result": {"transactionHash": "0xaa"}}),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    with _client(path) as client:
        assert client.get_receipts([1], blocks=[{"transactions": ["0xaa"]}]) == {1: [{"transactionHash": "0xaa"}]}
        assert client.block_receipts_supported is False
        with pytest.raises(UnrecordedRequest, match="eth_chainId"):
            client.chain_id()
    single = replay_session(str(path)).post(
        REPLAY_URL, data=orjson.dumps({"id": 9, "method": "eth_getBlockReceipts", "params": ["0x1"]})
    )
    assert orjson.loads(single.content) == {
        "jsonrpc": "2.0",
        "id": 9,
        "error": {"code": -32601, "message": "Method not found"},
    }
    with pytest.raises(MethodNotFound):
        _client(path).batch([("eth_getBlockReceipts", ["0x1"]), ("eth_getTransactionReceipt", ["0xaa"])])
