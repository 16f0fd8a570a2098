"""Mappers against real mainnet responses; ethereum-etl's own exports are the oracle where they exist."""

from __future__ import annotations

import copy
import csv
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from blockanalytix_assets.ingest.block_mapping import map_blocks, map_transactions
from blockanalytix_assets.ingest.log_mapping import TRANSFER_TOPIC, map_logs, map_token_transfers
from blockanalytix_assets.ingest.mapping_common import MalformedResponseError
from blockanalytix_assets.ingest.schema import TRANSFER_EVENTS
from blockanalytix_assets.ingest.tables import SCHEMAS
from blockanalytix_tests.faultproxy import FIXTURES, recorded

ETL = FIXTURES / "ethereum-etl"
ETL_TRANSFER_COLUMNS = set(SCHEMAS["token_transfers"].names) - {"token_standard", "decimals", "scaled_value"}  # ours
RECEIPT_COLUMNS = {  # ethereum-etl receipts.csv column -> our raw_transactions column
    "cumulative_gas_used": "receipt_cumulative_gas_used", "gas_used": "receipt_gas_used",
    "contract_address": "receipt_contract_address", "root": "receipt_root", "status": "receipt_status",
    "effective_gas_price": "receipt_effective_gas_price", "transaction_index": "transaction_index",
    "block_hash": "block_hash", "block_number": "block_number",
}  # fmt: skip


def as_csv(v: object) -> str:
    """A value as ethereum-etl writes it into CSV."""
    if v is None:
        return ""
    if isinstance(v, list):
        return ",".join(as_csv(x) for x in v)
    if isinstance(v, Decimal):
        return str(int(v))
    return str(v)


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def assert_matches_csv(table: pa.Table, expected: list[dict], key: str, rename: dict | None = None) -> set[str]:
    """Every expected column that we also produce is equal, row by row; returns the compared columns."""
    rename = rename or {}
    ours = {as_csv(r[rename.get(key, key)]): r for r in table.to_pylist()}
    assert sorted(ours) == sorted(r[key] for r in expected)
    compared = set()
    for col in expected[0] if expected else []:
        mine = rename.get(col, col)
        if mine not in table.column_names:
            continue
        compared.add(col)
        for row in expected:
            assert as_csv(ours[row[key]][mine]) == row[col], (col, row[key])
    return compared


def etl_blocks(folder: str) -> list[dict]:
    return [recorded(str(p.relative_to(FIXTURES)))[1] for p in sorted((ETL / folder).glob("*eth_getBlockByNumber*"))]


def etl_receipts(folder: str) -> dict[int, list[dict]]:
    recs = [recorded(str(p.relative_to(FIXTURES)))[1] for p in (ETL / folder).glob("*eth_getTransactionReceipt*")]
    out: dict[int, list[dict]] = {}
    for r in sorted(recs, key=lambda r: (int(r["blockNumber"], 16), int(r["transactionIndex"], 16))):
        out.setdefault(int(r["blockNumber"], 16), []).append(r)
    return out


@pytest.mark.parametrize("folder", ["block_483920", "blocks_47218", "block_0"])
def test_blocks_and_transactions_equal_ethereum_etl(folder):
    blocks = etl_blocks(folder)
    table = map_blocks(blocks)
    assert table.schema.equals(SCHEMAS["raw_blocks"])
    compared = assert_matches_csv(table, read_csv(ETL / folder / "expected_blocks.csv"), "number")
    assert {"hash", "parent_hash", "miner", "difficulty", "total_difficulty", "size", "timestamp"} <= compared
    txs = map_transactions(blocks)
    assert txs.schema.equals(SCHEMAS["raw_transactions"])
    expected = read_csv(ETL / folder / "expected_transactions.csv")
    assert txs.num_rows == len(expected)
    if expected:
        compared = assert_matches_csv(txs, expected, "hash")
        assert {"value", "gas_price", "from_address", "to_address", "input", "transaction_type"} <= compared


def test_receipts_logs_and_token_transfers_equal_ethereum_etl():
    blocks, receipts = etl_blocks("block_483920"), etl_receipts("block_483920")
    txs = map_transactions(blocks, receipts)
    expected = read_csv(ETL / "block_483920" / "expected_receipts.csv")
    compared = assert_matches_csv(txs, expected, "transaction_hash", {"transaction_hash": "hash", **RECEIPT_COLUMNS})
    assert {"cumulative_gas_used", "gas_used", "root", "status", "effective_gas_price"} <= compared
    logs = map_logs(receipts, blocks)
    assert logs.schema.equals(SCHEMAS["raw_logs"])
    assert assert_matches_csv(logs, read_csv(ETL / "block_483920" / "expected_logs.csv"), "log_index") == set(
        SCHEMAS["raw_logs"].names
    )
    transfers = map_token_transfers(logs)
    expected = read_csv(ETL / "block_483920" / "expected_token_transfers.csv")
    assert assert_matches_csv(transfers, expected, "log_index") == ETL_TRANSFER_COLUMNS
    assert set(transfers.column("token_standard").to_pylist()) == {"erc20"}


def test_token_transfers_from_logs_csv_equal_ethereum_etl():
    rows = read_csv(ETL / "extract_token_transfers" / "logs.csv")
    for r in rows:
        r["topics"] = r["topics"].split(",") if r["topics"] else []
        for k in ("log_index", "transaction_index", "block_number"):
            r[k] = int(r[k])
    logs = pa.Table.from_pylist(rows, schema=SCHEMAS["raw_logs"])
    transfers = map_token_transfers(logs)
    expected = read_csv(ETL / "extract_token_transfers" / "expected_token_transfers.csv")
    assert transfers.num_rows == len(expected) < len(rows)
    assert assert_matches_csv(transfers, expected, "log_index") == ETL_TRANSFER_COLUMNS


@pytest.mark.parametrize(("block", "n_erc20", "n_erc721"), [(18000000, 141, 2), (20000010, 20, 0)])
def test_token_transfers_of_erigon_receipts_equal_ethereum_etl_including_erc721(block, n_erc20, n_erc721):
    receipts = recorded(f"erigon/eth_getBlockReceipts_{block}.json.gz")[1]
    transfers = map_token_transfers(map_logs({block: receipts}))
    assert transfers.schema.equals(TRANSFER_EVENTS)  # decimals and scaled_value come from eth_calls
    expected = read_csv(ETL / "erigon_receipts" / f"block_{block}_token_transfers.csv")
    assert transfers.num_rows == len(expected) == n_erc20 + n_erc721  # every row of ethereum-etl's export
    assert assert_matches_csv(transfers, expected, "log_index") == ETL_TRANSFER_COLUMNS
    standards = transfers.column("token_standard").to_pylist()
    assert (standards.count("erc20"), standards.count("erc721")) == (n_erc20, n_erc721)


def block_18m() -> tuple[dict, list[dict]]:
    return recorded("erigon/eth_getBlockByNumber_18000000.json.gz")[1], recorded(
        "erigon/eth_getBlockReceipts_18000000.json.gz"
    )[1]


def test_block_18000000_with_all_94_receipts_and_withdrawals():
    block, receipts = block_18m()
    blocks = map_blocks([block]).to_pylist()[0]
    assert blocks["transaction_count"] == len(block["transactions"]) == 94
    assert [(w["index"], w["validator_index"], w["amount"]) for w in blocks["withdrawals"]] == [
        (int(w["index"], 16), int(w["validatorIndex"], 16), int(w["amount"], 16)) for w in block["withdrawals"]
    ]
    txs = map_transactions([block], {18000000: receipts})
    assert txs.num_rows == 94 and txs.column("receipt_gas_used").null_count == 0
    assert sum(txs.column("receipt_gas_used").to_pylist()) == blocks["gas_used"]  # receipts add up to the block
    assert txs.column("receipt_cumulative_gas_used")[-1].as_py() == blocks["gas_used"]
    assert set(txs.column("transaction_type").to_pylist()) == {0, 2}
    assert [int(v) for v in txs.column("value").to_pylist()] == [int(t["value"], 16) for t in block["transactions"]]
    legacy = txs.filter(pa.compute.equal(txs.column("transaction_type"), 0))
    assert legacy.column("max_fee_per_gas").null_count == legacy.num_rows
    logs = map_logs({18000000: receipts}, [block])
    assert logs.num_rows == sum(len(r["logs"]) for r in receipts)
    assert logs.column("log_index").to_pylist() == list(range(logs.num_rows))
    transfers = map_token_transfers(logs)
    all_logs = [lg for r in receipts for lg in r["logs"]]
    erc721 = {
        int(lg["logIndex"], 16) for lg in all_logs if lg["topics"][:1] == [TRANSFER_TOPIC] and len(lg["topics"]) == 4
    }
    n_transfer_logs = sum(lg["topics"][:1] == [TRANSFER_TOPIC] for lg in all_logs)
    assert len(erc721) == 2 and transfers.num_rows == n_transfer_logs == 143  # ERC-721 events included
    for t in transfers.to_pylist():
        raw = next(lg for r in receipts for lg in r["logs"] if int(lg["logIndex"], 16) == t["log_index"])
        nft = t["log_index"] in erc721
        assert t["token_standard"] == ("erc721" if nft else "erc20")
        assert t["value"] == str(int(raw["topics"][3] if nft else raw["data"], 16))  # ERC-721: the token id
        assert t["from_address"] == "0x" + raw["topics"][1][-40:] and t["to_address"] == "0x" + raw["topics"][2][-40:]


def test_legacy_2930_1559_and_blob_transactions_of_block_19900000():
    block = recorded("erigon/eth_getBlockByNumber_19900000.json.gz")[1]
    b = map_blocks([block]).to_pylist()[0]
    txs = map_transactions([block]).to_pylist()
    assert {t["transaction_type"] for t in txs} == {0, 1, 2, 3}
    blob_hashes = sum(len(t["blob_versioned_hashes"] or []) for t in txs)
    assert b["blob_gas_used"] == blob_hashes * 131072 > 0  # each blob costs 2**17 blob gas
    assert b["excess_blob_gas"] == int(block["excessBlobGas"], 16) and len(b["withdrawals"]) == 16
    for t, raw in zip(txs, block["transactions"], strict=True):
        assert t["max_fee_per_blob_gas"] == (int(raw["maxFeePerBlobGas"], 16) if t["transaction_type"] == 3 else None)
        assert (t["max_fee_per_gas"] is None) == (t["transaction_type"] in (0, 1))
        assert t["gas_price"] == int(raw["gasPrice"], 16)


def test_blob_receipt_fields_of_block_20000010():
    receipts = recorded("erigon/eth_getBlockReceipts_20000010.json.gz")[1]
    # the recordings hold no block 20000010, so its transactions are stood in by their receipts' own fields
    txs = [{"hash": r["transactionHash"], "nonce": "0x0", "transactionIndex": r["transactionIndex"],
            "from": r["from"], "to": r["to"], "value": "0x0", "gas": r["gasUsed"], "type": r["type"]}
           for r in receipts]  # fmt: skip
    block = {"number": receipts[0]["blockNumber"], "hash": receipts[0]["blockHash"], "timestamp": "0x0",
             "parentHash": "0x0", "transactions": txs}  # fmt: skip
    table = map_transactions([block], {20000010: receipts}).to_pylist()
    blobs = [t for t in table if t["transaction_type"] == 3]
    assert len(blobs) == 3
    for t, r in zip(table, receipts, strict=True):
        assert t["receipt_blob_gas_used"] == (int(r["blobGasUsed"], 16) if r["type"] == "0x3" else None)
        assert t["receipt_blob_gas_price"] == (int(r["blobGasPrice"], 16) if r["type"] == "0x3" else None)
        assert t["receipt_status"] == int(r["status"], 16)


def test_addresses_are_lower_case():
    block, receipts = block_18m()
    block = copy.deepcopy(block)
    for t in block["transactions"]:
        t["from"] = t["from"].upper().replace("0X", "0x")
    txs = map_transactions([block], {18000000: receipts})
    assert txs.column("from_address").to_pylist() == [t["from"].lower() for t in block["transactions"]]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda b, r: b["transactions"][5].pop("hash"),
            "block 18000000 transaction 5: transaction field 'hash'",
        ),
        (
            lambda b, r: b["transactions"][7].pop("from"),
            "block 18000000 transaction 7: transaction field 'from'",
        ),
        (lambda b, r: b["transactions"][3].update(gas="0xzz"), "transaction field 'gas' is not hex"),
        (lambda b, r: r[2].pop("gasUsed"), "receipt field 'gasUsed' is missing"),
        (lambda b, r: r.pop(), "94 transactions but 93 receipts"),
        (lambda b, r: r.reverse(), "receipts do not match"),
        (lambda b, r: b.pop("number"), "field 'number' is missing"),
    ],
)
def test_missing_or_bad_fields_raise_a_clear_error(mutate, message):
    block, receipts = (copy.deepcopy(x) for x in block_18m())
    mutate(block, receipts)
    with pytest.raises(MalformedResponseError, match=message.replace("(", r"\(")):
        map_transactions([block], {18000000: receipts})


def test_missing_log_and_block_fields_name_the_block():
    block, receipts = (copy.deepcopy(x) for x in block_18m())
    receipts[4]["logs"][0].pop("topics")
    with pytest.raises(MalformedResponseError, match="block 18000000 tx 0x.*log field 'topics' is missing"):
        map_logs({18000000: receipts}, [block])
    block.pop("parentHash")
    with pytest.raises(MalformedResponseError, match="block 0x112a880: block field 'parentHash' is missing"):
        map_blocks([block])
    assert json.dumps(map_blocks([]).schema.names) == json.dumps(SCHEMAS["raw_blocks"].names)


def test_unindexed_transfer_layouts_and_erc721_are_decoded():
    block, receipts = block_18m()
    logs = map_logs({18000000: receipts}, [block])
    real = logs.filter(pa.compute.equal(logs.column("log_index"), 1)).to_pylist()[0]  # a USDT Transfer
    words = [t[2:] for t in real["topics"][1:]] + [real["data"][2:]]
    unindexed = dict(real, log_index=1000, topics=real["topics"][:1], data="0x" + "".join(words))
    half = dict(real, log_index=1001, topics=real["topics"][:2], data="0x" + "".join(words[1:]))
    nft = dict(real, log_index=1002, topics=real["topics"] + ["0x" + "0" * 63 + "7"], data="0x")
    table = pa.Table.from_pylist([real, unindexed, half, nft], schema=SCHEMAS["raw_logs"])
    transfers = map_token_transfers(table).to_pylist()
    assert [t["log_index"] for t in transfers] == [1, 1000, 1001, 1002]
    assert all({k: v for k, v in t.items() if k != "log_index"} == {k: v for k, v in transfers[0].items()
               if k != "log_index"} for t in transfers[:3])  # fmt: skip
    assert transfers[3] == dict(transfers[0], log_index=1002, value="7", token_standard="erc721")


def test_erc721_with_empty_or_null_data_and_a_bad_token_id():
    block, receipts = block_18m()
    logs = map_logs({18000000: receipts}, [block])
    real = logs.filter(pa.compute.equal(logs.column("log_index"), 1)).to_pylist()[0]
    nft = [dict(real, log_index=i, topics=real["topics"] + [hex(i)], data=d) for i, d in ((5, ""), (6, None))]
    transfers = map_token_transfers(pa.Table.from_pylist(nft, schema=SCHEMAS["raw_logs"]))
    assert transfers.column("value").to_pylist() == ["5", "6"]
    assert transfers.column("token_standard").to_pylist() == ["erc721", "erc721"]
    bad = pa.Table.from_pylist([dict(nft[0], topics=real["topics"] + ["0xzz"])], schema=SCHEMAS["raw_logs"])
    with pytest.raises(MalformedResponseError, match="token id is not hex"):
        map_token_transfers(bad)
