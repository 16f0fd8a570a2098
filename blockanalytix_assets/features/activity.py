"""address_activity: per-range partial aggregates of every address, mergeable into lifetime profiles.

Definitions are those of features/address.py (the Kaggle columns), kept as mergeable state: counts and exact
wei sums [sum], first/last timestamps and min/max values [min/max], KMV sketches of counterparties [union],
per-token transfer counts [per-token sum], the range indexes with their tx counts [concatenated].
- A row per address that is from/to of a tx or of an ERC-20 transfer in the range, and per contract created or
  token contract seen (so `is_contract` survives into later ranges; such rows have all counts 0). Activity
  (first/last block and timestamp) includes being created and emitting a transfer as its token contract.
- "Contract recipient" of an ERC-20 transfer (erc20_sent_to_contract_*): a token contract, created contract or
  called address seen in the SAME range; a lifetime window would also know contracts seen in other ranges.
- A transfer's time and block are those of its transaction in the range (untimed when that tx is absent).
- range_tx_counts: txs with the address as from_address or to_address (a self-transfer counts once).
- ether values are exact wei (decimal128(38, 0), successful txs only); ERC-20 values are float64 in the token's
  units (token_transfers.scaled_value, as address.py), their sums order-dependent in the last bits.
- internal transfers (features/internal.py): their senders and recipients are active (a row, first/last block and
  time, the range in `ranges` with its tx count); the internal_* columns are null where the range has no traces.
- delegation_* (EIP-7702, features/delegation.py): authorizations signed [sum] and sponsored [sum], authorizations
  naming the address as target [sum], sketches of targets and of authorities [union]. Signing an authorization or
  being its target is activity (first/last block) and keeps a row.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from blockanalytix_assets.features.address import TOKEN_COLUMNS
from blockanalytix_assets.features.delegation import authorizations
from blockanalytix_assets.features.internal import INTERNAL_ACTIVITY_COLUMNS, internal_activity, internal_rows
from blockanalytix_assets.features.reduce import Grouping, column_numpy, extremes, flag_numpy, wei_array, wei_parts
from blockanalytix_assets.features.sketch import SKETCH_TYPE, hash64, kmv_from_pairs
from blockanalytix_assets.ingest.schema import WEI, erc20_transfers
from blockanalytix_assets.transform.encoding import encode

ACTIVITY_TX_COLUMNS = [
    "hash", "block_number", "block_timestamp", "transaction_index", "from_address", "to_address",
    "receipt_contract_address", "value", "value_eth", "failed", "is_contract_call", "is_contract_creation",
]  # fmt: skip
TOKEN_TYPE = pa.list_(pa.struct([("token_address", pa.string()), ("sent", pa.int64()), ("received", pa.int64())]))
_I, _F = pa.int64(), pa.float64()
_TIMED = ["sent", "received", "erc20_sent", "erc20_received", "erc20_sent_to_contract"]
Column = tuple[str, pa.DataType, str]  # (name, type, merge rule)


def _span(prefix: str) -> list[Column]:
    """{prefix}first_timestamp and {prefix}last_timestamp."""
    return [(f"{prefix}first_timestamp", _I, "min"), (f"{prefix}last_timestamp", _I, "max")]


def _ether(prefix: str, count: str) -> list[Column]:
    """Exact wei sum, how many values it adds, and the smallest and largest value."""
    return [
        (f"{prefix}_wei", WEI, "sum"),
        (f"{prefix}_{count}", _I, "sum"),
        (f"{prefix}_min_wei", WEI, "min"),
        (f"{prefix}_max_wei", WEI, "max"),
    ]


def _erc20(prefix: str) -> list[Column]:
    """ERC-20 value sum, smallest and largest value (18-decimal units)."""
    return [(f"{prefix}_value", _F, "sum"), (f"{prefix}_min", _F, "min"), (f"{prefix}_max", _F, "max")]


# "min"/"max" columns are null where the address has no such event.
_COLUMNS: list[Column] = [
    ("address", pa.string(), "key"),
    ("first_block", _I, "min"), ("last_block", _I, "max"),
    *_span(""), *_span("tx_"),
    ("sent_count", _I, "sum"), ("received_count", _I, "sum"), ("created_count", _I, "sum"),
    ("failed_sent_count", _I, "sum"),
    *_span("sent_"), *_span("received_"),
    *_ether("sent", "value_count"), *_ether("received", "value_count"), *_ether("sent_to_contracts", "count"),
    ("erc20_sent_count", _I, "sum"), ("erc20_received_count", _I, "sum"), ("erc20_self_count", _I, "sum"),
    ("erc20_sent_to_contract_count", _I, "sum"),
    *_erc20("erc20_sent"), *_erc20("erc20_received"), *_erc20("erc20_sent_to_contract"),
    ("erc20_sent_timed_count", _I, "sum"), *_span("erc20_sent_"),
    ("erc20_received_timed_count", _I, "sum"), *_span("erc20_received_"), ("erc20_received_tx_count", _I, "sum"),
    ("erc20_sent_to_contract_timed_count", _I, "sum"), *_span("erc20_sent_to_contract_"),
    ("sent_to", SKETCH_TYPE, "kmv"), ("received_from", SKETCH_TYPE, "kmv"), ("erc20_sent_to", SKETCH_TYPE, "kmv"),
    ("erc20_received_from", SKETCH_TYPE, "kmv"), ("erc20_sent_to_contract", SKETCH_TYPE, "kmv"),
    ("tokens", TOKEN_TYPE, "tokens"),
    ("is_contract", pa.bool_(), "or"),
    ("ranges", pa.list_(pa.int32()), "ranges"), ("range_tx_counts", pa.list_(pa.int32()), "ranges"),
    *INTERNAL_ACTIVITY_COLUMNS,
    ("delegation_authorizations", _I, "sum"), ("delegation_sponsored", _I, "sum"),
    ("delegation_target_count", _I, "sum"), ("delegation_targets_sketch", SKETCH_TYPE, "kmv"),
    ("delegation_authorities_sketch", SKETCH_TYPE, "kmv"),
]  # fmt: skip
ACTIVITY_SCHEMA = pa.schema([pa.field(n, t) for n, t, _ in _COLUMNS])
MERGE_RULES: dict[str, str] = {n: r for n, _, r in _COLUMNS}


def _tokens(t_from: np.ndarray, t_to: np.ndarray, token: np.ndarray, n: int) -> pa.Array:
    """Per code, list<struct<token_address (code), sent, received>> sorted by token code."""
    has_tok = token >= 0
    s_ok, r_ok = has_tok & (t_from >= 0), has_tok & (t_to >= 0)
    addr = np.concatenate([t_from[s_ok], t_to[r_ok]])
    tok = np.concatenate([token[s_ok], token[r_ok]])
    is_sent = np.concatenate([np.ones(s_ok.sum(), bool), np.zeros(r_ok.sum(), bool)])
    keys, inv = np.unique(addr * n + tok, return_inverse=True)
    sent = np.bincount(inv, weights=is_sent, minlength=len(keys)).astype(np.int64)
    received = np.bincount(inv, weights=~is_sent, minlength=len(keys)).astype(np.int64)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys // n, minlength=n), out=offsets[1:])
    structs = pa.StructArray.from_arrays(
        [pa.array(keys % n), pa.array(sent), pa.array(received)], ["token_address", "sent", "received"]
    )
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), structs)


def address_activity(
    txs: pa.Table, token_transfers: pa.Table | None, range_index: int, internal_transfers: pa.Table | None = None
) -> pa.Table:
    """ACTIVITY_SCHEMA rows, sorted by address, of a range's active addresses (internal_transfers None: no traces)."""
    auth = authorizations(txs)
    txs = txs.select(ACTIVITY_TX_COLUMNS)
    it = internal_rows(internal_transfers)
    used = TOKEN_COLUMNS[:5]
    if token_transfers is None:
        tt = pa.table({c: pa.array([], pa.string()) for c in used})
    else:
        tt = erc20_transfers(token_transfers)
        tt = tt.select(used + (["block_number"] if "block_number" in tt.column_names else []))
    m = txs.num_rows
    codes, names = encode(
        *(txs.column(c) for c in ("from_address", "to_address", "receipt_contract_address")),
        *(tt.column(c) for c in ("from_address", "to_address", "token_address")),
        *(it.column(c) for c in ("from_address", "to_address")),
        *(auth.column(c) for c in ("sender", "authority", "target")),
    )
    n = len(names)
    perm = pc.sort_indices(names).to_numpy()  # codes -> ranks in address order
    rank = np.empty(n + 1, dtype=np.int64)
    rank[perm], rank[n] = np.arange(n), -1
    frm, to, created, t_from, t_to, token, i_from, i_to, a_sender, a_auth, a_target = (rank[c] for c in codes)
    names = names.take(pa.array(perm)).cast(pa.string())

    ts = column_numpy(txs, "block_timestamp").astype(np.int64)
    block = column_numpy(txs, "block_number").astype(np.int64)
    low, high, _ = wei_parts(txs.column("value"))
    ok = ~flag_numpy(txs, "failed")
    creation, call = flag_numpy(txs, "is_contract_creation"), flag_numpy(txs, "is_contract_call")
    sent, recv = ~creation, to >= 0
    to_contract = call | creation

    (tx_hash, tt_hash), hashes = encode(txs.column("hash"), tt.column("transaction_hash"))
    row_of = np.full(len(hashes) + 1, -1)
    row_of[tx_hash] = np.arange(m)
    pos = row_of[tt_hash]
    timed = pos >= 0
    tts = np.where(timed, ts[np.maximum(pos, 0)] if m else 0, 0)
    tblock = np.where(timed, block[np.maximum(pos, 0)] if m else 0, -1)
    if "block_number" in tt.column_names:
        tblock = np.where(timed, tblock, pc.fill_null(tt.column("block_number"), -1).to_numpy())
    # the token's own decimals (token_transfers.scaled_value); unknown decimals add 0 (counted, never 18)
    tval = pc.fill_null(pc.cast(tt.column("scaled_value"), pa.float64()), 0.0).to_numpy(zero_copy_only=False)
    tval = np.nan_to_num(tval.astype(np.float64))
    contract = np.zeros(n, dtype=bool)
    for c in (token, created, to[call]):
        contract[c[c >= 0]] = True
    has_from, has_to = t_from >= 0, t_to >= 0
    to_ctr = has_from & has_to & contract[np.maximum(t_to, 0)]

    cols: dict[str, pa.Array] = {}
    # Any activity: txs (from, to, created contract), transfers (from, to, token contract), internal transfers.
    ev_code = np.concatenate([frm, to[recv], created[created >= 0], t_from[has_from], t_to[has_to], token[token >= 0],
                              i_from, i_to])  # fmt: skip
    t_sel = [has_from, has_to, token >= 0]
    i_block = pc.fill_null(it.column("block_number"), -1).to_numpy(zero_copy_only=False).astype(np.int64)
    i_ts = pc.fill_null(it.column("block_timestamp"), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    i_timed = pc.is_valid(it.column("block_timestamp")).to_numpy(zero_copy_only=False)
    ev_block = np.concatenate([block, block[recv], block[created >= 0], *(tblock[s] for s in t_sel), i_block, i_block])
    ev_ts = np.concatenate([ts, ts[recv], ts[created >= 0], *(tts[s] for s in t_sel), i_ts, i_ts])
    ev_timed = np.concatenate([np.ones(m + recv.sum() + (created >= 0).sum(), bool), *(timed[s] for s in t_sel),
                               i_timed, i_timed])  # fmt: skip
    a_row = column_numpy(auth, "row").astype(np.int64)
    signed, named = a_auth >= 0, (a_auth >= 0) & (a_target >= 0)
    ev_code = np.concatenate([ev_code, a_auth[signed], a_target[named]])
    ev_block = np.concatenate([ev_block, block[a_row[signed]], block[a_row[named]]])
    ev_ts = np.concatenate([ev_ts, ts[a_row[signed]], ts[a_row[named]]])
    ev_timed = np.concatenate([ev_timed, np.ones(signed.sum() + named.sum(), bool)])
    has_block = ev_block >= 0
    cols["first_block"], cols["last_block"] = extremes(ev_code[has_block], ev_block[has_block], n)
    cols["first_timestamp"], cols["last_timestamp"] = extremes(ev_code[ev_timed], ev_ts[ev_timed], n)
    tx_code, tx_ts = np.concatenate([frm, to[recv]]), np.concatenate([ts, ts[recv]])
    cols["tx_first_timestamp"], cols["tx_last_timestamp"] = extremes(tx_code, tx_ts, n)
    counts = {
        "sent_count": frm[sent], "received_count": to[recv], "created_count": frm[creation],
        "failed_sent_count": frm[~ok], "erc20_sent_count": t_from[has_from], "erc20_received_count": t_to[has_to],
        "erc20_self_count": t_from[has_from & (t_from == t_to)], "erc20_sent_to_contract_count": t_from[to_ctr],
    }  # fmt: skip
    for name, c in counts.items():
        cols[name] = pa.array(np.bincount(c, minlength=n).astype(np.int64))
    for name, c, t in [("sent", frm[sent], ts[sent]), ("received", to[recv], ts[recv])]:
        cols[f"{name}_first_timestamp"], cols[f"{name}_last_timestamp"] = extremes(c, t, n)

    for name, c, sel in [
        ("sent", frm, sent & ok & ~to_contract),
        ("received", to, recv & ok),
        ("sent_to_contracts", frm, ok & to_contract),
    ]:
        g = Grouping(c[sel], n)
        lo, hi = low[sel], high[sel]
        cols[f"{name}_wei"] = wei_array(*g.wei_sum(lo, hi))
        cols["sent_to_contracts_count" if name == "sent_to_contracts" else f"{name}_value_count"] = pa.array(g.count())
        valid = np.ones(len(lo), bool)
        cols[f"{name}_min_wei"] = wei_array(*g.wei_extreme(lo, hi, valid, largest=False))
        cols[f"{name}_max_wei"] = wei_array(*g.wei_extreme(lo, hi, valid, largest=True))

    for name, c, sel in [
        ("erc20_sent", t_from, has_from),
        ("erc20_received", t_to, has_to),
        ("erc20_sent_to_contract", t_from, to_ctr),
    ]:
        cols[f"{name}_value"] = pa.array(np.bincount(c[sel], weights=tval[sel], minlength=n))
        cols[f"{name}_min"], cols[f"{name}_max"] = extremes(c[sel], tval[sel], n)
        sel = sel & timed
        cols[f"{name}_timed_count"] = pa.array(np.bincount(c[sel], minlength=n).astype(np.int64))
        cols[f"{name}_first_timestamp"], cols[f"{name}_last_timestamp"] = extremes(c[sel], tts[sel], n)
    rec = has_to & timed
    pairs = np.unique(t_to[rec] * (m + 1) + pos[rec])
    cols["erc20_received_tx_count"] = pa.array(np.bincount(pairs // (m + 1), minlength=n).astype(np.int64))

    h = hash64(names)
    s_to, tr, ts_, tc = sent & recv, has_from & has_to, to_ctr, has_to & has_from
    cols["sent_to"] = kmv_from_pairs(frm[s_to], h[to[s_to]], n)
    cols["received_from"] = kmv_from_pairs(to[recv], h[frm[recv]], n)
    cols["erc20_sent_to"] = kmv_from_pairs(t_from[tr], h[t_to[tr]], n)
    cols["erc20_received_from"] = kmv_from_pairs(t_to[tc], h[t_from[tc]], n)
    cols["erc20_sent_to_contract"] = kmv_from_pairs(t_from[ts_], h[t_to[ts_]], n)
    cols["tokens"] = _tokens(t_from, t_to, token, n)
    delegation_counts = {"delegation_authorizations": a_auth[signed], "delegation_target_count": a_target[named],
                         "delegation_sponsored": a_sender[signed & (a_auth != a_sender)]}  # fmt: skip
    for name, c in delegation_counts.items():
        cols[name] = pa.array(np.bincount(c, minlength=n).astype(np.int64))
    cols["delegation_targets_sketch"] = kmv_from_pairs(a_auth[named], h[a_target[named]], n)
    cols["delegation_authorities_sketch"] = kmv_from_pairs(a_target[named], h[a_auth[named]], n)
    cols["is_contract"] = pa.array(contract)
    touching = np.concatenate([frm, to[recv & (to != frm)]])
    cols["range_tx_counts"] = pa.array(np.bincount(touching, minlength=n).astype(np.int32))
    cols |= internal_activity(i_from, i_to, it.column("value"), h, n, internal_transfers is not None)

    keep = contract.copy()
    for c in (frm, to, t_from, t_to, i_from, i_to, a_auth, a_target):
        keep[c[c >= 0]] = True
    keep_idx = np.flatnonzero(keep)
    take = pa.array(keep_idx)
    out = {"address": names.take(take)}
    for name in ACTIVITY_SCHEMA.names[1:]:
        if name == "ranges":
            out[name] = pa.ListArray.from_arrays(pa.array(np.arange(len(keep_idx) + 1, dtype=np.int32)),
                                                 pa.array(np.full(len(keep_idx), range_index, np.int32)))  # fmt: skip
        elif name == "range_tx_counts":
            v = cols[name].take(take)
            out[name] = pa.ListArray.from_arrays(pa.array(np.arange(len(keep_idx) + 1, dtype=np.int32)), v)
        elif name == "tokens":
            out[name] = _token_names(cols[name].take(take), names)
        else:
            out[name] = cols[name].take(take)
    return pa.Table.from_pydict(out, schema=ACTIVITY_SCHEMA)


def _token_names(lists: pa.ListArray, names: pa.Array) -> pa.ListArray:
    """Token codes inside the token lists -> token contract addresses."""
    flat = lists.flatten()
    structs = pa.StructArray.from_arrays(
        [names.take(flat.field("token_address")), flat.field("sent"), flat.field("received")],
        ["token_address", "sent", "received"],
    )
    offsets = pc.subtract(lists.offsets, lists.offsets[0]) if len(lists) else pa.array([0], pa.int32())
    return pa.ListArray.from_arrays(offsets, structs).cast(TOKEN_TYPE)
