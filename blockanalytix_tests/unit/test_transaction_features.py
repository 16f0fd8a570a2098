"""transaction_features on hand-built cleaned tables, including the lookback across range boundaries."""

import math

import numpy as np
import pyarrow as pa
import pytest

from blockanalytix_assets.features.internal import INTERNAL_TX_FEATURE_COLUMNS
from blockanalytix_assets.features.transaction import (
    FEATURE_COLUMNS,
    FEATURE_SPEC_VERSION,
    KEY_COLUMNS,
    SPEC_METADATA_KEY,
    lookback_keys,
    transaction_features,
)
from blockanalytix_assets.ingest.schema import TRANSACTIONS
from blockanalytix_assets.transform.cleaning import clean_transactions

A, B, C, D, E = ("0x" + f"{i:040x}" for i in range(1, 6))
T0 = 1_700_000_000 - 1_700_000_000 % 86_400  # midnight UTC


def _cleaned(rows: list[dict], first: int, last: int) -> pa.Table:
    full = []
    for i, r in enumerate(rows):
        base = dict(
            hash="0x" + f"{first * 1000 + i:064x}", nonce=0, transaction_index=i, value=10**18, gas=100_000,
            gas_price=10**9, input="0x", transaction_type=2, receipt_gas_used=21_000, receipt_status=1,
            receipt_effective_gas_price=10**9,
        )  # fmt: skip
        full.append({**base, **r})
    res = clean_transactions(pa.Table.from_pylist(full, schema=TRANSACTIONS), first, last)
    assert res.quarantined.num_rows == 0
    return res.cleaned


def _feat(table: pa.Table) -> list[dict]:
    return table.to_pylist()


def test_columns_order_types_and_spec_version():
    cur = _cleaned([dict(block_number=10, block_timestamp=T0, from_address=A, to_address=B)], 10, 19)
    out = transaction_features(cur)
    assert out.column_names == KEY_COLUMNS + FEATURE_COLUMNS + INTERNAL_TX_FEATURE_COLUMNS
    assert all(out.schema.field(c).type == pa.float32() for c in FEATURE_COLUMNS + INTERNAL_TX_FEATURE_COLUMNS)
    assert out.column("internal_transfer_count").null_count == 1  # no internal_transfers given: unknown
    assert out.schema.metadata[SPEC_METADATA_KEY] == FEATURE_SPEC_VERSION.encode()
    assert len(set(FEATURE_COLUMNS)) == len(FEATURE_COLUMNS)


def test_row_level_features():
    rows = [
        dict(block_number=10, block_timestamp=T0 + 6 * 3600, from_address=A, to_address=B, value=2 * 10**18,
             input="0xa9059cbb" + "00" * 64, nonce=7, gas=42_000),
        dict(block_number=10, block_timestamp=T0 + 6 * 3600, from_address=C, to_address=None, value=0),
    ]  # fmt: skip
    f = _feat(transaction_features(_cleaned(rows, 10, 19)))
    assert f[0]["log_value_gwei"] == pytest.approx(math.log1p(2e9))
    assert f[0]["log_fee_gwei"] == pytest.approx(math.log1p(21_000))  # 21000 gas at 1 gwei
    assert f[0]["gas_used_ratio"] == pytest.approx(0.5)
    assert f[0]["hour_of_day"] == 6 and f[0]["hour_sin"] == pytest.approx(1.0, abs=1e-6)
    assert f[0]["log_input_bytes"] == pytest.approx(math.log1p(68))
    assert f[0]["log_nonce"] == pytest.approx(math.log1p(7))
    assert (f[0]["is_contract_call"], f[0]["is_contract_creation"]) == (1.0, 0.0)
    assert (f[1]["is_contract_call"], f[1]["is_contract_creation"]) == (0.0, 1.0)
    assert f[1]["log_value_gwei"] == 0.0 and f[1]["transaction_type"] == 2.0
    assert f[1]["receiver_is_new"] == 1.0 and f[1]["log_receiver_txs_range"] == 0.0


def test_activity_within_the_range():
    rows = [
        dict(block_number=10, block_timestamp=T0, from_address=A, to_address=B),
        dict(block_number=10, block_timestamp=T0, from_address=A, to_address=B),
        dict(block_number=11, block_timestamp=T0 + 120, from_address=A, to_address=C),
        dict(block_number=12, block_timestamp=T0 + 300, from_address=D, to_address=B),
    ]
    f = _feat(transaction_features(_cleaned(rows, 10, 19)))
    assert f[0]["log_sender_txs_range"] == pytest.approx(math.log1p(3))
    assert f[0]["log_sender_unique_receivers_range"] == pytest.approx(math.log1p(2))
    assert f[0]["log_receiver_txs_range"] == pytest.approx(math.log1p(3))  # B receives 3 times
    assert f[0]["log_receiver_unique_senders_range"] == pytest.approx(math.log1p(2))  # from A and D
    assert [r["sender_is_new"] for r in f] == [1.0, 0.0, 0.0, 1.0]
    assert [r["receiver_is_new"] for r in f] == [1.0, 0.0, 1.0, 0.0]
    assert f[1]["log_minutes_since_sender_prev_tx"] == 0.0  # same block
    assert f[2]["log_minutes_since_sender_prev_tx"] == pytest.approx(math.log1p(2.0))
    assert all(r["log_sender_txs_lookback"] == 0.0 for r in f)


def test_lookback_across_partition_boundaries():
    older = _cleaned([dict(block_number=0, block_timestamp=T0, from_address=A, to_address=E)], 0, 9)
    prev = _cleaned(
        [
            dict(block_number=15, block_timestamp=T0 + 600, from_address=A, to_address=B),
            dict(block_number=16, block_timestamp=T0 + 660, from_address=C, to_address=B),
        ],
        10,
        19,
    )
    cur = _cleaned(
        [
            dict(block_number=20, block_timestamp=T0 + 1200, from_address=A, to_address=B),
            dict(block_number=21, block_timestamp=T0 + 1260, from_address=D, to_address=E),
        ],
        20,
        29,
    )
    with_lb = _feat(transaction_features(cur, [older, prev]))
    assert [r["hash"] for r in with_lb] == cur.column("hash").to_pylist()  # only the range's own rows
    a = with_lb[0]
    assert a["sender_is_new"] == 0.0 and a["receiver_is_new"] == 0.0
    assert a["log_minutes_since_sender_prev_tx"] == pytest.approx(math.log1p(10.0))  # 600 s after block 15
    assert a["log_sender_txs_lookback"] == pytest.approx(math.log1p(2))  # A sent in both earlier ranges
    assert a["log_sender_unique_receivers_lookback"] == pytest.approx(math.log1p(2))  # E and B
    assert a["log_receiver_txs_lookback"] == pytest.approx(math.log1p(2))
    assert a["log_receiver_unique_senders_lookback"] == pytest.approx(math.log1p(2))  # A and C
    assert a["log_sender_txs_range"] == pytest.approx(math.log1p(1))
    d = with_lb[1]
    assert d["sender_is_new"] == 1.0 and d["receiver_is_new"] == 0.0  # E received in range 0-9
    only_prev = _feat(transaction_features(cur, [prev]))
    assert only_prev[1]["receiver_is_new"] == 1.0  # E is outside a one-range lookback
    no_lb = _feat(transaction_features(cur, []))
    assert no_lb[0]["sender_is_new"] == 1.0 and no_lb[0]["log_minutes_since_sender_prev_tx"] == 0.0
    assert no_lb[0]["log_sender_txs_lookback"] == 0.0


def test_features_are_finite_and_empty_input_works():
    cur = _cleaned([dict(block_number=10, block_timestamp=T0, from_address=A, to_address=B, gas=0,
                         receipt_gas_used=0)], 10, 19)  # fmt: skip
    out = transaction_features(cur)
    assert np.isfinite(np.array([out.column(c).to_numpy() for c in FEATURE_COLUMNS])).all()
    empty = transaction_features(cur.slice(0, 0), [cur])
    assert empty.num_rows == 0 and empty.column_names == KEY_COLUMNS + FEATURE_COLUMNS + INTERNAL_TX_FEATURE_COLUMNS


def test_lookback_keys_walks_back_over_existing_ranges():
    existing = ["000000000-000000999", "000002000-000002999", "000003000-000003999", "000004000-000004999"]
    assert lookback_keys("000004000-000004999", 3, existing) == ["000002000-000002999", "000003000-000003999"]
    assert lookback_keys("000004000-000004999", 4, existing) == existing[:3]
    assert lookback_keys("000004000-000004999", 0, existing) == []
    assert lookback_keys("000000000-000000999", 3, existing) == []


def _auth(authority: str | None) -> dict:
    return dict(chain_id="0", address=E, nonce=0, y_parity=1, r="0x" + "1" * 64, s="0x" + "2" * 64, authority=authority)


def test_delegation_features_count_authorizations_and_those_signed_for_others():
    rows = [
        dict(from_address=A, to_address=A, transaction_type=4, authorization_list=[_auth(A)]),  # self-paid
        dict(from_address=B, to_address=C, transaction_type=4, authorization_list=[_auth(C), _auth(D), _auth(None)]),
        dict(from_address=C, to_address=D),
    ]
    cur = _cleaned([dict(block_number=10, block_timestamp=T0, **r) for r in rows], 10, 19)
    f = _feat(transaction_features(cur))
    assert [(r["delegation_count"], r["delegation_sponsored_count"]) for r in f] == [(1, 0), (3, 2), (0, 0)]
    older = transaction_features(cur.drop_columns(["authorization_list"]))  # cleaned before authorization lists
    assert older.column("delegation_count").to_pylist() == [0, 0, 0]
    assert [c for c in FEATURE_COLUMNS if "delegation" in c] == ["delegation_count", "delegation_sponsored_count"]
