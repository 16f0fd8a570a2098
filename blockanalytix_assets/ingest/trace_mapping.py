"""trace_block (parity) and debug_traceBlockByNumber callTracer (geth) JSON -> raw_traces rows, as ethereum-etl.

Parity traces map as ethereum-etl 2.4.2's export_traces does (EthTraceMapper.json_dict_to_trace, then its status and
trace_id calculators). Geth call frames map as its extract_geth_traces does (geth_trace_to_traces, depth first), with
three additions so both node kinds give the same table: transaction_hash from the block, status and trace_id by the
same calculators, and CREATE2 named `create` (parity's name, which export_traces and extract_contracts use).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import pyarrow as pa

from blockanalytix_assets.ingest.mapping_common import ERRORS, MalformedResponseError, to_table
from blockanalytix_assets.ingest.schema import TRACES

PARITY, GETH = "parity", "geth"  # the two trace APIs (BLOCKANALYTIX_TRACES names them)
GETH_CALLS = {"call", "callcode", "delegatecall", "staticcall"}
GETH_TYPES = {"selfdestruct": "suicide", "create2": "create"}
# row positions, in TRACES column order
BLOCK, TX_HASH, TX_INDEX, FROM, TO, VALUE, TYPE, CALL_TYPE, REWARD_TYPE, ADDR, ERROR, STATUS, TRACE_ID = (
    0, 1, 2, 3, 4, 5, 8, 9, 10, 14, 15, 16, 17,
)  # fmt: skip


def _hex(v: str | None) -> int | None:
    return None if v is None else int(v, 16)


def _parity_row(t: dict) -> list:
    action, result, typ = t.get("action") or {}, t.get("result") or {}, t.get("type")
    frm = to = value = inp = out = call_type = reward_type = gas = gas_used = None
    if typ in ("call", "create"):
        frm, value, gas, gas_used = action.get("from"), _hex(action.get("value")), _hex(action.get("gas")), None
        gas_used = _hex(result.get("gasUsed"))
    if typ == "call":
        call_type, to, inp, out = action.get("callType"), action.get("to"), action.get("input"), result.get("output")
    elif typ == "create":
        to, inp, out = result.get("address"), action.get("init"), result.get("code")
    elif typ == "suicide":
        frm, to, value = action.get("address"), action.get("refundAddress"), _hex(action.get("balance"))
    elif typ == "reward":
        to, value, reward_type = action.get("author"), _hex(action.get("value")), action.get("rewardType")
    return [
        t.get("blockNumber"), t.get("transactionHash"), t.get("transactionPosition"), frm, to, value, inp, out,
        typ, call_type, reward_type, gas, gas_used, t.get("subtraces"), t.get("traceAddress", []),
        t.get("error") or None, None, None,
    ]  # fmt: skip


def parity_rows(number: int, traces: Sequence[dict]) -> list[list]:
    """One block's trace_block answer as rows (status and trace_id still unset)."""
    rows = [_parity_row(t) for t in traces]
    if any(r[BLOCK] != number for r in rows):
        raise ValueError(f"a trace of another block in the answer for block {number}")
    return rows


def _geth_row(number: int, tx_hash: str, tx_index: int, f: dict, addr: list[int]) -> list:
    typ = f["type"].lower()
    call_type = typ if typ in GETH_CALLS else None
    typ = "call" if call_type else GETH_TYPES.get(typ, typ)
    return [
        number, tx_hash, tx_index, f.get("from"), f.get("to"), _hex(f.get("value")), f.get("input"), f.get("output"),
        typ, call_type, None, _hex(f.get("gas")), _hex(f.get("gasUsed")), len(f.get("calls") or ()), addr,
        f.get("error") or None, None, None,
    ]  # fmt: skip


def geth_rows(number: int, tx_hashes: Sequence[str], tx_traces: Sequence[dict]) -> list[list]:
    """One block's debug_traceBlockByNumber (callTracer) answer as rows, each call tree depth first."""
    if len(tx_traces) != len(tx_hashes):
        raise ValueError(f"block {number}: {len(tx_traces)} transaction traces for {len(tx_hashes)} transactions")
    rows: list[list] = []
    for i, (tx_hash, entry) in enumerate(zip(tx_hashes, tx_traces, strict=True)):
        if entry.get("txHash", tx_hash) != tx_hash or entry.get("result") is None:
            raise ValueError(f"block {number}: transaction {i} has no trace ({str(entry.get('error'))[:200]})")
        stack: list[tuple[dict, list[int]]] = [(entry["result"], [])]
        while stack:  # explicit stack: call depth reaches 1024, beyond Python's recursion limit
            frame, addr = stack.pop()
            rows.append(_geth_row(number, tx_hash, i, frame, addr))
            calls = frame.get("calls") or ()
            stack.extend((c, [*addr, k]) for k, c in reversed(list(enumerate(calls))))
    return rows


def _statuses(rows: list[list]) -> None:
    """status 0 where a trace or any ancestor in its transaction failed (ethereum-etl's trace_status_calculator)."""
    by_tx: dict[str, dict[tuple[int, ...], list]] = defaultdict(dict)
    for r in rows:
        r[STATUS] = 0 if r[ERROR] else 1
        if r[TX_HASH]:
            by_tx[r[TX_HASH]][tuple(r[ADDR])] = r
    for traces in by_tx.values():
        for addr in sorted(traces, key=len):  # parents before children
            if addr:
                parent = traces.get(addr[:-1])
                if parent is None:
                    raise ValueError(f"trace {list(addr)} of transaction {traces[addr][TX_HASH]} has no parent")
                if parent[STATUS] == 0:
                    traces[addr][STATUS] = 0


def _order(r: list) -> tuple:
    """ethereum-etl's sort key of block-level traces (reward_type, from, to, value), None first as equal."""
    low = [v.lower() if isinstance(v, str) else v for v in (r[FROM], r[TO])]
    return tuple((v is not None, v) for v in (r[REWARD_TYPE], *low, r[VALUE]))


def _trace_ids(rows: list[list]) -> None:
    """ethereum-etl's trace_id_calculator: type_txhash_address, or type_block_index for block-level traces."""
    block_level: dict[tuple[int, str], list[list]] = defaultdict(list)
    for r in rows:
        if r[TX_HASH]:
            r[TRACE_ID] = f"{r[TYPE]}_{r[TX_HASH]}_{'_'.join(map(str, r[ADDR]))}"
        else:
            block_level[(r[BLOCK], r[TYPE])].append(r)
    for (number, typ), traces in block_level.items():
        traces.sort(key=_order)
        for i, r in enumerate(traces):
            r[TRACE_ID] = f"{typ}_{number}_{i}"


def map_traces(api: str, traces: Mapping[int, Sequence[dict]], blocks: Sequence[dict]) -> pa.Table:
    """raw_traces rows of the blocks (in block order) from one trace API's answers, keyed by block number."""
    rows: list[list] = []
    try:
        for b in blocks:
            number = int(b["number"], 16)
            if api == PARITY:
                block_rows = parity_rows(number, traces[number])
            else:
                hashes = [t if isinstance(t, str) else t["hash"] for t in b["transactions"]]
                block_rows = geth_rows(number, hashes, traces[number])
            _statuses(block_rows)
            _trace_ids(block_rows)
            rows += block_rows
    except ERRORS as exc:
        raise MalformedResponseError(f"{api} traces: {type(exc).__name__}: {exc}") from None
    return to_table(TRACES, {f.name: [r[i] for r in rows] for i, f in enumerate(TRACES)})
