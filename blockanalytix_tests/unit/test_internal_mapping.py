"""internal_transfers from raw_traces: real mainnet trace recordings (hand-counted) and each rule on small cases."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from blockanalytix_assets import table_names as tn
from blockanalytix_assets.ingest import trace_mapping as tm
from blockanalytix_assets.ingest.internal_mapping import map_internal_transfers
from blockanalytix_assets.ingest.rpc_requests import RangeResponses
from blockanalytix_assets.ingest.schema import BLOCKS, INTERNAL_TRANSFERS, TRACES
from blockanalytix_assets.ingest.tables import RAW_TABLES, TRACE_ASSETS, map_all
from blockanalytix_tests.faultproxy import recorded
from blockanalytix_tests.unit.test_trace_mapping import ETL, geth_table, parity_table

# Counted by walking the recorded JSON by hand (a few lines over the raw answers, not this code): inner traces
# (traceAddress non-empty) with value > 0, no error on them or an ancestor, not delegatecall/callcode/staticcall.
# 2000200: 14 of its 17 inner calls carry value (the other 22 valued calls are top level; 1 block reward).
# 15537394: none (its one valued call is top level; 8 delegatecalls and 16 staticcalls move nothing).
# 24298763 (callTracer): 106 of 107 valued inner CALLs (one under a failed frame); 6 DELEGATECALL frames show the
# caller's value and are no transfers.
ERIGON_PARITY = {2000200: (14, 786_897_026_948_890_000_000), 15537394: (0, 0)}
GETH_24298763 = (106, 5_953_804_045_101_226_011)


def _summary(table: pa.Table) -> tuple[int, int]:
    return table.num_rows, int(pc.sum(table.column("value")).as_py() or 0)


@pytest.mark.parametrize("number", sorted(ERIGON_PARITY))
def test_erigon_trace_block_internal_transfers_hand_counted(number):
    _, result = recorded(f"erigon/trace_block_{number}.json.gz")
    out = map_internal_transfers(parity_table(result, number))
    assert out.schema.equals(INTERNAL_TRANSFERS)
    assert _summary(out) == ERIGON_PARITY[number]
    assert set(out.column("trace_type").to_pylist()) <= {"call"} and set(out.column("call_type").to_pylist()) <= {
        "call"
    }
    assert all(len(a) > 0 for a in out.column("trace_address").to_pylist())
    eth = sum(out.column("value_eth").to_pylist())
    assert eth == pytest.approx(ERIGON_PARITY[number][1] / 1e18)


def test_erigon_call_tracer_internal_transfers_hand_counted():
    number = 24298763
    _, result = recorded(f"erigon/debug_traceBlockByNumber_callTracer_{number}.json.gz")
    traces = geth_table(result, number, [e["txHash"] for e in result])
    out = map_internal_transfers(traces)
    assert _summary(out) == GETH_24298763
    inner_delegate = traces.filter(
        pc.and_(pc.equal(traces.column("call_type"), "delegatecall"), pc.greater(traces.column("value"), 0))
    )
    assert inner_delegate.num_rows == 6 and not set(out.column("trace_id").to_pylist()) & set(
        inner_delegate.column("trace_id").to_pylist()
    )


def test_selfdestruct_refund_is_an_internal_transfer():
    (path,) = (ETL / "traces" / "parity" / "block_with_suicide").glob("web3_response.trace_block_*.json")
    number = int(path.stem.rsplit("_", 1)[1], 16)
    _, result = recorded(str(path.relative_to(ETL.parent)))
    (row,) = map_internal_transfers(parity_table(result, number)).to_pylist()
    assert row["trace_type"] == "suicide" and row["call_type"] is None and row["value"] == 5 * 10**16
    assert row["value_eth"] == 0.05 and row["trace_id"].startswith("suicide_")


def _trace(addr: list[int], typ: str = "call", call_type: str | None = "call", value: int = 5, **kw) -> dict:
    base = dict(block_number=7, transaction_hash="0xaa", transaction_index=0, from_address="0x01", to_address="0x02",
                value=value, trace_type=typ, call_type=call_type if typ == "call" else None, subtraces=0,
                trace_address=addr, status=1, trace_id=f"{typ}_0xaa_{'_'.join(map(str, addr))}")  # fmt: skip
    return base | kw


def test_each_rule_on_small_cases():
    rows = [
        _trace([]),  # the top-level call: the transaction itself
        _trace([0]),  # kept
        _trace([1], "create", to_address="0x03"),  # a contract created with value: kept
        _trace([2], "create", status=0, to_address=None, error="Reverted"),  # a failed create
        _trace([3], call_type="delegatecall"),
        _trace([4], call_type="callcode"),
        _trace([5], call_type="staticcall", value=0),
        _trace([6], value=0),
        _trace([7], status=0),  # under a failed parent
        _trace([8], "suicide", value=2**100),  # a refund far above int64: exact
        dict(_trace([], "reward"), transaction_hash=None, transaction_index=None, trace_id="reward_7_0"),
    ]
    traces = pa.Table.from_pylist(rows, schema=TRACES)
    blocks = pa.Table.from_pylist([dict(number=6, timestamp=100), dict(number=7, timestamp=112)], schema=BLOCKS)
    out = map_internal_transfers(traces, blocks)
    assert out.column("trace_address").to_pylist() == [[0], [1], [8]]
    assert out.column("value").to_pylist() == [5, 5, 2**100]
    assert out.column("block_timestamp").to_pylist() == [112] * 3
    assert map_internal_transfers(traces).column("block_timestamp").null_count == 3  # no raw_blocks: unknown
    assert map_internal_transfers(TRACES.empty_table()).schema.equals(INTERNAL_TRANSFERS)


def test_the_registry_maps_it_only_with_traces():
    assert tn.INTERNAL_TRANSFERS in TRACE_ASSETS
    _, result = recorded("erigon/trace_block_2000200.json.gz")
    block = {"number": hex(2000200), "timestamp": "0x56b9a0b8", "transactions": [], "hash": "0x" + "00" * 32}
    traced = [t for t in RAW_TABLES if t.name in (tn.RAW_TRACES, tn.INTERNAL_TRANSFERS)]
    both = map_all(RangeResponses([block], {}, {2000200: result}, tm.PARITY), tuple(traced))
    assert _summary(both[tn.INTERNAL_TRANSFERS]) == ERIGON_PARITY[2000200]
    alone = map_all(RangeResponses([block], {}, {2000200: result}, tm.PARITY), tuple(traced[1:]))
    assert alone[tn.INTERNAL_TRANSFERS].equals(both[tn.INTERNAL_TRANSFERS])  # selected without raw_traces
    assert tn.INTERNAL_TRANSFERS not in map_all(RangeResponses([block], {}), tuple(traced))
