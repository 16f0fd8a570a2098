"""Ingest from a real anvil node through the fault-injecting proxy; failures must say what to fix."""

from __future__ import annotations

import logging
import socket
import subprocess
import time

import pyarrow.compute as pc
import pytest
import requests

from blockanalytix_assets.devnet.anvil import HARDFORK, find_anvil
from blockanalytix_assets.ingest import validation
from blockanalytix_assets.ingest.extract import extract_range
from blockanalytix_assets.ingest.rpc import RpcClient
from blockanalytix_assets.ingest.rpc_errors import ChainIdMismatch, RpcError, TracerError
from blockanalytix_tests.faultproxy import FAULTS, TRACER_ERROR, FaultProxy
from blockanalytix_tests.plugins.integration import starts_processes

pytestmark = pytest.mark.integration

TRANSFER = "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
# runtime: LOG3(Transfer, caller, calldata[32:64]) with data calldata[0:32]; behind a 12-byte deployer
EMITTER = "0x6031600c60003960316000f3" + "60003560005260203533" + "7f" + TRANSFER + "60206000a300"
REVERTER = "0x6005600c60003960056000f3" + "60006000fd"  # runtime: REVERT(0, 0)
SECRET_KEY = "0123456789abcdef0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rpc(url: str, method: str, *params: object) -> object:
    resp = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=10)
    body = resp.json()
    assert "error" not in body, body
    return body["result"]


def mine(url: str, txs: list[dict]) -> list[str]:
    hashes = [rpc(url, "eth_sendTransaction", tx) for tx in txs]
    rpc(url, "evm_mine")
    return hashes


def populate(url: str) -> list[str]:
    """~25 blocks of legacy, EIP-2930, EIP-1559, creation, token and reverted transactions."""
    rpc(url, "evm_setAutomine", False)
    users = [f"0x{i:040x}" for i in range(0x1000, 0x1008)]
    for u in users:
        rpc(url, "anvil_setBalance", u, hex(10**24))
    sent = mine(url, [{"from": users[0], "data": EMITTER}, {"from": users[1], "data": REVERTER}])
    token, reverter = (rpc(url, "eth_getTransactionReceipt", h)["contractAddress"] for h in sent)
    gp = hex(3 * 10**9)
    for block in range(24):
        txs = []
        for i, u in enumerate(users):
            to = users[(i + block + 1) % len(users)]
            kind = (block + i) % 5
            if kind == 0:
                txs.append({"from": u, "to": to, "value": hex(10**20 + block), "gasPrice": gp, "type": "0x0"})
            elif kind == 1:
                txs.append({"from": u, "to": to, "value": hex(7), "gasPrice": gp, "accessList": [], "type": "0x1"})
            elif kind == 2:
                txs.append({"from": u, "to": to, "value": hex(10**18 * (i + 1))})
            elif kind == 3:
                amount = 2**200 + block if i % 2 else block * 1000 + i
                txs.append({"from": u, "to": token, "data": "0x" + f"{amount:064x}" + to[2:].rjust(64, "0")})
            elif block % 3 == 0:
                txs.append({"from": u, "to": reverter, "gas": hex(50000)})
        sent += mine(url, txs)
    return sent


@pytest.fixture(scope="module")
@starts_processes
def anvil():
    port = free_port()
    proc = subprocess.Popen(
        [find_anvil(), "--port", str(port), "--hardfork", HARDFORK, "--auto-impersonate", "--silent"]
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                rpc(url, "eth_chainId")
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        sent = populate(url)
        yield url, sent, int(rpc(url, "eth_blockNumber"), 16)
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def direct(anvil):
    url, _, head = anvil
    return extract_range(RpcClient(url), 0, head)


def test_direct_fetch_has_every_transaction_the_node_mined(anvil, direct):
    url, sent, head = anvil
    txs = direct["raw_transactions"]
    assert sorted(txs.column("hash").to_pylist()) == sorted(sent)
    assert set(txs.column("transaction_type").to_pylist()) == {0, 1, 2}
    assert 0 in txs.column("receipt_status").to_pylist()  # the reverted calls
    transfers = direct["token_transfers"]
    assert str(2**200) in transfers.column("value").to_pylist()
    assert transfers.num_rows == direct["raw_logs"].num_rows > 0
    blocks = direct["raw_blocks"]
    assert blocks.column("hash")[-1].as_py() == rpc(url, "eth_getBlockByNumber", hex(head), False)["hash"]
    for check in (
        validation.blocks_complete(blocks, 0, head),
        validation.transaction_counts_match(blocks, txs),
        validation.transaction_hashes_unique(txs),
        validation.parent_hash_continuity(blocks),
        validation.receipts_present(txs),
    ):
        assert check[0], check[1]


def test_faults_through_the_proxy_give_exactly_the_direct_tables(anvil, direct):
    url, _, head = anvil
    with FaultProxy(url, rate=0.3, seed=7, delay=0.6, retry_after=0) as proxy:
        client = RpcClient(proxy.url, batch_size=8, max_workers=3, timeout=0.4, backoff_base=0.01, max_retries=12)
        tables = extract_range(client, 0, head)
    assert sum(proxy.injected.values()) >= 5 and len(proxy.injected) >= 4, proxy.injected
    assert client.stats()["retries"] >= 5
    for name, table in direct.items():
        assert tables[name].equals(table), name


def test_faults_at_100_percent_fail_clearly_in_bounded_time_without_leaking_secrets(anvil, caplog):
    url, _, head = anvil
    caplog.set_level(logging.DEBUG)
    with FaultProxy(url, rate=1.0, faults=[f for f in FAULTS if f != "delay"]) as proxy:
        port = proxy.url.rsplit(":", 1)[1]
        client = RpcClient(f"http://bob:pw-{SECRET_KEY}@127.0.0.1:{port}/v3/{SECRET_KEY}?key={SECRET_KEY}",
                           max_retries=4, backoff_base=0.02, backoff_max=0.1, timeout=1.0)  # fmt: skip
        started = time.monotonic()
        with pytest.raises(RpcError) as err:
            extract_range(client, 0, head)
    assert time.monotonic() - started < 20
    assert "after 5 attempts" in str(err.value) and "http://***@127.0.0.1" in str(err.value)
    assert "eth_getBlock" in str(err.value) and "block" in str(err.value)
    assert SECRET_KEY not in str(err.value) and SECRET_KEY not in caplog.text and "bob" not in caplog.text


def test_wrong_chain_id_says_what_to_fix(anvil):
    with pytest.raises(ChainIdMismatch, match="BLOCKANALYTIX_CHAIN_ID=31337 if this is the chain you want"):
        RpcClient(anvil[0]).check_chain_id(1)


def test_unreachable_url_says_what_to_fix_without_leaking_the_key(caplog):
    caplog.set_level(logging.DEBUG)
    client = RpcClient(f"http://127.0.0.1:{free_port()}/v2/{SECRET_KEY}", max_retries=2, backoff_base=0.01)
    with pytest.raises(RpcError, match="Nothing answers there: is the node running\\? Check BLOCKANALYTIX_RPC_URL"):
        client.block_number()
    assert SECRET_KEY not in caplog.text and "/v2/***" in caplog.text


@pytest.mark.parametrize("api", ["parity", "geth"])
def test_traces_ride_the_same_batches_through_faults(anvil, direct, api):
    """raw_traces with the client's guarantees: batched with blocks and receipts, retried and split under faults."""
    url, sent, head = anvil
    plain = RpcClient(url)
    plain.trace_api = api
    expected = extract_range(plain, 0, head)
    assert all(expected[name].equals(table) for name, table in direct.items())
    traces = expected["raw_traces"]
    assert validation.one_top_level_trace_per_transaction(expected["raw_transactions"], traces)[0]
    assert traces.num_rows >= len(sent) and 0 in traces.column("status").to_pylist()
    with FaultProxy(url, rate=0.3, seed=11, delay=0.6, retry_after=0) as proxy:
        client = RpcClient(proxy.url, batch_size=3, max_workers=3, timeout=0.4, backoff_base=0.01, max_retries=12)
        client.trace_api = api
        tables = extract_range(client, 0, head)
    assert sum(proxy.injected.values()) >= 5 and client.stats()["retries"] >= 5, proxy.injected
    for name, table in expected.items():
        assert tables[name].equals(table), name


def test_a_geth_tracer_error_for_one_transaction_is_retried_then_named(anvil):
    """callTracer answering {"error"} for one transaction: retried like a transient error; if it persists, the
    failure names the block and the transaction and says what to do."""
    url, _, head = anvil
    plain = RpcClient(url)
    plain.trace_api = "geth"
    expected = extract_range(plain, 0, head)
    with FaultProxy(url, script=[TRACER_ERROR]) as proxy:
        client = RpcClient(proxy.url, backoff_base=0.01)
        client.trace_api = "geth"
        tables = extract_range(client, 0, head)
    assert proxy.injected[TRACER_ERROR] == 1 and client.stats()["fault_tracer_error"] == 1
    assert tables["raw_traces"].equals(expected["raw_traces"])
    with FaultProxy(url, rate=1.0, faults=[TRACER_ERROR]) as proxy:
        client = RpcClient(proxy.url, backoff_base=0.01, max_retries=2)
        client.trace_api = "geth"
        with pytest.raises(TracerError) as failed:
            extract_range(client, 0, head)
    message = str(failed.value)
    block = int(message.split("for block ")[1].split(" ")[0])
    txs = expected["raw_transactions"].filter(pc.equal(expected["raw_transactions"].column("block_number"), block))
    last = txs.num_rows - 1  # the proxy breaks the block's last transaction
    assert f"callTracer failed for transaction {txs.column('hash')[last].as_py()} (index {last}) on 3 attempts: " \
           "execution timeout" in message  # fmt: skip
    assert "BLOCKANALYTIX_TRACES=parity" in message and proxy.url in message
