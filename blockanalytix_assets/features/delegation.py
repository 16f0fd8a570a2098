"""EIP-7702 delegations of a set of transactions, one row per authorization, for the address features."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

ZERO = "0x" + "00" * 20  # the target of a revocation: not counted as a delegation target
# Address features of delegations (float64), appended after the Kaggle columns:
DELEGATION_FEATURE_COLUMNS = [
    "delegation_authorizations",  # authorizations the address signed (recovered authority; any tx status)
    "delegation_targets",  # distinct addresses it delegated its code to (revocations to 0x0 not counted)
    "delegation_authorities",  # distinct authorities that delegated their code to it
    "delegation_sponsored",  # authorizations signed by others in txs the address sent (sponsor, relayer)
]
_EMPTY = pa.table(
    {"row": pa.array([], pa.int64()), **{c: pa.array([], pa.string()) for c in ("sender", "authority", "target")}}
)


def authorizations(txs: pa.Table) -> pa.Table:
    """Tx row, sender, authority (null where no signer recovers) and target (null for 0x0) of each authorization."""
    if "authorization_list" not in txs.column_names or not txs.num_rows:
        return _EMPTY
    lists = txs.column("authorization_list").combine_chunks()
    flat = pc.list_flatten(lists)
    target = pc.struct_field(flat, "address")
    rows = pc.list_parent_indices(lists).cast(pa.int64())
    return pa.table(
        {
            "row": rows,
            "sender": pc.take(txs.column("from_address"), rows),
            "authority": pc.struct_field(flat, "authority"),
            "target": pc.if_else(pc.equal(target, ZERO), pa.scalar(None, pa.string()), target),
        }
    )
