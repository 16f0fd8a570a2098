"""A node without state at the range's block (pruned; anvil after --load-state) still gives token decimals."""

from __future__ import annotations

import pytest

from blockanalytix_assets.devnet.anvil import Anvil
from blockanalytix_assets.devnet.chain import dump_state
from blockanalytix_assets.devnet.erc20 import deploy_data, transfer_data
from blockanalytix_assets.devnet.rpc import DevnetRpc
from blockanalytix_assets.ingest.extract import extract_range
from blockanalytix_assets.ingest.rpc import RpcClient
from blockanalytix_assets.ingest.rpc_errors import StateUnavailable
from blockanalytix_assets.ingest.rpc_requests import eth_call_calls
from blockanalytix_assets.ingest.token_mapping import DECIMALS
from blockanalytix_tests.plugins.integration import starts_processes

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
@starts_processes
def reloaded(tmp_path_factory):
    """A 6-decimals token moved in block 2, then the chain dumped and reloaded: no state before the head."""
    state = tmp_path_factory.mktemp("state") / "state.json"
    with Anvil() as node:
        rpc = DevnetRpc(node.url)
        a = rpc.call("eth_accounts")
        rpc.call(
            "eth_sendTransaction", {"from": a[0], "data": deploy_data("Six", "SIX", 6, 10**12), "gas": hex(3_000_000)}
        )
        rpc.call("evm_mine")
        token = rpc.call(
            "eth_getTransactionReceipt", rpc.call("eth_getBlockByNumber", "0x1", False)["transactions"][0]
        )["contractAddress"]
        rpc.call(
            "eth_sendTransaction",
            {"from": a[0], "to": token, "data": transfer_data(a[1], 2_500_000), "gas": hex(100_000)},
        )
        for _ in range(3):
            rpc.call("evm_mine")
        dump_state(rpc, state)
        rpc.close()
    with Anvil(load_state=state) as node:
        yield node, token


def test_the_node_has_no_state_at_the_old_block(reloaded):
    node, token = reloaded
    with RpcClient(node.url) as client, pytest.raises(StateUnavailable):
        client.batch(eth_call_calls([(token, DECIMALS)], 2), reverts_ok=True)


def test_decimals_come_from_the_latest_block_and_the_metadata_says_so(reloaded):
    node, token = reloaded
    with RpcClient(node.url) as client:
        tables = extract_range(client, 0, 2)  # its calls are pinned to block 2
        assert client.calls_at_latest == 1
    tt = tables["token_transfers"].to_pylist()
    assert [(t["token_address"], t["decimals"], t["scaled_value"]) for t in tt] == [(token, 6, 1e6), (token, 6, 2.5)]
