"""On the devnet, the injected phishing drains stand out in the address features built by this stage."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from blockanalytix_assets.features.address import address_features
from blockanalytix_assets.features.labels import LabelSource, load_labels
from blockanalytix_assets.ingest.extract import extract_range
from blockanalytix_assets.ingest.rpc import RpcClient
from blockanalytix_assets.transform.cleaning import clean_transactions

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def window(devnet) -> tuple[pa.Table, pd.DataFrame, pd.DataFrame]:
    """The whole devnet chain cleaned as one range, its address features and its labels."""
    tables = extract_range(RpcClient(devnet.url), 0, devnet.head)
    res = clean_transactions(
        tables["raw_transactions"], 0, devnet.head, tables["raw_blocks"], tables["token_transfers"]
    )
    assert res.quarantined.num_rows == 0, res.reason_counts
    feats = address_features(res.cleaned, tables["token_transfers"]).to_pandas().set_index("address")
    labels = load_labels([LabelSource(str(devnet.labels_path), "devnet_csv", "devnet")]).table.to_pandas()
    return res.cleaned, feats, labels


def _receive_to_forward_minutes(cleaned: pa.Table) -> pd.Series:
    """Per address: minutes from its first incoming tx to its first outgoing tx after that (plain pandas)."""
    df = cleaned.select(["from_address", "to_address", "block_timestamp", "failed"]).to_pandas()
    df = df[~df["failed"]]
    first_in = df.groupby("to_address")["block_timestamp"].min()
    out = df.assign(first_in=df["from_address"].map(first_in))
    out = out[out["block_timestamp"] >= out["first_in"]]
    return (out.groupby("from_address")["block_timestamp"].min() - first_in.reindex(out["from_address"].unique())) / 60


def test_phishing_drainers_have_many_senders_and_forward_fast(window):
    cleaned, feats, labels = window
    phishing = set(labels.loc[labels["label"] == "phishing_drain", "address"])
    assert phishing, "the devnet scenario injected no phishing drain"
    # the drainers: phishing-labelled receivers fed by several victims
    drainers = [a for a in phishing if a in feats.index and feats.loc[a, "unique_received_from_addresses"] >= 2]
    assert len(drainers) >= 2
    others = feats.drop(index=[a for a in labels["address"] if a in feats.index])
    receivers = others[others["received_tnx"] > 0]
    senders_drainers = feats.loc[drainers, "unique_received_from_addresses"]
    assert senders_drainers.median() > np.percentile(receivers["unique_received_from_addresses"], 90)

    forward = _receive_to_forward_minutes(cleaned)
    fwd_drainers = forward.reindex(drainers).dropna()
    fwd_others = forward.reindex(receivers.index).dropna()
    assert len(fwd_drainers) >= 2 and len(fwd_others) >= 10
    assert fwd_drainers.median() < fwd_others.median()
    # the drain is swept out: the drainer's balance in the window ends near zero relative to what it received
    ratio = feats.loc[drainers, "total_ether_sent"] / feats.loc[drainers, "total_ether_received"].clip(lower=1e-18)
    assert (ratio > 0.9).mean() >= 0.5


def test_devnet_address_features_match_a_plain_pandas_reference(window, devnet):
    from blockanalytix_tests.unit.test_address_features import _reference

    cleaned, feats, _ = window
    transfers = extract_range(RpcClient(devnet.url), 0, devnet.head)["token_transfers"]
    ref = _reference(cleaned, transfers).reindex(feats.index).fillna(0.0)
    assert len(feats) > 300 and len(ref.columns) >= 40
    # Minutes are derived from ~1.7e9-second timestamps, so float64 rounding is ~1e-8 of a minute.
    for col in ref.columns:
        np.testing.assert_allclose(feats[col].to_numpy(), ref[col].to_numpy(), rtol=1e-7, atol=1e-7, err_msg=col)
