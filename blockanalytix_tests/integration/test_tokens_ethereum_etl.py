"""contracts and tokens on an anvil (Prague) chain with contract-created tokens and a type-4 transaction, against
ethereum-etl 2.4.2.

ethereum-etl's export_traces, extract_contracts and extract_tokens on the same node are the oracle, value for value;
the ingest selection with contracts and tokens materialises through `dagster asset materialize`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import dagster as dg
import pytest

from blockanalytix_assets.devnet.anvil import Anvil
from blockanalytix_assets.devnet.rpc import DevnetRpc
from blockanalytix_assets.ranges import format_key
from blockanalytix_assets.storage import Storage
from blockanalytix_tests.integration.cli_materialize import INGEST_SELECTION, materialize_cli
from blockanalytix_tests.plugins.integration import starts_processes
from blockanalytix_tests.token_chain import build

REPO = Path(__file__).resolve().parents[2]
ETL = REPO / ".etl-venv" / "bin" / "ethereumetl"
LAST = 7  # blocks 0..7: one partition of range size 8
KEY = format_key(0, LAST)
SELECTION = INGEST_SELECTION
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
@starts_processes
def chain():
    node = Anvil()
    if "--hardfork" not in node.command():  # the devnet's default may already name it
        node.extra_args = ("--hardfork", "prague")  # type-4 transactions
    with node:
        addresses = build(node.url)
        rpc = DevnetRpc(node.url)
        while int(rpc.call("eth_blockNumber"), 16) < LAST:
            rpc.call("evm_mine")
        rpc.close()
        yield node, addresses


def _etl(*args: str) -> None:
    subprocess.run([str(ETL), *args], check=True, capture_output=True, timeout=300)


@pytest.fixture(scope="module")
def etl(chain, tmp_path_factory) -> dict[str, list[dict]]:
    """ethereum-etl's contracts and tokens: export_traces, then extract_contracts, then extract_tokens."""
    node, _ = chain
    subprocess.run(["bash", str(REPO / "blockanalytix_tests/benchmarks/etl_venv.sh")], check=True, capture_output=True)
    out = tmp_path_factory.mktemp("etl")
    _etl("export_traces", "-s", "0", "-e", str(LAST), "-p", node.url, "-o", str(out / "traces.csv"), "-w", "1")
    _etl("extract_contracts", "-t", str(out / "traces.csv"), "-o", str(out / "contracts.json"), "-w", "1")
    # JSON, not CSV: from CSV extract_tokens reads is_erc20 "False" as true and takes every contract for a token
    _etl("extract_tokens", "-c", str(out / "contracts.json"), "-p", node.url, "-o", str(out / "tokens.json"), "-w", "1")
    read = lambda name: [json.loads(line) for line in (out / name).read_text().splitlines()]  # noqa: E731
    return {"contracts": read("contracts.json"), "tokens": read("tokens.json")}


@pytest.fixture(scope="module")
def cli_home(chain, tmp_path_factory) -> Path:
    """The ingest selection with contracts and tokens, by `dagster asset materialize --partition KEY`."""
    node, _ = chain
    return materialize_cli(node.url, tmp_path_factory.mktemp("dagster_home"), KEY, LAST + 1, SELECTION)


@pytest.fixture(scope="module")
def cli_store(cli_home) -> Storage:
    return Storage(str(cli_home / "data"))


def test_contracts_equal_ethereum_etl_extract_contracts(chain, cli_store, etl):
    _, addr = chain
    ours = [dict(r) for r in cli_store.read("contracts", KEY).to_pylist()]
    assert ours == etl["contracts"]  # every column, every row, in ethereum-etl's order
    by_address = {r["address"]: r for r in ours}
    assert {addr["usdc"], addr["nft"], addr["mkr"], addr["no_metadata"], addr["vyper"]} <= set(by_address)
    assert [by_address[addr[k]]["is_erc20"] for k in ("usdc", "mkr", "no_metadata", "vyper")] == [True] * 3 + [False]
    assert by_address[addr["nft"]]["is_erc721"] and not by_address[addr["nft"]]["is_erc20"]
    assert by_address[addr["vyper"]]["function_sighashes"] == []  # vyper dispatches outside the first block


def test_tokens_equal_ethereum_etl_extract_tokens(chain, cli_store, etl):
    _, addr = chain
    ours = [dict(r) for r in cli_store.read("tokens", KEY).to_pylist()]
    for r in ours:
        r["total_supply"] = None if r["total_supply"] is None else int(r["total_supply"])  # a string here
    assert ours == etl["tokens"]
    by_address = {r["address"]: r for r in ours}
    assert (by_address[addr["usdc"]]["symbol"], by_address[addr["usdc"]]["decimals"]) == ("USDC", 6)
    assert (by_address[addr["mkr"]]["symbol"], by_address[addr["mkr"]]["name"]) == ("MKR", None)  # not UTF-8
    assert [by_address[addr["no_metadata"]][c] for c in ("symbol", "name", "decimals")] == [None] * 3
    assert by_address[addr["nft"]]["symbol"] == "TK" and addr["vyper"] not in by_address


def test_token_transfers_carry_decimals_and_scaled_values(chain, cli_store, cli_home):
    _, addr = chain
    rows = {(r["token_address"], r["to_address"]): r for r in cli_store.read("token_transfers", KEY).to_pylist()}
    usdc = [r for (token, _), r in rows.items() if token == addr["usdc"] and r["value"] == "1500000"]
    assert [(r["decimals"], r["scaled_value"]) for r in usdc] == [(6, 1.5)]
    unknown = [r for (token, _), r in rows.items() if token == addr["no_metadata"]]
    assert unknown and all(r["decimals"] is None and r["scaled_value"] is None for r in unknown)
    nft = [r for (token, _), r in rows.items() if token == addr["nft"]]
    assert nft and all(r["token_standard"] == "erc721" and r["scaled_value"] is None for r in nft)
    with dg.DagsterInstance.from_config(str(cli_home)) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("token_transfers"))
    assert event.asset_materialization.metadata["unknown_decimals_transfers"].value == len(unknown)


def test_every_created_contract_is_in_contracts(cli_store):
    from blockanalytix_assets.ingest.contract_mapping import contracts_complete

    passed, details = contracts_complete(cli_store.read("raw_traces", KEY), cli_store.read("contracts", KEY))
    assert passed and details["created"] == details["contracts"] >= 6
    assert 4 in cli_store.read("raw_transactions", KEY).column("transaction_type").to_pylist()  # an EIP-7702 tx


def test_tokens_alone_maps_the_trace_tables_before_it_and_writes_only_what_was_selected(chain, cli_store, tmp_path):
    from blockanalytix_assets.ingest.assets import raw_ingest
    from blockanalytix_assets.resources import PipelineSettings, RpcResource, StorageResource

    node, _ = chain
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("block_ranges", [KEY])
    resources = {"rpc": RpcResource(url=node.url, chain_id=31337, traces="parity"),
                 "storage": StorageResource(root=str(tmp_path)),
                 "settings": PipelineSettings(range_size=LAST + 1, confirmations=0, home=str(tmp_path))}  # fmt: skip
    result = dg.materialize([raw_ingest], partition_key=KEY, instance=instance, resources=resources,
                            selection=["raw_blocks", "tokens"])  # fmt: skip
    assert result.success
    store = Storage(str(tmp_path))
    assert [store.exists(t, KEY) for t in ("raw_blocks", "tokens", "raw_traces", "contracts")] == [True] * 2 + [
        False
    ] * 2
    # eth_calls pinned to the range's last block: another run of the range writes the same bytes
    assert Path(store.path("tokens", KEY)).read_bytes() == Path(cli_store.path("tokens", KEY)).read_bytes()
