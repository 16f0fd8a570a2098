"""raw_traces -> contracts rows, decided as ethereum-etl 2.4.2's extract_contracts (EthContractService) does.

A contract is a successful create trace with an address (status 1); its bytecode is the trace's output. Its
function_sighashes are the PUSH4 operands of the bytecode's first basic block (ethereum_dasm: the instructions
before the first JUMPDEST, a PUSH whose operand runs past the end not counted), sorted and distinct; is_erc20 and
is_erc721 test those sighashes against the ERC-20 / ERC-721 sets, so a token whose dispatcher jumps into a
second block before testing every selector is not classified, exactly as ethereum-etl does not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pyarrow as pa
import pyarrow.compute as pc
from eth_hash.auto import keccak

from blockanalytix_assets.ingest.schema import CONTRACTS

JUMPDEST, PUSH1, PUSH4, PUSH32 = 0x5B, 0x60, 0x63, 0x7F


def sighash(signature: str) -> str:
    """The 4-byte selector of a function signature as 0x-hex."""
    return "0x" + keccak(signature.encode())[:4].hex()


ERC20_FUNCTIONS = tuple(
    sighash(s)
    for s in (
        "totalSupply()",
        "balanceOf(address)",
        "transfer(address,uint256)",
        "transferFrom(address,address,uint256)",
        "approve(address,uint256)",
        "allowance(address,address)",
    )
)
ERC721_FUNCTIONS = tuple(sighash(s) for s in ("balanceOf(address)", "ownerOf(uint256)", "approve(address,uint256)"))
ERC721_TRANSFERS = (sighash("transfer(address,uint256)"), sighash("transferFrom(address,address,uint256)"))


def function_sighashes(bytecode: str | None) -> list[str]:
    """The distinct PUSH4 operands before the first JUMPDEST, sorted (ethereum-etl's get_function_sighashes)."""
    if not bytecode or bytecode == "0x":
        return []
    code = bytes.fromhex(bytecode[2:] if bytecode.startswith("0x") else bytecode)
    found: set[str] = set()
    pc_, n = 0, len(code)
    while pc_ < n:
        op = code[pc_]
        if op == JUMPDEST:
            break
        size = op - PUSH1 + 1 if PUSH1 <= op <= PUSH32 else 0
        if op == PUSH4 and pc_ + 5 <= n:  # a truncated PUSH4 is an invalid instruction in ethereum_dasm
            found.add("0x" + code[pc_ + 1 : pc_ + 5].hex())
        pc_ += 1 + size
    return sorted(found)


def is_erc20(sighashes: Iterable[str]) -> bool:
    """ethereum-etl's is_erc20_contract: all six ERC-20 functions."""
    have = set(sighashes)
    return all(s in have for s in ERC20_FUNCTIONS)


def is_erc721(sighashes: Iterable[str]) -> bool:
    """ethereum-etl's is_erc721_contract: balanceOf, ownerOf, approve and transfer or transferFrom."""
    have = set(sighashes)
    return all(s in have for s in ERC721_FUNCTIONS) and any(s in have for s in ERC721_TRANSFERS)


def contract_row(address: str, bytecode: str | None, block_number: int) -> dict:
    """One contracts row."""
    sighashes = function_sighashes(bytecode)
    return {
        "address": address,
        "bytecode": bytecode,
        "function_sighashes": sighashes,
        "is_erc20": is_erc20(sighashes),
        "is_erc721": is_erc721(sighashes),
        "block_number": block_number,
    }


def created(traces: pa.Table) -> pa.Table:
    """The successful create traces with an address: the contracts created (ethereum-etl's filter)."""
    to = traces.column("to_address")
    keep = pc.and_(
        pc.and_(pc.equal(traces.column("trace_type"), "create"), pc.greater(pc.utf8_length(to), 0)),
        pc.equal(traces.column("status"), 1),
    )
    return traces.filter(pc.fill_null(keep, False))


def map_contracts(traces: pa.Table) -> pa.Table:
    """contracts rows of a raw_traces table, in trace order."""
    t = created(traces)
    cols: Sequence[list] = [t.column(c).to_pylist() for c in ("to_address", "output", "block_number")]
    rows = [contract_row(a, b, n) for a, b, n in zip(*cols, strict=True)]
    return pa.Table.from_pylist(rows, schema=CONTRACTS)


def contracts_complete(traces: pa.Table, contracts: pa.Table, sample: int = 10) -> tuple[bool, dict]:
    """Every contract created in the range (a successful create trace) is in contracts, and no other."""
    made = created(traces).column("to_address").to_pylist()
    have = contracts.column("address").to_pylist()
    missing, extra = sorted(set(made) - set(have)), sorted(set(have) - set(made))
    return not (missing or extra or len(have) != len(made)), {
        "created": len(made),
        "contracts": len(have),
        "missing": len(missing),
        "unexpected": len(extra),
        "sample": (missing + extra)[:sample],
    }
