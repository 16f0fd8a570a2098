"""address_features vs known hand-computed values and vs a plain pandas groupby reference."""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from blockanalytix_assets.features.address import (
    ADDRESS_FEATURE_COLUMNS,
    ADDRESS_TEXT_COLUMNS,
    address_features,
)
from blockanalytix_assets.features.internal import INTERNAL_ADDRESS_FEATURE_COLUMNS
from blockanalytix_assets.features.naming import kaggle_column_name
from blockanalytix_assets.ingest.schema import TOKEN_TRANSFERS, TRANSACTIONS, TRANSFER_EVENTS
from blockanalytix_assets.ingest.token_mapping import scaled
from blockanalytix_assets.transform.cleaning import clean_transactions


def _addr(i: int) -> str:
    return "0x" + f"{i:040x}"


def _cleaned(rows: list[dict]) -> pa.Table:
    full = []
    for i, r in enumerate(rows):
        base = dict(
            hash="0x" + f"{i:064x}", nonce=0, transaction_index=i, value=0, gas=100_000, gas_price=10**9,
            input="0x", transaction_type=2, receipt_gas_used=21_000, receipt_status=1,
            receipt_effective_gas_price=10**9, block_number=i, block_timestamp=1_000_000 + 60 * i,
        )  # fmt: skip
        full.append({**base, **r})
    res = clean_transactions(pa.Table.from_pylist(full, schema=TRANSACTIONS), 0, 10**6)
    assert res.quarantined.num_rows == 0
    return res.cleaned


def test_known_values_counts_include_failed_amounts_only_successful():
    a, b, c = _addr(1), _addr(2), _addr(3)
    eth = 10**18
    txs = _cleaned(
        [
            dict(from_address=a, to_address=b, value=2 * eth),  # t=0 min
            dict(from_address=a, to_address=c, value=4 * eth, block_timestamp=1_000_000 + 600),  # t=10
            dict(
                from_address=a,
                to_address=b,
                value=9 * eth,
                receipt_status=0,
                block_timestamp=1_000_000 + 1200,
            ),
            dict(from_address=b, to_address=a, value=1 * eth, block_timestamp=1_000_000 + 1800),
            dict(
                from_address=a,
                to_address=c,
                value=3 * eth,
                input="0xabcdef01",
                block_timestamp=1_000_000 + 2400,
            ),
            dict(from_address=a, to_address=None, value=0, block_timestamp=1_000_000 + 3000),
        ]
    )
    out = {r["address"]: r for r in address_features(txs).to_pylist()}
    ra = out[a]
    assert ra["sent_tnx"] == 4 and ra["received_tnx"] == 1 and ra["number_of_created_contracts"] == 1
    assert ra["total_transactions_including_tnx_to_create_contract"] == 6
    assert ra["total_ether_sent"] == 6.0  # 2 + 4; the failed 9 and the contract call are excluded
    assert (ra["min_val_sent"], ra["max_val_sent"], ra["avg_val_sent"]) == (2.0, 4.0, 3.0)
    assert ra["total_ether_sent_contracts"] == 3.0 and ra["max_val_sent_to_contract"] == 3.0
    assert ra["total_ether_received"] == 1.0
    assert ra["total_ether_balance"] == 1.0 - 6.0 - 3.0
    assert ra["avg_min_between_sent_tnx"] == pytest.approx(40 / 3)  # sends at 0, 10, 20, 40 minutes
    assert ra["time_diff_between_first_and_last_mins"] == pytest.approx(50.0)
    assert ra["unique_sent_to_addresses"] == 2
    rb = out[b]
    assert rb["received_tnx"] == 2 and rb["total_ether_received"] == 2.0  # the failed 9 ETH is not counted
    assert rb["unique_received_from_addresses"] == 1 and rb["avg_min_between_received_tnx"] == 20.0
    assert out[c]["received_tnx"] == 2 and out[c]["min_value_received"] == 3.0


def _random_window(seed: int = 7, n_tx: int = 400, n_tt: int = 150) -> tuple[pa.Table, pa.Table]:
    rng = np.random.default_rng(seed)
    addrs = [_addr(i) for i in range(1, 26)]
    tokens = [_addr(1000 + i) for i in range(3)]
    rows = []
    for i in range(n_tx):
        kind = rng.random()
        rows.append(
            dict(
                from_address=addrs[rng.integers(25)],
                to_address=None if kind < 0.03 else addrs[rng.integers(25)],
                value=int(rng.integers(0, 5 * 10**18)),
                input="0xa9059cbb" if 0.03 <= kind < 0.25 else "0x",
                receipt_status=int(rng.random() > 0.1),
                block_number=i // 3,
                block_timestamp=1_600_000_000 + 13 * (i // 3),
                transaction_index=i % 3,
                receipt_contract_address=_addr(5000 + i) if kind < 0.03 else None,
            )
        )
    txs = _cleaned(rows)
    hashes = txs.column("hash").to_pylist()
    tt = [
        dict(
            token_address=tokens[rng.integers(3)],
            from_address=addrs[rng.integers(25)],
            to_address=(tokens + addrs)[rng.integers(28)],
            value=str(int(rng.integers(1, 10**6)) * 10**15),
            transaction_hash=hashes[rng.integers(len(hashes))],
            log_index=j,
            block_number=0,
        )  # fmt: skip
        for j in range(n_tt)
    ]
    return txs, scaled(pa.Table.from_pylist(tt, schema=TRANSFER_EVENTS), {t: 18 for t in tokens})


def _gap(s: pd.Series) -> float:
    d = s.sort_values().diff().dropna()
    return float(d.mean() / 60) if len(d) else 0.0


def _reference(txs: pa.Table, tt: pa.Table) -> pd.DataFrame:
    """The same features written plainly with pandas groupby."""
    df = txs.to_pandas()
    t = tt.to_pandas().merge(df[["hash", "block_timestamp"]], left_on="transaction_hash", right_on="hash")
    t["v"] = t["value"].astype(float) / 1e18
    ok, to_contract = ~df["failed"], df["is_contract_call"] | df["is_contract_creation"]
    sent, recv = df[~df["is_contract_creation"]], df[df["to_address"].notna()]
    r = {}
    r["sent_tnx"] = sent.groupby("from_address").size()
    r["received_tnx"] = recv.groupby("to_address").size()
    r["number_of_created_contracts"] = df[df["is_contract_creation"]].groupby("from_address").size()
    r["avg_min_between_sent_tnx"] = sent.groupby("from_address")["block_timestamp"].apply(_gap)
    r["avg_min_between_received_tnx"] = recv.groupby("to_address")["block_timestamp"].apply(_gap)
    both = pd.concat([df[["from_address", "block_timestamp"]].set_axis(["a", "ts"], axis=1),
                      recv[["to_address", "block_timestamp"]].set_axis(["a", "ts"], axis=1)])  # fmt: skip
    r["time_diff_between_first_and_last_mins"] = both.groupby("a")["ts"].agg(lambda s: (s.max() - s.min()) / 60)
    r["unique_sent_to_addresses"] = sent.groupby("from_address")["to_address"].nunique()
    r["unique_received_from_addresses"] = recv.groupby("to_address")["from_address"].nunique()
    for prefix, frame, key in [
        ("sent", df[ok & ~to_contract], "from_address"),
        ("contract", df[ok & to_contract], "from_address"),
        ("received", df[ok & df["to_address"].notna()], "to_address"),
    ]:
        agg = frame.groupby(key)["value_eth"].agg(["min", "max", "mean", "sum"])
        names = {
            "sent": ["min_val_sent", "max_val_sent", "avg_val_sent", "total_ether_sent"],
            "contract": [
                "min_value_sent_to_contract", "max_val_sent_to_contract", "avg_value_sent_to_contract",
                "total_ether_sent_contracts",
            ],
            "received": [
                "min_value_received", "max_value_received", "avg_val_received", "total_ether_received",
            ],
        }[prefix]  # fmt: skip
        for col, name in zip(agg.columns, names, strict=True):
            r[name] = agg[col]
    contracts = set(tt.column("token_address").to_pylist()) | set(df["receipt_contract_address"].dropna())
    contracts |= set(df.loc[df["is_contract_call"], "to_address"])
    tc = t[t["to_address"].isin(contracts)]
    groups = [("rec", t, "to_address"), ("sent", t, "from_address"), ("sent_contract", tc, "from_address")]
    for prefix, frame, key in groups:
        agg = frame.groupby(key)["v"].agg(["min", "max", "mean"])
        r[f"erc20_min_val_{prefix}"], r[f"erc20_max_val_{prefix}"] = agg["min"], agg["max"]
        r[f"erc20_avg_val_{prefix}"] = agg["mean"]
    r["erc20_total_ether_received"] = t.groupby("to_address")["v"].sum()
    r["erc20_total_ether_sent"] = t.groupby("from_address")["v"].sum()
    r["erc20_total_ether_sent_contract"] = tc.groupby("from_address")["v"].sum()
    parties = pd.concat([t["from_address"], t.loc[t["to_address"] != t["from_address"], "to_address"]])
    r["total_erc20_tnxs"] = parties.value_counts()
    r["erc20_uniq_sent_addr"] = t.groupby("from_address")["to_address"].nunique()
    r["erc20_uniq_rec_addr"] = t.groupby("to_address")["from_address"].nunique()
    r["erc20_uniq_sent_addr_1"] = tc.groupby("from_address")["to_address"].nunique()
    r["erc20_uniq_rec_contract_addr"] = t.groupby("to_address")["token_address"].nunique()
    r["erc20_uniq_sent_token_name"] = t.groupby("from_address")["token_address"].nunique()
    r["erc20_uniq_rec_token_name"] = r["erc20_uniq_rec_contract_addr"]
    r["erc20_avg_time_between_sent_tnx"] = t.groupby("from_address")["block_timestamp"].apply(_gap)
    r["erc20_avg_time_between_rec_tnx"] = t.groupby("to_address")["block_timestamp"].apply(_gap)
    r["erc20_avg_time_between_contract_tnx"] = tc.groupby("from_address")["block_timestamp"].apply(_gap)
    return pd.DataFrame(r)


def test_matches_a_plain_pandas_reference():
    txs, tt = _random_window()
    out = address_features(txs, tt).to_pandas().set_index("address")
    ref = _reference(txs, tt).reindex(out.index).fillna(0.0)
    assert len(out) >= 25 and out.index.is_unique
    assert out["sent_tnx"].sum() == (~txs.column("is_contract_creation").to_numpy()).sum()
    for col in ref.columns:
        np.testing.assert_allclose(out[col].to_numpy(), ref[col].to_numpy(), rtol=1e-9, atol=1e-9, err_msg=col)
    assert len(ref.columns) >= 40  # most columns are covered by the reference
    bal = out["total_ether_received"] - out["total_ether_sent"] - out["total_ether_sent_contracts"]
    np.testing.assert_allclose(out["total_ether_balance"], bal)
    t = tt.to_pandas()
    top = t.groupby("to_address")["token_address"].agg(lambda s: s.value_counts().sort_index().idxmax())
    assert out.loc[top.index, "erc20_most_rec_token_type"].tolist() == top.tolist()


def test_erc721_transfers_are_not_erc20_amounts():
    txs, tt = _random_window()
    tt = tt.set_column(7, "token_standard", pa.array(["erc20"] * tt.num_rows, pa.string()))
    expected = address_features(txs, tt)
    hashes = txs.column("hash").to_pylist()
    nft = pa.Table.from_pylist(
        [dict(token_address=_addr(2000), from_address=_addr(1 + i % 25), to_address=_addr(3000 + i),
              value=str(10**70 + i), transaction_hash=hashes[i], log_index=1000 + i, block_number=0,
              token_standard="erc721", decimals=0) for i in range(40)],
        schema=TOKEN_TRANSFERS,
    )  # fmt: skip
    assert address_features(txs, pa.concat_tables([tt, nft])).equals(expected)  # token ids never summed


def test_columns_follow_the_kaggle_names():
    for name in ["sent_tnx", "received_tnx", "avg_min_between_sent_tnx", "total_ether_sent",
                 "unique_sent_to_addresses", "total_erc20_tnxs", "erc20_uniq_sent_addr_1"]:  # fmt: skip
        assert name in ADDRESS_FEATURE_COLUMNS
    txs, tt = _random_window(n_tx=30, n_tt=5)
    out = address_features(txs, tt)
    assert out.column_names == ["address", *ADDRESS_FEATURE_COLUMNS, *ADDRESS_TEXT_COLUMNS,
                                *INTERNAL_ADDRESS_FEATURE_COLUMNS]  # fmt: skip
    assert all(out.schema.field(c).type == pa.float64() for c in ADDRESS_FEATURE_COLUMNS)
    assert all(out.column(c).null_count == out.num_rows for c in INTERNAL_ADDRESS_FEATURE_COLUMNS)  # no traces
    assert address_features(txs.slice(0, 0), None).num_rows == 0


KAGGLE_CSV = os.environ.get("BLOCKANALYTIX_KAGGLE_CSV", "")


@pytest.mark.skipif(not Path(KAGGLE_CSV).is_file(), reason="set BLOCKANALYTIX_KAGGLE_CSV to the Kaggle csv")
def test_every_column_exists_in_the_kaggle_dataset():
    header = pd.read_csv(KAGGLE_CSV, nrows=0).columns
    names = {kaggle_column_name(c) for c in header}
    assert set(ADDRESS_FEATURE_COLUMNS + ADDRESS_TEXT_COLUMNS) <= names


def test_delegation_features_of_authorities_targets_and_sponsors():
    a, b, c, relayer, impl, impl2 = (_addr(i) for i in (1, 2, 3, 4, 0x77, 0x78))

    def auth(authority: str | None, target: str) -> dict:
        return dict(chain_id="1", address=target, nonce=0, y_parity=0, r="0x" + "1" * 64, s="0x" + "2" * 64,
                    authority=authority)  # fmt: skip

    zero = "0x" + "00" * 20
    txs = _cleaned(
        [
            dict(from_address=a, to_address=a, transaction_type=4, authorization_list=[auth(a, impl)]),  # self-paid
            dict(
                from_address=relayer,
                to_address=b,
                transaction_type=4,
                receipt_status=0,  # counts though failed
                authorization_list=[auth(b, impl), auth(c, impl2), auth(None, impl)],
            ),  # fmt: skip
            dict(from_address=a, to_address=a, transaction_type=4, authorization_list=[auth(a, impl2), auth(a, zero)]),
            dict(from_address=b, to_address=c, value=10**18),
        ]
    )
    f = address_features(txs).to_pandas().set_index("address")
    cols = ["delegation_authorizations", "delegation_targets", "delegation_authorities", "delegation_sponsored"]
    assert f.loc[a, cols].tolist() == [3, 2, 0, 0]  # impl, impl2 (the revocation names no target)
    assert f.loc[b, cols].tolist() == [1, 1, 0, 0] and f.loc[c, cols].tolist() == [1, 1, 0, 0]
    assert f.loc[relayer, cols].tolist() == [0, 0, 0, 2]  # the unrecoverable signer is nobody's
    assert f.loc[impl, cols].tolist() == [0, 0, 2, 0] and f.loc[impl2, cols].tolist() == [0, 0, 2, 0]
    assert f.loc[impl, "sent_tnx"] == f.loc[impl, "received_tnx"] == 0  # a row only because it is a target
    assert zero not in f.index
