"""address_activity + merge_activity + profile_features == address_features over the concatenated ranges."""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from blockanalytix_assets.features.activity import ACTIVITY_SCHEMA, MERGE_RULES, address_activity
from blockanalytix_assets.features.address import ADDRESS_FEATURE_COLUMNS, ADDRESS_TEXT_COLUMNS, address_features
from blockanalytix_assets.features.internal import INTERNAL_ADDRESS_FEATURE_COLUMNS
from blockanalytix_assets.features.profiles import (
    PROFILE_COLUMNS,
    merge_activity,
    profile_features,
    profile_record,
    profile_records,
)
from blockanalytix_assets.ingest.schema import TRANSACTIONS, TRANSFER_EVENTS
from blockanalytix_assets.ingest.token_mapping import scaled
from blockanalytix_assets.transform.cleaning import clean_transactions

ETH = 10**18


def _addr(i: int) -> str:
    return "0x" + f"{i:040x}"


def _range_rows(rng: np.random.Generator, r: int, addrs: list[str], tokens: list[str], n_tx: int, n_tt: int):
    """One range's raw txs and ERC-20 transfers: reused addresses, failures, calls, creations, big values."""
    rows = []
    for i in range(n_tx):
        kind = rng.random()
        create = kind < 0.03
        call_token = 0.03 <= kind < 0.2
        value = int(rng.integers(0, 10**6)) * 10**16 if rng.random() < 0.3 else int(rng.integers(0, 5 * ETH))
        to = None if create else (tokens[rng.integers(len(tokens))] if call_token else addrs[rng.integers(len(addrs))])
        auths = _authorizations(rng, addrs) if rng.random() < 0.1 else None
        rows.append(
            dict(
                authorization_list=auths, transaction_type=4 if auths else 2,
                hash=f"0x{r:08x}{i:056x}", nonce=0, transaction_index=i % 3, gas=100_000, gas_price=10**9,
                receipt_gas_used=21_000, receipt_effective_gas_price=10**9,
                from_address=addrs[rng.integers(len(addrs))], to_address=to, value=value,
                input="0xa9059cbb" if call_token or 0.2 <= kind < 0.23 else "0x",
                receipt_status=int(rng.random() > 0.1), block_number=1000 * r + i // 3,
                block_timestamp=1_600_000_000 + 12_000 * r + int(rng.integers(0, 11_000)) // 13 * 13,
                receipt_contract_address=_addr(10**6 + 1000 * r + i) if create else None,
            )
        )  # fmt: skip
    res = clean_transactions(pa.Table.from_pylist(rows, schema=TRANSACTIONS), 1000 * r, 1000 * r + 999)
    assert res.quarantined.num_rows == 0
    txs = res.cleaned
    hashes = txs.column("hash").to_pylist()
    tt = []
    for j in range(n_tt):
        missing = rng.random() < 0.05  # a transfer whose tx is not in the range: untimed
        tt.append(
            dict(
                token_address=tokens[rng.integers(len(tokens))],
                from_address=(addrs + [None])[rng.integers(len(addrs) + (j % 7 == 0))],
                to_address=(tokens + addrs)[rng.integers(len(tokens) + len(addrs))],
                value=str(int(rng.integers(1, 10**6)) * 10**15), log_index=j, block_number=1000 * r,
                transaction_hash=f"0x{r + 1000:064x}" if missing else hashes[rng.integers(len(hashes))],
                token_standard="erc721" if j % 11 == 0 else "erc20",
            )
        )  # fmt: skip
    return txs, scaled(pa.Table.from_pylist(tt, schema=TRANSFER_EVENTS), {t: 18 for t in tokens[:-1]})  # one unknown


def _authorizations(rng: np.random.Generator, addrs: list[str]) -> list[dict]:
    """1-3 EIP-7702 tuples: known or authority-only signers (some unrecoverable), a few targets and revocations."""
    out = []
    for _ in range(int(rng.integers(1, 4))):
        # 5000+: authorities that never send (test_internal_features uses 7000+ for internal-only recipients)
        authority = (addrs + [_addr(5000 + i) for i in range(5)] + [None])[rng.integers(len(addrs) + 6)]
        target = [_addr(800), _addr(801), _addr(802), "0x" + "00" * 20][rng.integers(4)]
        out.append(dict(chain_id="0", address=target, nonce=0, y_parity=0, r="0x" + "1" * 64, s="0x" + "2" * 64,
                        authority=authority))  # fmt: skip
    return out


def _contracts(txs: pa.Table, tt: pa.Table) -> set[str]:
    called = txs.filter(pc.fill_null(txs.column("is_contract_call"), False)).column("to_address").to_pylist()
    created = txs.column("receipt_contract_address").drop_null().to_pylist()
    erc20 = tt.filter(pc.not_equal(tt.column("token_standard"), "erc721"))
    return set(called) | set(created) | set(erc20.column("token_address").to_pylist())


def _ranges(seed: int = 3, n_ranges: int = 4, n_tx: int = 300, n_tt: int = 120):
    """Random ranges, less the one case whose lifetime definition differs (see the module docstring)."""
    rng = np.random.default_rng(seed)
    addrs, tokens = [_addr(i) for i in range(1, 41)], [_addr(900 + i) for i in range(3)]
    ranges = [_range_rows(rng, r, addrs, tokens, n_tx, n_tt) for r in range(n_ranges)]
    while True:  # drop transfers to a contract that is not one in the transfer's own range
        lifetime = set().union(*(_contracts(txs, tt) for txs, tt in ranges))
        out = []
        for txs, tt in ranges:
            other = sorted(lifetime - _contracts(txs, tt))
            out.append((txs, tt.filter(pc.invert(pc.is_in(tt.column("to_address"), pa.array(other, pa.string()))))))
        if all(a[1].num_rows == b[1].num_rows for a, b in zip(out, ranges, strict=True)):
            return out
        ranges = out


def test_lifetime_profile_features_equal_address_features_of_the_concatenation():
    ranges = _ranges()
    acts = [address_activity(txs, tt, 10 + r) for r, (txs, tt) in enumerate(ranges)]
    got = profile_features(merge_activity(acts))
    ref = address_features(pa.concat_tables([t for t, _ in ranges]), pa.concat_tables([t for _, t in ranges]))
    assert got.column_names == ["address", *ADDRESS_FEATURE_COLUMNS, *ADDRESS_TEXT_COLUMNS,
                                *INTERNAL_ADDRESS_FEATURE_COLUMNS]  # fmt: skip
    assert got.column("address").to_pylist() == ref.column("address").to_pylist()
    for c in ADDRESS_FEATURE_COLUMNS:
        # balance = received - sent - contracts cancels: its float error is relative to the terms, not the result
        atol = 1e-6 if c == "total_ether_balance" else 0.0
        np.testing.assert_allclose(got.column(c).to_numpy(), ref.column(c).to_numpy(), rtol=1e-9, atol=atol, err_msg=c)
    for c in ADDRESS_TEXT_COLUMNS:
        assert got.column(c).to_pylist() == ref.column(c).to_pylist(), c
    assert max(ref.column("unique_sent_to_addresses").to_numpy()) > 20  # the sketches hold real sets
    d = ref.to_pandas().set_index("address")
    assert d["delegation_authorizations"].sum() > 50 and d["delegation_sponsored"].sum() > 30
    assert d.loc[_addr(5000), "delegation_authorizations"] > 0 and d.loc[_addr(5000), "sent_tnx"] == 0
    assert d.loc[_addr(800), "delegation_authorities"] > 10 and d["delegation_targets"].max() == 3
    assert "0x" + "00" * 20 not in d.index  # revocations name no target


def _exact(t: pa.Table) -> pa.Table:
    """The columns a merge reproduces bit for bit (float sums are order-dependent in the last bits)."""
    return t.select(
        [c for c in t.column_names if not (MERGE_RULES[c] == "sum" and t.schema.field(c).type == pa.float64())]
    )


def test_merge_is_exact_whatever_the_grouping_and_deterministic():
    ranges = _ranges(seed=5, n_ranges=3)
    a, b, c = (address_activity(txs, tt, r) for r, (txs, tt) in enumerate(ranges))
    flat = merge_activity([a, b, c])
    assert flat.schema == ACTIVITY_SCHEMA
    for other in (merge_activity([merge_activity([a, b]), c]), merge_activity([a, merge_activity([b, c])]),
                  merge_activity([c, a, b])):  # fmt: skip
        assert _exact(other).equals(_exact(flat))
        for col in ("erc20_sent_value", "erc20_received_value", "erc20_sent_to_contract_value"):
            np.testing.assert_allclose(other.column(col).to_numpy(), flat.column(col).to_numpy(), rtol=1e-12)
    assert merge_activity([a, b, c]).equals(flat)
    assert merge_activity([a]).equals(a)
    assert merge_activity([]).num_rows == 0
    ranges_of = dict(zip(flat.column("address").to_pylist(), flat.column("ranges").to_pylist(), strict=True))
    assert ranges_of[_addr(1)] == [0, 1, 2]


def test_the_api_s_columns_alone_give_the_same_profiles():
    a, b, c = (address_activity(txs, tt, r) for r, (txs, tt) in enumerate(_ranges(seed=9, n_ranges=3)))
    narrow = [t.select(PROFILE_COLUMNS) for t in (a, b, c)]
    got = merge_activity(narrow, PROFILE_COLUMNS)
    assert got.num_columns == len(PROFILE_COLUMNS) < len(ACTIVITY_SCHEMA)
    assert profile_records(got) == profile_records(merge_activity([a, b, c]))


def test_activity_of_one_range_and_exact_wei():
    rng = np.random.default_rng(0)
    txs, tt = _range_rows(rng, 7, [_addr(1), _addr(2)], [_addr(900)], 60, 10)
    act = address_activity(txs, tt, 7)
    assert act.schema == ACTIVITY_SCHEMA
    assert act.column("address").to_pylist() == sorted(act.column("address").to_pylist())
    df = txs.to_pandas()
    plain = df[~df["failed"] & ~df["is_contract_call"] & ~df["is_contract_creation"]]
    row = {r["address"]: r for r in act.to_pylist()}[_addr(1)]
    sent = [int(v) for v in plain[plain["from_address"] == _addr(1)]["value"]]
    assert int(row["sent_wei"]) == sum(sent) and int(row["sent_max_wei"]) == max(sent)
    assert row["ranges"] == [7] and row["range_tx_counts"][0] == int(
        ((df["from_address"] == _addr(1)) | (df["to_address"] == _addr(1))).sum()
    )
    created = txs.column("receipt_contract_address").drop_null().to_pylist()
    contracts = act.filter(pc.is_in(act.column("address"), pa.array(created)))
    assert contracts.num_rows == len(created) and all(contracts.column("is_contract").to_pylist())
    empty = address_activity(txs.slice(0, 0), None, 7)
    assert empty.num_rows == 0 and empty.schema == ACTIVITY_SCHEMA
    assert profile_features(merge_activity([act])).num_rows == address_features(txs, tt).num_rows


def test_profile_record_view():
    ranges = _ranges(seed=9, n_ranges=2, n_tx=100, n_tt=40)
    merged = merge_activity([address_activity(txs, tt, r) for r, (txs, tt) in enumerate(ranges)])
    recs = profile_records(merged)
    assert [r["address"] for r in recs] == merged.column("address").to_pylist()
    one = profile_record(merged.slice(0, 1).to_pylist()[0])
    assert one == recs[0]
    r = recs[0]
    assert r["ether_sent"] == pytest.approx(int(r["ether_sent_wei"]) / 1e18)
    assert r["distinct_counterparties_exact"] and r["distinct_counterparties"] >= max(
        r["distinct_sent_to"], r["distinct_received_from"]
    )
    assert r["active_ranges"] == 2 and r["transaction_count"] > 0
