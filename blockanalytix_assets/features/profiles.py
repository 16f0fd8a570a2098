"""Lifetime address profiles: exact merges of address_activity rows, the Kaggle columns and the API view.

profile_features(merge_activity(ranges)) equals address_features(concatenated ranges) except where a lifetime
definition necessarily differs: the ERC-20 "contract recipient" columns (erc20_total_ether_sent_contract,
erc20_uniq_sent_addr_1, erc20_*_val_sent_contract, erc20_avg_time_between_contract_tnx) know only contracts seen
in the transfer's own range; a transfer whose tx lies in another range stays untimed; the unique-address counts
are KMV estimates above SKETCH_K distinct; float totals differ in the last bits (wei is summed exactly first).
Files written before the internal_* columns existed merge as if their ranges had no traces (null: unknown).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from blockanalytix_assets.features.activity import ACTIVITY_SCHEMA, MERGE_RULES, TOKEN_TYPE
from blockanalytix_assets.features.address import ADDRESS_FEATURE_COLUMNS, ADDRESS_TEXT_COLUMNS
from blockanalytix_assets.features.internal import INTERNAL_ACTIVITY_COLUMNS, internal_profile_features
from blockanalytix_assets.features.reduce import Grouping, combined, group_addresses, list_elements, merge_scalar
from blockanalytix_assets.features.sketch import SKETCH_K, kmv_estimate, kmv_is_exact, kmv_merge, kmv_union


def _tokens(col: pa.Array, codes: np.ndarray, n: int) -> pa.ListArray:
    """Per-address, per-token sums of sent/received, sorted by token address."""
    flat = col.flatten()
    parents = codes[pc.list_parent_indices(col).to_numpy()]
    enc = pc.dictionary_encode(flat.field("token_address"))
    order = pc.sort_indices(enc.dictionary).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    t = max(len(order), 1)
    keys, inv = np.unique(parents * t + rank[enc.indices.to_numpy()], return_inverse=True)
    sums = [np.bincount(inv, weights=flat.field(f).to_numpy(), minlength=len(keys)).astype(np.int64)
            for f in ("sent", "received")]  # fmt: skip
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys // t, minlength=n), out=offsets[1:])
    tokens = enc.dictionary.take(pa.array(order)).take(pa.array(keys % t))
    structs = pa.StructArray.from_arrays(
        [tokens, pa.array(sums[0]), pa.array(sums[1])], fields=list(TOKEN_TYPE.value_type)
    )
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), structs)


def _ranges(ranges: pa.Array, counts: pa.Array, codes: np.ndarray, g: Grouping) -> tuple[pa.Array, pa.Array]:
    """Range lists concatenated per address, ascending by range index."""
    idx = list_elements(ranges, g.order)  # rows by address, input order within one
    base = ranges.offsets.to_numpy()[0], counts.offsets.to_numpy()[0]
    r = ranges.values.to_numpy()[idx + base[0]]
    c = counts.values.to_numpy()[idx + base[1]]
    lengths = np.bincount(codes, weights=np.diff(ranges.offsets.to_numpy()), minlength=g.n).astype(np.int64)
    offsets = np.zeros(g.n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    parents = np.repeat(np.arange(g.n), lengths)
    if ((parents[1:] == parents[:-1]) & (r[1:] <= r[:-1])).any():  # inputs not given in range order
        order = np.lexsort((r, parents))
        r, c = r[order], c[order]
    off = pa.array(offsets.astype(np.int32))
    return (pa.ListArray.from_arrays(off, pa.array(r, pa.int32())),
            pa.ListArray.from_arrays(off, pa.array(c, pa.int32())))  # fmt: skip


def merge_activity(tables: Sequence[pa.Table], columns: Sequence[str] | None = None) -> pa.Table:
    """ACTIVITY_SCHEMA tables of disjoint range sets -> one row per address, sorted by address (exact merge).

    With columns, only those (plus address and the range lists) are read and merged: the API's profile needs
    PROFILE_COLUMNS, half of the schema.
    """
    schema = ACTIVITY_SCHEMA if columns is None else _subschema(columns)
    parts = [t if t.schema == schema else _conform(t, schema) for t in tables if t.num_rows]
    if not parts:
        return schema.empty_table()
    t = pa.concat_tables(parts)
    codes, g, address = group_addresses(combined(t.column("address")))
    out: dict[str, pa.Array] = {"address": address}
    for name, rule in MERGE_RULES.items():
        if name not in schema.names:
            continue
        col = combined(t.column(name))
        if rule in ("sum", "known_sum", "min", "max", "or"):
            out[name] = merge_scalar(col, rule, g)
        elif rule == "kmv":
            out[name] = kmv_merge(col, codes, g.n)
        elif rule == "tokens":
            out[name] = _tokens(col, codes, g.n)
    out["ranges"], out["range_tx_counts"] = _ranges(
        combined(t.column("ranges")), combined(t.column("range_tx_counts")), codes, g
    )
    return pa.Table.from_pydict({n: out[n] for n in schema.names}, schema=schema)


def _conform(t: pa.Table, schema: pa.Schema) -> pa.Table:
    """t with exactly the schema's columns; internal_* / delegation_* columns it lacks (older files) are null."""
    for name in (*_INTERNAL, *_DELEGATION):
        if name in schema.names and name not in t.column_names:
            t = t.append_column(name, pa.nulls(t.num_rows, schema.field(name).type))
    return t.select(schema.names).cast(schema)


_INTERNAL = [name for name, _, _ in INTERNAL_ACTIVITY_COLUMNS]
INTERNAL_COUNTS = ("internal_sent_count", "internal_received_count")
_DELEGATION = [name for name in ACTIVITY_SCHEMA.names if name.startswith("delegation_")]  # null sums merge as 0


def _subschema(columns: Sequence[str]) -> pa.Schema:
    wanted = {"address", "ranges", "range_tx_counts", *columns}
    return pa.schema([f for f in ACTIVITY_SCHEMA if f.name in wanted])


_VALUE_COUNTS = {"sent": "sent_value_count", "received": "received_value_count",
                 "sent_to_contracts": "sent_to_contracts_count"}  # fmt: skip


def _int(t: pa.Table, name: str) -> np.ndarray:
    return pc.fill_null(t.column(name), 0).to_numpy(zero_copy_only=False).astype(np.int64)


def _float(t: pa.Table, name: str) -> np.ndarray:
    return pc.fill_null(t.column(name), 0.0).to_numpy(zero_copy_only=False).astype(np.float64)


def _eth(t: pa.Table, name: str) -> np.ndarray:
    """wei -> ETH exactly as cleaning computes value_eth (0 where null)."""
    return pc.fill_null(pc.divide(pc.cast(t.column(name), pa.float64()), 1e18), 0.0).to_numpy(zero_copy_only=False)


def _span(t: pa.Table, prefix: str) -> np.ndarray:
    """last - first in minutes (0 where none), computed as address.py does."""
    first = _int(t, f"{prefix}first_timestamp").astype(np.float64) / 60.0
    last = _int(t, f"{prefix}last_timestamp").astype(np.float64) / 60.0
    return last - first


def _gap(span: np.ndarray, n: np.ndarray) -> np.ndarray:
    return np.where(n > 1, span / np.maximum(n - 1, 1), 0.0)


def _token_stats(t: pa.Table) -> dict[str, np.ndarray | pa.Array]:
    """Distinct sent/received tokens and the most sent/received token (ties: the smallest address)."""
    col = combined(t.column("tokens"))
    flat, rows = col.flatten(), pc.list_parent_indices(col).to_numpy()
    n = t.num_rows
    out: dict[str, np.ndarray | pa.Array] = {}
    for side in ("sent", "received"):
        counts = flat.field(side).to_numpy()
        has = counts > 0
        out[f"distinct_{side}"] = np.bincount(rows[has], minlength=n).astype(np.float64)
        # within a row tokens are ascending, so a stable sort by (row, -count) puts the mode first
        order = np.lexsort((-counts[has], rows[has]))
        r = rows[has][order]
        first = np.ones(len(r), dtype=bool)
        first[1:] = r[1:] != r[:-1]
        best = np.full(n, -1, dtype=np.int64)
        best[r[first]] = np.flatnonzero(has)[order][first]
        out[f"mode_{side}"] = flat.field("token_address").take(pa.array(best, mask=best < 0))
    return out


def profile_features(merged: pa.Table) -> pa.Table:
    """The address.py columns from lifetime state, of addresses that sent, received or created (ether or tokens)."""
    party = sum(_int(merged, c) for c in ("sent_count", "received_count", "created_count", "erc20_sent_count",
                                           "erc20_received_count", *INTERNAL_COUNTS, "delegation_authorizations",
                                           "delegation_target_count"))  # fmt: skip
    t = merged.filter(pa.array(party > 0))
    f: dict[str, np.ndarray] = {}
    sent, recv, created = _int(t, "sent_count"), _int(t, "received_count"), _int(t, "created_count")
    f["avg_min_between_sent_tnx"] = _gap(_span(t, "sent_"), sent)
    f["avg_min_between_received_tnx"] = _gap(_span(t, "received_"), recv)
    f["time_diff_between_first_and_last_mins"] = _span(t, "tx_")
    f["sent_tnx"], f["received_tnx"], f["number_of_created_contracts"] = sent, recv, created
    f["unique_received_from_addresses"] = kmv_estimate(t.column("received_from"))
    f["unique_sent_to_addresses"] = kmv_estimate(t.column("sent_to"))
    for src, (mn, mx, avg, total) in {
        "received": ("min_value_received", "max_value_received", "avg_val_received", "total_ether_received"),
        "sent": ("min_val_sent", "max_val_sent", "avg_val_sent", "total_ether_sent"),
        "sent_to_contracts": ("min_value_sent_to_contract", "max_val_sent_to_contract",
                              "avg_value_sent_to_contract", "total_ether_sent_contracts"),
    }.items():  # fmt: skip
        f[total], f[mn], f[mx] = (_eth(t, f"{src}_{x}") for x in ("wei", "min_wei", "max_wei"))
        f[avg] = f[total] / np.maximum(_int(t, _VALUE_COUNTS[src]), 1)
    f["total_transactions_including_tnx_to_create_contract"] = sent + recv + created
    f["total_ether_balance"] = f["total_ether_received"] - f["total_ether_sent"] - f["total_ether_sent_contracts"]

    es, er = _int(t, "erc20_sent_count"), _int(t, "erc20_received_count")
    ec = _int(t, "erc20_sent_to_contract_count")
    f["total_erc20_tnxs"] = es + er - _int(t, "erc20_self_count")
    f["erc20_total_ether_received"] = _float(t, "erc20_received_value")
    f["erc20_total_ether_sent"] = _float(t, "erc20_sent_value")
    f["erc20_total_ether_sent_contract"] = _float(t, "erc20_sent_to_contract_value")
    f["erc20_uniq_sent_addr"] = kmv_estimate(t.column("erc20_sent_to"))
    f["erc20_uniq_rec_addr"] = kmv_estimate(t.column("erc20_received_from"))
    f["erc20_uniq_sent_addr_1"] = kmv_estimate(t.column("erc20_sent_to_contract"))
    tok = _token_stats(t)
    f["erc20_uniq_rec_contract_addr"] = tok["distinct_received"]
    f["erc20_avg_time_between_sent_tnx"] = _gap(_span(t, "erc20_sent_"), _int(t, "erc20_sent_timed_count"))
    rec_span = _span(t, "erc20_received_")
    f["erc20_avg_time_between_rec_tnx"] = _gap(rec_span, _int(t, "erc20_received_timed_count"))
    f["erc20_avg_time_between_rec_2_tnx"] = _gap(rec_span, _int(t, "erc20_received_tx_count"))
    f["erc20_avg_time_between_contract_tnx"] = _gap(
        _span(t, "erc20_sent_to_contract_"), _int(t, "erc20_sent_to_contract_timed_count")
    )
    for side, n in (("rec", er), ("sent", es), ("sent_contract", ec)):
        src = {"rec": "erc20_received", "sent": "erc20_sent", "sent_contract": "erc20_sent_to_contract"}[side]
        f[f"erc20_min_val_{side}"], f[f"erc20_max_val_{side}"] = _float(t, f"{src}_min"), _float(t, f"{src}_max")
        f[f"erc20_avg_val_{side}"] = _float(t, f"{src}_value") / np.maximum(n, 1)
    f["erc20_uniq_sent_token_name"] = tok["distinct_sent"]
    f["erc20_uniq_rec_token_name"] = tok["distinct_received"]
    f["delegation_authorizations"] = _int(t, "delegation_authorizations")
    f["delegation_sponsored"] = _int(t, "delegation_sponsored")
    f["delegation_targets"] = kmv_estimate(t.column("delegation_targets_sketch"))
    f["delegation_authorities"] = kmv_estimate(t.column("delegation_authorities_sketch"))
    cols: dict[str, pa.Array] = {"address": combined(t.column("address"))}
    cols |= {c: pa.array(np.asarray(f[c], dtype=np.float64)) for c in ADDRESS_FEATURE_COLUMNS}
    cols[ADDRESS_TEXT_COLUMNS[0]], cols[ADDRESS_TEXT_COLUMNS[1]] = tok["mode_sent"], tok["mode_received"]
    return pa.table(cols | internal_profile_features(t))


# The activity columns profile_records reads: an API point lookup decodes only these (32 of 64).
PROFILE_COLUMNS = [
    "address", "first_block", "last_block", "first_timestamp", "last_timestamp", "sent_count", "received_count",
    "created_count", "is_contract", "ranges", "range_tx_counts", "sent_wei", "received_wei", "sent_to_contracts_wei",
    "sent_value_count", "received_value_count", "sent_min_wei", "sent_max_wei", "received_min_wei",
    "received_max_wei", "sent_to", "received_from", "erc20_sent_count", "erc20_received_count", "erc20_sent_value",
    "erc20_received_value", "tokens", *_INTERNAL,
]  # fmt: skip


def profile_records(merged: pa.Table) -> list[dict]:
    """The API view of merged activity rows (one dict per row; wei as decimal strings beside float ETH)."""
    t = merged
    n = t.num_rows
    rec: dict[str, list] = {c: t.column(c).to_pylist() for c in
                            ("address", "first_block", "last_block", "first_timestamp", "last_timestamp",
                             "sent_count", "received_count", "created_count", "is_contract")}  # fmt: skip
    rec["active_ranges"] = pc.fill_null(pc.list_value_length(t.column("ranges")), 0).to_pylist()
    counts = combined(t.column("range_tx_counts"))
    rows = pc.list_parent_indices(counts).to_numpy()
    rec["transaction_count"] = np.bincount(rows, pc.list_flatten(counts).to_numpy(), n).astype(np.int64).tolist()
    for key in ("sent", "received", "sent_to_contracts"):
        rec[f"ether_{key}_wei"] = pc.cast(pc.fill_null(t.column(f"{key}_wei"), 0), pa.string()).to_pylist()
        rec[f"ether_{key}"] = _eth(t, f"{key}_wei").tolist()
    for key in ("sent", "received"):
        n_values = _int(t, _VALUE_COUNTS[key])
        for stat, values in (("min", _eth(t, f"{key}_min_wei")), ("max", _eth(t, f"{key}_max_wei")),
                             ("mean", _eth(t, f"{key}_wei") / np.maximum(n_values, 1))):  # fmt: skip
            rec[f"{stat}_value_{key}"] = [float(v) if c else None for v, c in zip(values, n_values, strict=True)]
    union = kmv_union(t.column("sent_to"), t.column("received_from"))
    rec["distinct_counterparties"] = np.rint(kmv_estimate(union)).astype(np.int64).tolist()
    rec["distinct_counterparties_exact"] = kmv_is_exact(union, SKETCH_K).tolist()
    rec["distinct_sent_to"] = np.rint(kmv_estimate(t.column("sent_to"))).astype(np.int64).tolist()
    rec["distinct_received_from"] = np.rint(kmv_estimate(t.column("received_from"))).astype(np.int64).tolist()
    rec["token_transfers_sent"] = _int(t, "erc20_sent_count").tolist()
    rec["token_transfers_received"] = _int(t, "erc20_received_count").tolist()
    rec["erc20_value_sent"] = _float(t, "erc20_sent_value").tolist()
    rec["erc20_value_received"] = _float(t, "erc20_received_value").tolist()
    rec["distinct_tokens"] = pc.fill_null(pc.list_value_length(t.column("tokens")), 0).to_pylist()
    for key in ("sent", "received"):  # null (unknown) where a range of the address had no traces
        rec[f"internal_ether_{key}_wei"] = pc.cast(t.column(f"internal_{key}_wei"), pa.string()).to_pylist()
    for k, v in internal_profile_features(t).items():
        values = v.to_pylist()
        rec[k] = values if k.startswith("internal_ether") else [None if x is None else round(x) for x in values]
    return [{k: v[i] for k, v in rec.items()} for i in range(n)]


def profile_record(merged_row: dict) -> dict:
    """profile_records of a single merged row given as a dict (ACTIVITY_SCHEMA fields)."""
    return profile_records(pa.Table.from_pylist([merged_row], schema=ACTIVITY_SCHEMA))[0]
