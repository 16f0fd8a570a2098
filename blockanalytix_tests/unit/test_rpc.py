"""RpcClient against a local node replaying recorded mainnet responses, behind the fault proxy."""

from __future__ import annotations

import logging
import time

import pytest

from blockanalytix_assets.ingest.extract import extract_range
from blockanalytix_assets.ingest.redact import redact_url
from blockanalytix_assets.ingest.rpc import RpcClient
from blockanalytix_assets.ingest.rpc_errors import BlockNotFoundError, ChainIdMismatch, RpcError
from blockanalytix_tests.faultproxy import FIXTURES, FaultProxy, ReplayNode, recorded

N = 18000000
FAST = dict(backoff_base=0.01, backoff_max=0.05, timeout=2.0)


def mainnet_recordings() -> list[tuple[str, list, object]]:
    """Block 18000000 and its receipts (Erigon), block 483920 and its per-tx receipts (ethereum-etl)."""
    out = []
    for name in ("eth_getBlockByNumber_18000000", "eth_getBlockReceipts_18000000"):
        req, result = recorded(f"erigon/{name}.json.gz")
        out.append((req["method"], req["params"], result))
    _, block = recorded("ethereum-etl/block_483920/web3_response.eth_getBlockByNumber_0x76250_true.json")
    out.append(("eth_getBlockByNumber", ["0x76250", True], block))
    for p in (FIXTURES / "ethereum-etl" / "block_483920").glob("*eth_getTransactionReceipt*"):
        _, r = recorded(str(p.relative_to(FIXTURES)))
        out.append(("eth_getTransactionReceipt", [r["transactionHash"]], r))
    return out


@pytest.fixture(scope="module")
def node():
    with ReplayNode(mainnet_recordings(), head=N) as n:
        yield n


@pytest.fixture(scope="module")
def reference(node):
    return extract_range(RpcClient(node.url), N, N)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef", "https://mainnet.infura.io/v3/***"),
        (
            "https://eth-mainnet.g.alchemy.com/v2/Abc-Def_ghijklmnopqrstuvwx12",
            "https://eth-mainnet.g.alchemy.com/v2/***",
        ),
        (
            "https://user:pa55word@node.example.com:8545/rpc?apikey=s3cret",
            "https://***@node.example.com:8545/rpc?***",
        ),
        ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
        ("https://rpc.ankr.com/eth", "https://rpc.ankr.com/eth"),
        ("https://node.example.com/rpc#token", "https://node.example.com/rpc"),
        ("sqlite:///tmp/mlflow.db", "sqlite:///tmp/mlflow.db"),
        ("/tmp/mlruns", "/tmp/mlruns"),
        ("http://[::1", "***"),
    ],
)
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_replay_extract_gives_every_row_of_block_18000000(reference):
    assert reference["raw_blocks"].column("hash").to_pylist() == [recorded(
        "erigon/eth_getBlockByNumber_18000000.json.gz")[1]["hash"]]  # fmt: skip
    assert reference["raw_transactions"].num_rows == 94
    assert reference["raw_logs"].num_rows == sum(len(r["logs"]) for r in mainnet_recordings()[1][2])


@pytest.mark.parametrize(
    "fault", ["429", "500", "502", "503", "truncate", "short_read", "garbage", "drop", "delay", "missing_id",
              "duplicate_id", "item_error"],
)  # fmt: skip
def test_each_fault_is_retried_to_the_same_rows(node, reference, fault):
    with FaultProxy(node.url, script=[fault], delay=1.0, retry_after=0) as proxy:
        client = RpcClient(proxy.url, **{**FAST, "timeout": 0.5})
        tables = extract_range(client, N, N)
    assert proxy.injected[fault] == 1
    assert client.stats()["retries"] >= 1
    for name, table in reference.items():
        assert tables[name].equals(table), name


def test_retry_after_is_honoured(node):
    with FaultProxy(node.url, script=["429"], retry_after=1) as proxy:
        client = RpcClient(proxy.url, **FAST)
        started = time.monotonic()
        assert client.block_number() == N
    assert time.monotonic() - started >= 1.0
    assert client.stats()["fault_http_429"] == 1


def test_a_failing_batch_is_split_in_halves_and_nothing_is_dropped(node):
    calls = [("eth_getTransactionReceipt", [p[0]]) for m, p, _ in mainnet_recordings() if m.endswith("Receipt")]
    with FaultProxy(node.url, script=["502", "502"]) as proxy:
        client = RpcClient(proxy.url, **FAST)
        results = client.batch(calls)
    assert [r["transactionHash"] for r in results] == [c[1][0] for c in calls]
    assert client.stats()["splits"] == 1 and proxy.forwarded == 2  # one request per half


def test_bounded_concurrency_keeps_order(node):
    calls = [("eth_blockNumber", [])] * 37
    client = RpcClient(node.url, batch_size=5, max_workers=3)
    assert client.batch(calls) == [hex(N)] * 37
    assert client.stats()["requests"] == 8


def test_retries_exhausted_raise_a_clear_error_in_bounded_time(node, caplog):
    secret_url_path = "/v3/0123456789abcdef0123456789abcdef"
    caplog.set_level(logging.DEBUG)
    with FaultProxy(node.url, rate=1.0, faults=["500", "drop", "garbage"]) as proxy:
        port = proxy.url.rsplit(":", 1)[1]
        client = RpcClient(f"http://alice:hunter2hunter@127.0.0.1:{port}{secret_url_path}",
                           max_retries=3, **FAST)  # fmt: skip
        started = time.monotonic()
        with pytest.raises(RpcError) as err:
            client.get_blocks([N, N + 1 - 1])
    assert time.monotonic() - started < 5
    text = str(err.value)
    assert "eth_getBlockByNumber" in text and str(N) in text and "after 4 attempts" in text
    assert "/v3/***" in text
    for secret in ("0123456789abcdef0123456789abcdef", "hunter2hunter", "alice"):
        assert secret not in text and secret not in caplog.text


def test_fallback_to_transaction_receipts_is_remembered(node):
    with ReplayNode(mainnet_recordings(), head=N, disabled=["eth_getBlockReceipts"]) as lacking:
        client = RpcClient(lacking.url)
        tables = extract_range(client, 483920, 483920)
        assert client.block_receipts_supported is False
        assert tables["raw_transactions"].column("receipt_gas_used").null_count == 0
        blocks = [r for m, p, r in mainnet_recordings() if p == ["0x76250", True]]
        assert client.get_receipts([483920], blocks)[483920][0]["transactionIndex"] == "0x0"
        assert lacking.calls["eth_getBlockReceipts"] == 1 and lacking.calls["eth_getTransactionReceipt"] == 8


def test_block_beyond_head_and_wrong_chain_say_what_to_fix(node):
    client = RpcClient(node.url, **FAST)
    with pytest.raises(BlockNotFoundError, match=rf"block {N + 5} is beyond the head .*\(its head is {N}\)"):
        client.get_blocks([N, N + 5])
    with pytest.raises(ChainIdMismatch, match="serves chain id 1, but BLOCKANALYTIX_CHAIN_ID is 31337"):
        client.check_chain_id(31337)
    assert client.check_chain_id(1) == 1
