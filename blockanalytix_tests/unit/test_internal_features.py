"""internal_* features: lifetime profiles equal the window oracle, exact merges, null (never 0) without traces."""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from blockanalytix_assets.features.activity import ACTIVITY_SCHEMA, address_activity
from blockanalytix_assets.features.address import ADDRESS_FEATURE_COLUMNS, ADDRESS_TEXT_COLUMNS, address_features
from blockanalytix_assets.features.internal import INTERNAL_ADDRESS_FEATURE_COLUMNS, INTERNAL_TX_FEATURE_COLUMNS
from blockanalytix_assets.features.profiles import PROFILE_COLUMNS, merge_activity, profile_features, profile_records
from blockanalytix_assets.features.transaction import transaction_features
from blockanalytix_assets.ingest.schema import INTERNAL_TRANSFERS
from blockanalytix_tests.unit.test_profiles import _addr, _exact, _ranges

FRESH = [_addr(7000 + i) for i in range(8)]  # paid only by internal calls (a mixer's withdrawal addresses)


def _internal(rng: np.random.Generator, txs: pa.Table, n: int) -> pa.Table:
    """Internal transfers inside the range's transactions: known and fresh addresses, wei above 2^64."""
    txs = txs.filter(pc.invert(txs.column("failed")))
    pick = rng.integers(0, txs.num_rows, n)
    senders = [_addr(i) for i in range(1, 41)]
    rows = []
    for k, i in enumerate(pick):
        tx = {c: txs.column(c)[int(i)].as_py() for c in ("hash", "block_number", "block_timestamp", "to_address")}
        value = int(rng.integers(1, 10**6)) * 10**15 if k % 5 else int(rng.integers(1, 50)) * 10**19
        rows.append(dict(block_number=tx["block_number"], block_timestamp=tx["block_timestamp"],
                         transaction_hash=tx["hash"], transaction_index=0, trace_id=f"call_{tx['hash']}_{k}",
                         trace_address=[k], trace_type="call", call_type="call",
                         from_address=tx["to_address"] or senders[k % 40],
                         to_address=(FRESH + senders)[int(rng.integers(0, 48))], value=value,
                         value_eth=value / 1e18))  # fmt: skip
    return pa.Table.from_pylist(rows, schema=INTERNAL_TRANSFERS)


def _traced_ranges(seed: int = 3, n_ranges: int = 4):
    rng = np.random.default_rng(seed + 100)
    return [(txs, tt, _internal(rng, txs, 60)) for txs, tt in _ranges(seed=seed, n_ranges=n_ranges)]


def test_lifetime_internal_features_equal_the_window_oracle():
    ranges = _traced_ranges()
    got = profile_features(merge_activity([address_activity(t, tt, r, it) for r, (t, tt, it) in enumerate(ranges)]))
    ref = address_features(*(pa.concat_tables([r[i] for r in ranges]) for i in range(3)))
    assert got.column("address").to_pylist() == ref.column("address").to_pylist()
    assert set(FRESH) & set(got.column("address").to_pylist())  # internal-only recipients have rows
    for c in ADDRESS_FEATURE_COLUMNS + INTERNAL_ADDRESS_FEATURE_COLUMNS:
        atol = 1e-6 if c == "total_ether_balance" else 0.0
        np.testing.assert_allclose(got.column(c).to_numpy(), ref.column(c).to_numpy(), rtol=1e-9, atol=atol, err_msg=c)
        assert got.column(c).null_count == 0, c
    for c in ADDRESS_TEXT_COLUMNS:
        assert got.column(c).to_pylist() == ref.column(c).to_pylist(), c
    assert max(ref.column("internal_counterparties").to_numpy()) > 5
    assert 0.0 in ref.column("internal_sent_count").to_pylist()  # traced, nothing sent internally: 0, not null


def test_activity_state_is_exact_wei_and_internal_recipients_are_active():
    txs, tt, it = _traced_ranges(n_ranges=1)[0]
    act = {r["address"]: r for r in address_activity(txs, tt, 3, it).to_pylist()}
    fresh = next(a for a in FRESH if a in act)
    mine = it.filter(pc.equal(it.column("to_address"), fresh))
    row = act[fresh]
    assert int(row["internal_received_wei"]) == sum(mine.column("value").to_pylist())
    assert row["internal_received_count"] == mine.num_rows and row["internal_sent_count"] == 0
    assert row["sent_count"] == row["received_count"] == 0 and row["ranges"] == [3] and row["range_tx_counts"] == [0]
    assert row["first_block"] == min(mine.column("block_number").to_pylist())
    assert row["last_timestamp"] == max(mine.column("block_timestamp").to_pylist())


def test_a_range_without_traces_makes_its_addresses_unknown_never_zero():
    (t0, tt0, it0), (t1, tt1, _) = _traced_ranges(seed=5, n_ranges=2)
    traced, untraced = address_activity(t0, tt0, 0, it0), address_activity(t1, tt1, 1, None)
    assert all(untraced.column(c).null_count == untraced.num_rows for c in ("internal_sent_wei", "internal_sent_count"))
    merged = merge_activity([traced, untraced])
    feats = {r["address"]: r for r in profile_features(merged).to_pylist()}
    in_untraced = set(untraced.column("address").to_pylist())
    only_traced = set(traced.column("address").to_pylist()) - in_untraced
    assert only_traced and in_untraced
    for a, r in feats.items():
        values = [r[c] for c in INTERNAL_ADDRESS_FEATURE_COLUMNS]
        assert (values == [None] * 5) if a in in_untraced else None not in values, a
    assert all(v is None for v in profile_features(merge_activity([untraced]))["internal_ether_received"].to_pylist())
    window = address_features(pa.concat_tables([t0, t1]), pa.concat_tables([tt0, tt1]), None)
    assert window.column("internal_ether_sent").null_count == window.num_rows


def test_merges_with_unknown_ranges_are_exact_whatever_the_grouping():
    (t0, tt0, it0), (t1, tt1, _), (t2, tt2, it2) = _traced_ranges(seed=7, n_ranges=3)
    a, b, c = address_activity(t0, tt0, 0, it0), address_activity(t1, tt1, 1, None), address_activity(t2, tt2, 2, it2)
    flat = merge_activity([a, b, c])
    assert flat.schema == ACTIVITY_SCHEMA
    for other in (merge_activity([merge_activity([a, b]), c]), merge_activity([a, merge_activity([b, c])])):
        assert _exact(other).equals(_exact(flat))
    known = merge_activity([a, c])
    assert known.column("internal_received_wei").null_count == 0 < flat.column("internal_received_wei").null_count


def test_files_written_before_the_internal_columns_read_as_unknown():
    txs, tt, it = _traced_ranges(n_ranges=1)[0]
    act = address_activity(txs, tt, 0, it)
    old = act.drop_columns([c for c in act.column_names if c.startswith("internal_")])
    merged = merge_activity([old, act])
    assert merged.schema == ACTIVITY_SCHEMA and merged.column("internal_sent_count").null_count == merged.num_rows
    narrow = pa.concat_tables([old.select([c for c in PROFILE_COLUMNS if c in old.column_names])],
                              promote_options="default")  # fmt: skip
    (rec,) = profile_records(merge_activity([narrow.slice(0, 1)], PROFILE_COLUMNS))
    assert rec["internal_ether_received"] is None and rec["internal_ether_received_wei"] is None


def test_api_profile_fields():
    ranges = _traced_ranges(seed=9, n_ranges=2)
    acts = [address_activity(t, tt, r, it) for r, (t, tt, it) in enumerate(ranges)]
    recs = profile_records(merge_activity(acts))
    narrow = profile_records(merge_activity([t.select(PROFILE_COLUMNS) for t in acts], PROFILE_COLUMNS))
    assert narrow == recs
    r = next(r for r in recs if r["internal_received_count"])
    assert r["internal_ether_received"] == pytest.approx(int(r["internal_ether_received_wei"]) / 1e18)
    assert isinstance(r["internal_counterparties"], int) and r["internal_counterparties"] >= 1


def test_transaction_features_count_each_transaction_s_internal_transfers():
    txs, _, it = _traced_ranges(n_ranges=1)[0]
    out = transaction_features(txs, [], it)
    got = dict(zip(out.column("hash").to_pylist(), out.column("internal_transfer_count").to_pylist(), strict=True))
    value = dict(zip(out.column("hash").to_pylist(), out.column("internal_value_eth").to_pylist(), strict=True))
    for h in set(it.column("transaction_hash").to_pylist()):
        mine = it.filter(pc.equal(it.column("transaction_hash"), h))
        assert got[h] == mine.num_rows and value[h] == pytest.approx(sum(mine.column("value_eth").to_pylist()), 1e-6)
    assert sum(got.values()) == it.num_rows and 0.0 in got.values()  # traced, none: 0
    unknown = transaction_features(txs, [], None)
    assert all(unknown.column(c).null_count == txs.num_rows for c in INTERNAL_TX_FEATURE_COLUMNS)
