"""raw_traces mappers against real mainnet trace_block / callTracer answers, ethereum-etl 2.4.2 as the oracle."""

from __future__ import annotations

import csv
import gzip
import io

import pytest

from blockanalytix_assets.ingest import trace_mapping as tm
from blockanalytix_assets.ingest.mapping_common import MalformedResponseError
from blockanalytix_assets.ingest.schema import TRACES
from blockanalytix_tests.faultproxy import FIXTURES, recorded
from blockanalytix_tests.unit.test_mapping import as_csv

ETL = FIXTURES / "ethereum-etl"
CASES = ["block_with_create", "block_with_error", "block_with_subtraces", "block_with_suicide"]
# extract_geth_traces leaves these unset; we fill them as export_traces does
GETH_FILLED = {"transaction_hash", "status", "trace_id"}


def csv_rows(path) -> list[dict]:
    text = gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text()
    return list(csv.DictReader(io.StringIO(text)))


def block_of(number: int, hashes: list[str]) -> dict:
    return {"number": hex(number), "transactions": hashes}


def parity_table(result: list[dict], number: int):
    return tm.map_traces(tm.PARITY, {number: result}, [block_of(number, [])])


def assert_rows(table, expected: list[dict], skip: set[str] = frozenset()) -> None:
    assert table.schema.equals(TRACES)
    assert table.column_names == list(expected[0]) if expected else True
    ours = table.to_pylist()
    assert len(ours) == len(expected)
    for i, (mine, theirs) in enumerate(zip(ours, expected, strict=True)):
        got = {c: as_csv(v) for c, v in mine.items() if c not in skip}
        assert got == {c: v for c, v in theirs.items() if c not in skip}, i


@pytest.mark.parametrize("case", CASES)
def test_parity_equals_ethereum_etl_export_traces(case):
    (path,) = (ETL / "traces" / "parity" / case).glob("web3_response.trace_block_*.json")
    _, result = recorded(str(path.relative_to(FIXTURES)))
    number = int(path.stem.rsplit("_", 1)[1], 16)
    assert_rows(parity_table(result, number), csv_rows(path.parent / "expected_traces.csv"))


@pytest.mark.parametrize("number", [2000200, 15537394])
def test_erigon_trace_block_equals_ethereum_etl(number):
    _, result = recorded(f"erigon/trace_block_{number}.json.gz")
    table = parity_table(result, number)
    assert_rows(table, csv_rows(ETL / "erigon_traces" / f"trace_block_{number}_traces.csv"))
    # and each row is its recorded trace, in the recorded order
    assert table.column("trace_address").to_pylist() == [t["traceAddress"] for t in result]
    assert table.column("error").to_pylist() == [t.get("error") for t in result]
    assert [t.get("transactionHash") for t in result] == table.column("transaction_hash").to_pylist()


def test_erigon_block_15537394_reverted_inner_calls_fail_their_children():
    _, result = recorded("erigon/trace_block_15537394.json.gz")
    rows = parity_table(result, 15537394).to_pylist()
    failed = {(r["transaction_hash"], tuple(r["trace_address"])) for r in rows if r["error"]}
    inherited = [
        r
        for r in rows
        if not r["error"]
        and any(
            (r["transaction_hash"], tuple(r["trace_address"][:k])) in failed for k in range(len(r["trace_address"]))
        )
    ]
    assert failed and all(r["status"] == 0 for r in inherited)
    assert sum(r["status"] == 0 for r in rows) == len(failed) + len(inherited)


def geth_table(result: list[dict], number: int, hashes: list[str]):
    return tm.map_traces(tm.GETH, {number: result}, [block_of(number, hashes)])


def test_erigon_call_tracer_equals_ethereum_etl_extract_geth_traces():
    number = 24298763
    _, result = recorded(f"erigon/debug_traceBlockByNumber_callTracer_{number}.json.gz")
    hashes = [e["txHash"] for e in result]
    table = geth_table(result, number, hashes)
    expected = csv_rows(ETL / "erigon_traces" / f"debug_traceBlockByNumber_{number}_traces.csv.gz")
    for row in expected:
        row["trace_type"] = "create" if row["trace_type"] == "create2" else row["trace_type"]
    assert any(r["input"].startswith("0x") and r["trace_type"] == "create" for r in expected)
    assert_rows(table, expected, skip=GETH_FILLED)
    rows = table.to_pylist()
    assert [r["transaction_hash"] for r in rows] == [hashes[r["transaction_index"]] for r in rows]
    top = [r for r in rows if not r["trace_address"]]
    assert [r["transaction_hash"] for r in top] == hashes  # exactly one top-level trace per transaction
    assert all(r["trace_id"] == f"{r['trace_type']}_{r['transaction_hash']}_" for r in top)


@pytest.mark.parametrize("case", CASES)
def test_geth_and_parity_agree_on_ethereum_etl_blocks(case):
    """ethereum-etl's geth fixtures are the same mainnet blocks as its parity ones."""
    folder = ETL / "traces" / "geth" / case
    (path,) = folder.glob("web3_response.debug_traceBlockByNumber_*.json")
    _, result = recorded(str(path.relative_to(FIXTURES)))
    (ppath,) = (ETL / "traces" / "parity" / case).glob("web3_response.trace_block_*.json")
    number = int(ppath.stem.rsplit("_", 1)[1], 16)
    parity = parity_table(recorded(str(ppath.relative_to(FIXTURES)))[1], number).to_pylist()
    hashes = list(dict.fromkeys(r["transaction_hash"] for r in parity if r["transaction_hash"]))
    table = geth_table(result, number, hashes)
    assert_rows(table, csv_rows(folder / "expected_traces.csv"), skip=GETH_FILLED)
    tx_level = [r for r in parity if r["transaction_hash"]]
    same = ["transaction_hash", "trace_address", "trace_type", "call_type", "status", "trace_id"]
    assert [{c: r[c] for c in same} for r in table.to_pylist()] == [{c: r[c] for c in same} for r in tx_level]
    # a CALLCODE runs in the caller: parity names the caller as to_address, geth the code's address; old geth
    # gave a SELFDESTRUCT frame no `from`
    ends = [((r["from_address"], r["to_address"]), (p["from_address"], p["to_address"]))
            for r, p in zip(table.to_pylist(), tx_level, strict=True)
            if r["call_type"] != "callcode" and r["trace_type"] != "suicide"]  # fmt: skip
    assert ends and all(a == b for a, b in ends)


def test_geth_block_without_transactions_and_bad_answers():
    assert geth_table([], 1, []).num_rows == 0
    with pytest.raises(MalformedResponseError, match="no trace"):
        geth_table([{"error": "tracing failed"}], 5, ["0xaa"])
    with pytest.raises(MalformedResponseError, match="1 transaction traces for 2"):
        geth_table([{"result": {"type": "CALL"}}], 5, ["0xaa", "0xbb"])
    with pytest.raises(MalformedResponseError, match="another block"):
        parity_table([{"type": "reward", "blockNumber": 6, "action": {}}], 5)
    with pytest.raises(MalformedResponseError, match="no parent"):
        parity_table([{"type": "call", "blockNumber": 5, "transactionHash": "0xaa", "traceAddress": [0, 1]}], 5)


def test_deep_call_trees_do_not_hit_the_recursion_limit():
    frame: dict = {"type": "CALL", "from": "0x01", "to": "0x02", "gas": "0x1", "gasUsed": "0x1", "value": "0x0"}
    root = frame
    for _ in range(1100):
        child = dict(frame)
        frame["calls"] = [child]
        frame = child
    rows = geth_table([{"result": root}], 7, ["0xaa"]).to_pylist()
    assert len(rows) == 1101 and rows[-1]["trace_address"] == [0] * 1100 and rows[-1]["status"] == 1


def test_blockanalytix_traces_setting_and_probe(monkeypatch):
    from blockanalytix_assets.ingest.rpc import RpcClient
    from blockanalytix_assets.settings import Settings
    from blockanalytix_tests.faultproxy import ReplayNode

    monkeypatch.delenv("BLOCKANALYTIX_TRACES", raising=False)
    assert Settings.from_env().traces == "auto"
    monkeypatch.setenv("BLOCKANALYTIX_TRACES", " Geth ")
    assert Settings.from_env().traces == "geth"
    monkeypatch.setenv("BLOCKANALYTIX_TRACES", "erigon")
    with pytest.raises(ValueError, match="BLOCKANALYTIX_TRACES='erigon'"):
        Settings.from_env()
    with ReplayNode([], head=5) as node, RpcClient(node.url, max_retries=0) as client:  # no trace API
        assert client.probe_traces("auto", 3) is None and set(node.calls) == {"trace_block", "debug_traceBlockByNumber"}
        assert client.probe_traces("off", 3) is None and client.probe_traces("parity", 3) == "parity"
        with pytest.raises(ValueError, match="expected auto"):
            client.probe_traces("trace", 3)
