"""clean_transactions on hand-built raw tables whose right answers are known."""

from decimal import Decimal

import pyarrow as pa
import pytest

from blockanalytix_assets.ingest.schema import BLOCKS, TOKEN_TRANSFERS, TRANSACTIONS
from blockanalytix_assets.transform.cleaning import CLEANED_SCHEMA, QUARANTINE_SCHEMA, clean_transactions


def _addr(i: int) -> str:
    return "0x" + f"{i:040x}"


def _hash(i: int) -> str:
    return "0x" + f"{i:064x}"


def _tx(i: int, **over) -> dict:
    row = dict(
        hash=_hash(i), nonce=i, block_number=100, transaction_index=i, from_address=_addr(1),
        to_address=_addr(2), value=10**18, gas=100_000, gas_price=2 * 10**9, input="0x", block_timestamp=1000,
        transaction_type=2, receipt_gas_used=21_000, receipt_status=1, receipt_effective_gas_price=2 * 10**9,
    )  # fmt: skip
    row.update(over)
    return row


def _raw(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=TRANSACTIONS)


def _blocks(*pairs: tuple[int, int | None]) -> pa.Table:
    return pa.Table.from_pylist([dict(number=n, base_fee_per_gas=b) for n, b in pairs], schema=BLOCKS)


def _by_hash(table: pa.Table) -> dict[str, dict]:
    return {r["hash"]: r for r in table.to_pylist()}


def test_derived_columns_have_known_values():
    rows = [
        _tx(1, value=3 * 10**18, gas_price=4 * 10**9, receipt_effective_gas_price=4 * 10**9),
        _tx(2, block_number=101, to_address=None, input="0x6080604052", receipt_contract_address=_addr(9)),
        _tx(3, input="0xa9059cbb" + "00" * 64, receipt_status=0),
        _tx(4, input="0x1234"),  # calldata too short for a selector
    ]
    transfers = pa.Table.from_pylist(
        [dict(transaction_hash=_hash(3), log_index=i, token_standard="erc20") for i in range(3)]
        + [dict(transaction_hash=_hash(i), log_index=9 + i, token_standard="erc721") for i in (1, 3)],
        schema=TOKEN_TRANSFERS,
    )  # ERC-721 transfers are not counted
    res = clean_transactions(_raw(rows), 100, 199, _blocks((100, 10**9), (101, None)), transfers)
    assert res.quarantined.num_rows == 0 and res.reason_counts == {}
    assert res.cleaned.schema.equals(CLEANED_SCHEMA)
    t = _by_hash(res.cleaned)
    one = t[_hash(1)]
    assert one["value_eth"] == 3.0
    assert one["fee_wei"] == Decimal(21_000 * 4 * 10**9)
    assert one["fee_eth"] == pytest.approx(21_000 * 4e9 / 1e18)
    assert one["base_fee_per_gas"] == 10**9
    assert one["gas_price_to_base_fee"] == 4.0
    # block 100 prices: 4, 2, 2 gwei -> median 2
    assert one["gas_price_to_block_median"] == 2.0 and t[_hash(3)]["gas_price_to_block_median"] == 1.0
    assert (one["is_contract_creation"], one["is_contract_call"], one["method_selector"]) == (
        False,
        False,
        None,
    )
    two = t[_hash(2)]
    assert two["is_contract_creation"] and not two["is_contract_call"]
    assert two["base_fee_per_gas"] is None and two["gas_price_to_base_fee"] is None
    three = t[_hash(3)]
    assert three["is_contract_call"] and three["method_selector"] == "0xa9059cbb"
    assert three["failed"] and not one["failed"]
    assert three["token_transfer_count"] == 3 and one["token_transfer_count"] == 0
    assert t[_hash(4)]["is_contract_call"] and t[_hash(4)]["method_selector"] is None


def test_fee_is_exact_beyond_int64():
    used, price = 30_000_000, 10**12 + 7  # product 3.00000000021e19 > 2**63
    res = clean_transactions(_raw([_tx(1, gas=used, receipt_gas_used=used, receipt_effective_gas_price=price)]), 0, 999)
    assert res.cleaned.column("fee_wei")[0].as_py() == Decimal(used * price)


def test_effective_price_falls_back_to_gas_price():
    res = clean_transactions(_raw([_tx(1, receipt_effective_gas_price=None, gas_price=5)]), 0, 999)
    assert res.cleaned.column("fee_wei")[0].as_py() == Decimal(21_000 * 5)


def test_bad_rows_are_quarantined_with_reasons_and_the_rest_kept():
    rows = [_tx(i) for i in range(5)] + [
        _tx(10, block_number=5000),
        _tx(11, value=-1),
        _tx(12, from_address=None),
        _tx(13, to_address="0x1234"),
        _tx(14, receipt_gas_used=200_000),
        _tx(15, value=-1, block_number=99),
        _tx(2, value=7),  # duplicate of a kept hash
    ]
    res = clean_transactions(_raw(rows), 100, 199)
    assert sorted(res.cleaned.column("hash").to_pylist()) == [_hash(i) for i in range(5)]
    assert _by_hash(res.cleaned)[_hash(2)]["value_eth"] == 1.0  # the first copy is kept
    reasons = [(r["hash"], r["reason"]) for r in res.quarantined.to_pylist()]
    assert sorted(reasons) == sorted(
        [
            (_hash(10), "block_outside_range"),
            (_hash(11), "negative_value"),
            (_hash(12), "null_from_address"),
            (_hash(13), "malformed_to_address"),
            (_hash(14), "gas_used_exceeds_gas"),
            (_hash(15), "block_outside_range;negative_value"),
            (_hash(2), "duplicate_hash"),
        ]
    )
    assert res.quarantined.schema.equals(QUARANTINE_SCHEMA)
    assert res.reason_counts["negative_value"] == 2 and res.reason_counts["duplicate_hash"] == 1


def test_duplicate_of_a_rejected_row_is_kept_once():
    res = clean_transactions(_raw([_tx(1, value=-1), _tx(1), _tx(1)]), 0, 999)
    assert res.cleaned.num_rows == 1 and res.cleaned.column("value_eth")[0].as_py() == 1.0
    assert sorted(res.quarantined.column("reason").to_pylist()) == ["duplicate_hash", "negative_value"]


def test_addresses_are_lower_cased_and_rows_in_chain_order():
    rows = [
        _tx(2, block_number=101, transaction_index=0),
        _tx(1, from_address=_addr(0xABC).upper().replace("X", "x")),
    ]
    res = clean_transactions(_raw(rows), 100, 199)
    assert res.cleaned.column("hash").to_pylist() == [_hash(1), _hash(2)]
    assert res.cleaned.column("from_address")[0].as_py() == _addr(0xABC)


def test_empty_input_gives_empty_tables_with_the_contract_schema():
    res = clean_transactions(_raw([]), 0, 999, _blocks(), None)
    assert res.cleaned.num_rows == 0 and res.cleaned.schema.equals(CLEANED_SCHEMA)
    assert res.quarantined.num_rows == 0 and res.quarantined.schema.equals(QUARANTINE_SCHEMA)


def _auth(authority: str | None) -> dict:
    return dict(chain_id="1", address=_addr(0x7702), nonce=0, y_parity=0, r=_hash(5), s=_hash(6), authority=authority)


def test_delegations_are_flagged_and_counted_and_malformed_ones_quarantined():
    rows = [
        _tx(1, transaction_type=4, authorization_list=[_auth(_addr(1)), _auth(None)]),
        _tx(2, transaction_type=4, authorization_list=[_auth(_addr(7))]),
        _tx(3),  # type 2: no list
        _tx(4, transaction_type=4, authorization_list=[]),  # EIP-7702 rejects an empty list
        _tx(5, authorization_list=[_auth(_addr(1))]),  # type 2 with authorizations
    ]
    res = clean_transactions(_raw(rows), 0, 999)
    t = _by_hash(res.cleaned)
    assert [(t[_hash(i)]["is_delegation"], t[_hash(i)]["delegation_count"]) for i in (1, 2, 3)] == [
        (True, 2),
        (True, 1),
        (False, 0),
    ]
    assert t[_hash(1)]["authorization_list"][1]["authority"] is None  # the list itself is kept as ingested
    reasons = sorted((r["hash"], r["reason"]) for r in res.quarantined.to_pylist())
    assert reasons == [(_hash(4), "type4_without_authorizations"), (_hash(5), "authorizations_on_other_type")]


def test_raw_files_from_before_authorization_lists_clean_without_delegations():
    raw = _raw([_tx(1, transaction_type=4), _tx(2)]).drop_columns(["authorization_list"])
    res = clean_transactions(raw, 0, 999)
    assert res.quarantined.num_rows == 0 and res.cleaned.schema.equals(CLEANED_SCHEMA)
    assert res.cleaned.column("delegation_count").to_pylist() == [0, 0]
    assert not any(res.cleaned.column("is_delegation").to_pylist())
