"""Per-address account-history features named like the Kaggle Ethereum fraud dataset's columns.

Definitions over a window of cleaned transactions (and its token transfers):
- sent = txs from the address that are not contract creations; received = txs to it; created = its creations.
  Counts include failed txs; ether amounts (ETH) include only successful ones (receipt status 1).
- "to contract" = a successful contract call (non-empty input to an address) or creation; `val sent` stats
  cover the other successful sends, so total_ether_balance = received - sent - sent to contracts (no fees).
- times are minutes from block_timestamp; an average gap is (last - first) / (n - 1), 0 below two txs.
- ERC-20: token_transfers rows of token_standard erc20 only (an ERC-721 row's value is a token id), values in
  the token's units (scaled_value = value / 10**decimals; 0 where its decimals are unknown); a contract recipient is a
  token contract, a created contract or a called address seen in the window. `erc20_uniq_sent_addr_1` counts
  distinct contract recipients, `erc20_avg_time_between_rec_2_tnx` uses distinct receiving transactions and
  token "names"/"types" are token contract addresses (the Kaggle source documents neither).
- min/max/avg of an empty set are 0, as in the Kaggle dataset.
- internal transfers (features/internal.py; None: no traces, the internal_* columns null) make their senders and
  recipients rows of the table; the INTERNAL_ADDRESS_FEATURE_COLUMNS follow the Kaggle ones.
- delegation_* (ours, after the Kaggle columns): EIP-7702 authorizations of the window's txs (features/delegation.py);
  an authority or target named only in an authorization also gets a row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from blockanalytix_assets.features.delegation import DELEGATION_FEATURE_COLUMNS, authorizations
from blockanalytix_assets.features.internal import (
    INTERNAL_ADDRESS_FEATURE_COLUMNS,
    internal_rows,
    internal_window_features,
)
from blockanalytix_assets.features.naming import kaggle_column_name
from blockanalytix_assets.features.reduce import column_numpy, flag_numpy
from blockanalytix_assets.ingest.schema import erc20_transfers
from blockanalytix_assets.transform.encoding import encode, grouped_min_max, unique_pairs

KAGGLE_NUMERIC = [
    "Avg min between sent tnx", "Avg min between received tnx", "Time Diff between first and last (Mins)",
    "Sent tnx", "Received Tnx", "Number of Created Contracts", "Unique Received From Addresses",
    "Unique Sent To Addresses", "min value received", "max value received ", "avg val received",
    "min val sent", "max val sent", "avg val sent", "min value sent to contract", "max val sent to contract",
    "avg value sent to contract", "total transactions (including tnx to create contract", "total Ether sent",
    "total ether received", "total ether sent contracts", "total ether balance", " Total ERC20 tnxs",
    " ERC20 total Ether received", " ERC20 total ether sent", " ERC20 total Ether sent contract",
    " ERC20 uniq sent addr", " ERC20 uniq rec addr", " ERC20 uniq sent addr.1",
    " ERC20 uniq rec contract addr", " ERC20 avg time between sent tnx", " ERC20 avg time between rec tnx",
    " ERC20 avg time between rec 2 tnx", " ERC20 avg time between contract tnx", " ERC20 min val rec",
    " ERC20 max val rec", " ERC20 avg val rec", " ERC20 min val sent", " ERC20 max val sent",
    " ERC20 avg val sent", " ERC20 min val sent contract", " ERC20 max val sent contract",
    " ERC20 avg val sent contract", " ERC20 uniq sent token name", " ERC20 uniq rec token name",
]  # fmt: skip
KAGGLE_TEXT = [" ERC20 most sent token type", " ERC20_most_rec_token_type"]
# Changing the address feature columns, their order or meaning (or address_activity's) requires bumping this.
ADDRESS_FEATURE_SPEC_VERSION = "4"  # 2: internal_*; 3: delegation_* (EIP-7702); 4: ERC-20 amounts in token decimals
# float64: the Kaggle columns in Kaggle order, then ours (model inputs; the internal_* ones are not)
ADDRESS_FEATURE_COLUMNS = [kaggle_column_name(c) for c in KAGGLE_NUMERIC] + DELEGATION_FEATURE_COLUMNS
# address_risk_model's inputs: internal_* too (README's per-typology table; null without traces reads as 0)
ADDRESS_MODEL_COLUMNS = ADDRESS_FEATURE_COLUMNS + INTERNAL_ADDRESS_FEATURE_COLUMNS
ADDRESS_TEXT_COLUMNS = [kaggle_column_name(c) for c in KAGGLE_TEXT]  # token contract address or null
TX_COLUMNS = [
    "hash", "from_address", "to_address", "receipt_contract_address", "value_eth", "block_timestamp",
    "failed", "is_contract_call", "is_contract_creation",
]  # fmt: skip
TOKEN_COLUMNS = ["token_address", "from_address", "to_address", "scaled_value", "transaction_hash", "token_standard"]
_TOKEN_USED = TOKEN_COLUMNS[:5]  # token_standard only picks the ERC-20 rows


class _Groups:
    """Grouped reductions over integer address codes 0..n-1 (0 where a group is empty)."""

    def __init__(self, n: int):
        self.n = n

    def count(self, codes: np.ndarray) -> np.ndarray:
        return np.bincount(codes, minlength=self.n).astype(np.float64)

    def stats(self, codes: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, ...]:
        """min, max, mean, sum of values per code."""
        count = np.bincount(codes, minlength=self.n)
        total = np.bincount(codes, weights=values, minlength=self.n)
        mn, mx = grouped_min_max(codes, values, self.n)
        return mn, mx, total / np.maximum(count, 1), total

    def span(self, codes: np.ndarray, times: np.ndarray) -> np.ndarray:
        """max - min of times per code."""
        ok = ~np.isnan(times)
        mn, mx, _, _ = self.stats(codes[ok], times[ok])
        return mx - mn

    def avg_gap(self, codes: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Mean gap between consecutive times per code: span / (n - 1), 0 for fewer than two."""
        ok = ~np.isnan(times)
        n = self.count(codes[ok])
        return np.where(n > 1, self.span(codes, times) / np.maximum(n - 1, 1), 0.0)

    def nunique(self, codes: np.ndarray, other: np.ndarray) -> np.ndarray:
        pairs = unique_pairs(codes, other, self.n)
        return np.bincount(pairs // self.n, minlength=self.n).astype(np.float64)

    def mode(self, codes: np.ndarray, other: np.ndarray, names: pa.Array) -> np.ndarray:
        """Most frequent other code per code (ties: the smallest name), -1 when none."""
        out = np.full(self.n, -1, dtype=np.int64)
        if len(codes):
            vc = pd.DataFrame({"c": codes, "o": other}).value_counts().reset_index()
            vc["name"] = names.take(pa.array(vc["o"].to_numpy())).to_numpy(zero_copy_only=False)
            vc = vc.sort_values(["c", "count", "name"], ascending=[True, False, True]).drop_duplicates("c")
            out[vc["c"].to_numpy()] = vc["o"].to_numpy()
        return out


def address_features(
    txs: pa.Table, token_transfers: pa.Table | None = None, internal_transfers: pa.Table | None = None
) -> pa.Table:
    """One row per address seen in the window's transactions, token transfers, internal transfers or
    authorizations."""
    auth = authorizations(txs)
    txs = txs.select(TX_COLUMNS)
    it = internal_rows(internal_transfers)
    tt = (erc20_transfers(token_transfers) if token_transfers is not None else pa.table({c: pa.array([], pa.string())
          for c in _TOKEN_USED})).select(_TOKEN_USED)  # fmt: skip
    m = txs.num_rows
    (frm, to, created, t_from, t_to, token, i_from, i_to, a_sender, a_auth, a_target), names = encode(
        *(txs.column(c) for c in ("from_address", "to_address", "receipt_contract_address")),
        *(tt.column(c) for c in ("from_address", "to_address", "token_address")),
        *(it.column(c) for c in ("from_address", "to_address")),
        *(auth.column(c) for c in ("sender", "authority", "target")),
    )
    n = len(names)
    g = _Groups(n)
    ts = column_numpy(txs, "block_timestamp").astype(np.float64) / 60.0
    value = np.nan_to_num(pc.fill_null(txs.column("value_eth"), 0.0).to_numpy(zero_copy_only=False))
    ok = ~flag_numpy(txs, "failed")
    creation, call = flag_numpy(txs, "is_contract_creation"), flag_numpy(txs, "is_contract_call")
    sent, recv = ~creation, to >= 0
    to_contract = call | creation
    f: dict[str, np.ndarray] = {}

    f["avg_min_between_sent_tnx"] = g.avg_gap(frm[sent], ts[sent])
    f["avg_min_between_received_tnx"] = g.avg_gap(to[recv], ts[recv])
    f["time_diff_between_first_and_last_mins"] = g.span(np.concatenate([frm, to[recv]]),
                                                         np.concatenate([ts, ts[recv]]))  # fmt: skip
    f["sent_tnx"], f["received_tnx"] = g.count(frm[sent]), g.count(to[recv])
    f["number_of_created_contracts"] = g.count(frm[creation])
    f["unique_received_from_addresses"] = g.nunique(to[recv], frm[recv])
    f["unique_sent_to_addresses"] = g.nunique(frm[sent], to[sent])
    r_ok, s_ok, c_ok = recv & ok, sent & ok & ~to_contract, ok & to_contract
    rmin, rmax, ravg, rsum = g.stats(to[r_ok], value[r_ok])
    smin, smax, savg, ssum = g.stats(frm[s_ok], value[s_ok])
    cmin, cmax, cavg, csum = g.stats(frm[c_ok], value[c_ok])
    f["min_value_received"], f["max_value_received"], f["avg_val_received"] = rmin, rmax, ravg
    f["min_val_sent"], f["max_val_sent"], f["avg_val_sent"] = smin, smax, savg
    f["min_value_sent_to_contract"], f["max_val_sent_to_contract"], f["avg_value_sent_to_contract"] = (
        cmin,
        cmax,
        cavg,
    )
    f["total_transactions_including_tnx_to_create_contract"] = (
        f["sent_tnx"] + f["received_tnx"] + f["number_of_created_contracts"]
    )
    f["total_ether_sent"], f["total_ether_received"], f["total_ether_sent_contracts"] = ssum, rsum, csum
    f["total_ether_balance"] = rsum - ssum - csum

    # ERC-20 transfers: values as float ETH-like units (18 decimals), times from the emitting tx.
    # the token's own decimals (token_transfers.scaled_value); unknown decimals add 0 (counted, never 18)
    tval = pc.fill_null(pc.cast(tt.column("scaled_value"), pa.float64()), 0.0).to_numpy(zero_copy_only=False)
    tval = np.nan_to_num(tval.astype(np.float64))
    (tx_hash, tt_hash), hashes = encode(txs.column("hash"), tt.column("transaction_hash"))
    row_of = np.full(len(hashes) + 1, -1)  # +1: index -1 (null hash) lands on the spare slot
    row_of[tx_hash] = np.arange(m)
    pos = row_of[tt_hash]
    tts = np.where(pos >= 0, ts[np.maximum(pos, 0)] if m else np.nan, np.nan)
    contract = np.zeros(n, dtype=bool)
    for c in (token, created[created >= 0], to[call]):
        contract[c[c >= 0]] = True
    has_from, has_to = t_from >= 0, t_to >= 0
    self_tx = has_from & (t_from == t_to)
    to_ctr = has_from & has_to & contract[np.maximum(t_to, 0)]
    f["total_erc20_tnxs"] = g.count(t_from[has_from]) + g.count(t_to[has_to]) - g.count(t_from[self_tx])
    rmin, rmax, ravg, rsum = g.stats(t_to[has_to], tval[has_to])
    smin, smax, savg, ssum = g.stats(t_from[has_from], tval[has_from])
    cmin, cmax, cavg, csum = g.stats(t_from[to_ctr], tval[to_ctr])
    f["erc20_total_ether_received"], f["erc20_total_ether_sent"] = rsum, ssum
    f["erc20_total_ether_sent_contract"] = csum
    f["erc20_uniq_sent_addr"] = g.nunique(t_from[has_from], t_to[has_from])
    f["erc20_uniq_rec_addr"] = g.nunique(t_to[has_to], t_from[has_to])
    f["erc20_uniq_sent_addr_1"] = g.nunique(t_from[to_ctr], t_to[to_ctr])
    f["erc20_uniq_rec_contract_addr"] = g.nunique(t_to[has_to], token[has_to])
    f["erc20_avg_time_between_sent_tnx"] = g.avg_gap(t_from[has_from], tts[has_from])
    f["erc20_avg_time_between_rec_tnx"] = g.avg_gap(t_to[has_to], tts[has_to])
    rec_txs = pd.DataFrame({"a": t_to[has_to], "p": pos[has_to], "t": tts[has_to]}).drop_duplicates(["a", "p"])
    f["erc20_avg_time_between_rec_2_tnx"] = g.avg_gap(rec_txs["a"].to_numpy(), rec_txs["t"].to_numpy())
    f["erc20_avg_time_between_contract_tnx"] = g.avg_gap(t_from[to_ctr], tts[to_ctr])
    f["erc20_min_val_rec"], f["erc20_max_val_rec"], f["erc20_avg_val_rec"] = rmin, rmax, ravg
    f["erc20_min_val_sent"], f["erc20_max_val_sent"], f["erc20_avg_val_sent"] = smin, smax, savg
    f["erc20_min_val_sent_contract"], f["erc20_max_val_sent_contract"] = cmin, cmax
    f["erc20_avg_val_sent_contract"] = cavg
    f["erc20_uniq_sent_token_name"] = g.nunique(t_from[has_from], token[has_from])
    f["erc20_uniq_rec_token_name"] = g.nunique(t_to[has_to], token[has_to])

    signed, named = a_auth >= 0, (a_auth >= 0) & (a_target >= 0)
    f["delegation_authorizations"] = g.count(a_auth[signed])
    f["delegation_targets"] = g.nunique(a_auth[named], a_target[named])
    f["delegation_authorities"] = g.nunique(a_target[named], a_auth[named])
    f["delegation_sponsored"] = g.count(a_sender[signed & (a_auth != a_sender)])

    text = {
        "erc20_most_sent_token_type": g.mode(t_from[has_from], token[has_from], names),
        "erc20_most_rec_token_type": g.mode(t_to[has_to], token[has_to], names),
    }
    # Rows for addresses that took part in a tx or transfer (not only token contracts never transacting).
    party = np.zeros(n, dtype=bool)
    for c in (frm, to, t_from, t_to, i_from, i_to, a_auth, a_target):
        party[c[c >= 0]] = True
    keep = pa.array(np.flatnonzero(party))
    address = names.take(keep)
    keep = keep.take(pc.sort_indices(address)).to_numpy()
    cols = {"address": names.take(pa.array(keep)).cast(pa.string())}
    cols |= {c: pa.array(f[c][keep], pa.float64()) for c in ADDRESS_FEATURE_COLUMNS}
    for c, mode in text.items():
        v = mode[keep]
        cols[c] = names.take(pa.array(v, mask=v < 0, type=pa.int64())).cast(pa.string())
    i_eth = pc.divide(pc.cast(it.column("value"), pa.float64()), 1e18).to_numpy(zero_copy_only=False)
    internal = internal_window_features(i_from, i_to, i_eth, n, internal_transfers is not None)
    return pa.table(cols | {c: v.take(pa.array(keep)) for c, v in internal.items()})
