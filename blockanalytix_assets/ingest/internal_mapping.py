"""raw_traces -> internal_transfers: ether that moves below the top level of a transaction (pure Arrow).

A row is a trace that moved ether inside a transaction, as BigQuery's crypto_ethereum balance queries and Dune's
ETH transfers count them: status 1 (neither it nor an ancestor failed), value > 0, trace_address non-empty (the
top-level call is the transaction itself, already in raw_transactions), trace_type call, create (a contract created
with value) or suicide (a selfdestruct's refund of the balance), and call_type not delegatecall, callcode or
staticcall (a delegatecall's value is the caller's, shown again, and a callcode pays the caller itself). Block
rewards have no transaction and are not internal transfers.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from blockanalytix_assets.ingest.schema import INTERNAL_TRANSFERS, WEI

VALUE_TYPES = ["call", "create", "suicide"]
NO_TRANSFER_CALLS = ["delegatecall", "callcode", "staticcall"]
WEI_PER_ETH = 1e18


def is_internal_transfer(traces: pa.Table) -> pa.ChunkedArray:
    """True on the raw_traces rows that are internal transfers (the module's rule; never null)."""
    call_type = traces.column("call_type")
    conditions = [
        pc.equal(traces.column("status"), 1),
        pc.greater(traces.column("value"), pa.scalar(0, WEI)),
        pc.greater(pc.list_value_length(traces.column("trace_address")), 0),
        pc.is_valid(traces.column("transaction_hash")),
        pc.is_valid(traces.column("to_address")),
        pc.is_in(traces.column("trace_type"), pa.array(VALUE_TYPES)),
        pc.or_(pc.is_null(call_type), pc.invert(pc.is_in(call_type, pa.array(NO_TRANSFER_CALLS)))),
    ]
    keep = conditions[0]
    for c in conditions[1:]:
        keep = pc.and_kleene(keep, c)
    return pc.fill_null(keep, False)


def map_internal_transfers(traces: pa.Table, blocks: pa.Table | None = None) -> pa.Table:
    """internal_transfers rows of a range's raw_traces, in trace order; block_timestamp from raw_blocks (or null)."""
    t = traces.filter(is_internal_transfer(traces))
    number = t.column("block_number")
    if blocks is not None and blocks.num_rows:
        at = pc.index_in(number, value_set=blocks.column("number"))
        timestamp = pc.take(blocks.column("timestamp"), at)
    else:
        timestamp = pa.nulls(t.num_rows, pa.int64())
    value_eth = pc.divide(pc.cast(t.column("value"), pa.float64()), WEI_PER_ETH)
    cols = {name: t.column(name) for name in INTERNAL_TRANSFERS.names if name in t.column_names}
    cols |= {"block_timestamp": timestamp, "value_eth": value_eth}
    return pa.Table.from_arrays([cols[n] for n in INTERNAL_TRANSFERS.names], schema=INTERNAL_TRANSFERS)
