"""raw_transactions of devnet blocks with EIP-7702 type-4 transactions vs ethereum-etl 2.4.2 on the same node.

ethereum-etl 2.4.2 has no authorization_list: every column both export is compared (transactions and receipts);
authorization_list is checked against the node's own JSON.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from blockanalytix_assets.ingest.extract import extract_range
from blockanalytix_assets.ingest.rpc import RpcClient
from blockanalytix_tests.unit.test_mapping import RECEIPT_COLUMNS, assert_matches_csv, read_csv

REPO = Path(__file__).resolve().parents[2]
ETL = REPO / ".etl-venv" / "bin" / "ethereumetl"
LAST = 59  # blocks 0..59 of the test devnet
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def exported(devnet, tmp_path_factory) -> tuple[Path, dict]:
    """ethereum-etl's transactions.csv and receipts.csv of blocks 0..LAST, and our raw tables of them."""
    subprocess.run(["bash", str(REPO / "blockanalytix_tests/benchmarks/etl_venv.sh")], check=True, capture_output=True)
    out = tmp_path_factory.mktemp("etl")
    common = ["-p", devnet.url, "-w", "1"]
    cmd = ["export_blocks_and_transactions", "-s", "0", "-e", str(LAST), "--transactions-output", str(out / "tx.csv")]
    subprocess.run([str(ETL), *cmd, *common], check=True, capture_output=True)
    (out / "hashes.txt").write_text("".join(r["hash"] + "\n" for r in read_csv(out / "tx.csv")))
    cmd = ["export_receipts_and_logs", "-t", str(out / "hashes.txt"), "--receipts-output", str(out / "receipts.csv")]
    subprocess.run([str(ETL), *cmd, *common], check=True, capture_output=True)
    with RpcClient(devnet.url) as client:  # no trace_api: the tables without traces
        return out, extract_range(client, 0, LAST)


def test_transactions_and_receipts_with_type4_equal_ethereum_etl(exported, devnet):
    out, tables = exported
    txs = tables["raw_transactions"]
    expected = read_csv(out / "tx.csv")
    assert txs.num_rows == len(expected) > 500
    assert sum(r["transaction_type"] == "4" for r in expected) >= 5  # the chain holds type-4 transactions
    compared = assert_matches_csv(txs, expected, "hash")
    assert {"value", "gas_price", "max_fee_per_gas", "from_address", "to_address", "input", "transaction_type"} <= (
        compared
    )
    assert "authorization_list" not in expected[0]
    receipts = read_csv(out / "receipts.csv")
    compared = assert_matches_csv(txs, receipts, "transaction_hash", {"transaction_hash": "hash", **RECEIPT_COLUMNS})
    assert {"gas_used", "cumulative_gas_used", "status", "effective_gas_price"} <= compared


def test_authorization_lists_are_the_nodes(exported, devnet):
    _, tables = exported
    rows = {r["hash"]: r for r in tables["raw_transactions"].to_pylist()}
    blocks = devnet.rpc.batch([("eth_getBlockByNumber", [hex(n), True]) for n in range(LAST + 1)])
    node = [t for b in blocks for t in b["transactions"]]
    assert len(node) == len(rows)
    type4 = [t for t in node if t["type"] == "0x4"]
    assert type4 and all(rows[t["hash"]]["authorization_list"] is None for t in node if t["type"] != "0x4")
    for t in type4:
        got = rows[t["hash"]]["authorization_list"]
        assert [(int(a["chain_id"]), a["address"], a["nonce"], int(a["r"], 16), int(a["s"], 16)) for a in got] == [
            (int(a["chainId"], 16), a["address"], int(a["nonce"], 16), int(a["r"], 16), int(a["s"], 16))
            for a in t["authorizationList"]
        ]
        # every signer recovered: applying its authorization bumped that account's nonce on chain past the tuple's
        nonces = devnet.rpc.batch([("eth_getTransactionCount", [a["authority"], hex(LAST)]) for a in got])
        assert all(int(n, 16) > a["nonce"] for n, a in zip(nonces, got, strict=True))
