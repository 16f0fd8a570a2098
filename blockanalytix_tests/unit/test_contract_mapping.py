"""contracts rows decided as ethereum-etl 2.4.2's extract_contracts decides them."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from blockanalytix_assets.ingest.contract_mapping import (
    contracts_complete,
    function_sighashes,
    is_erc20,
    is_erc721,
    map_contracts,
)
from blockanalytix_assets.ingest.schema import CONTRACTS, TRACES

ARTIFACT = Path(__file__).resolve().parents[1] / "contracts" / "TestTokens.json"
# ethereum-etl 2.4.2's EthContractService().get_function_sighashes of Token6's runtime code
TOKEN6_SIGHASHES = ["0x06fdde03", "0x095ea7b3", "0x18160ddd", "0x23b872dd", "0x313ce567", "0x70a08231",
                    "0x95d89b41", "0xa9059cbb", "0xdd62ed3e"]  # fmt: skip


def runtime(name: str) -> str:
    return json.loads(ARTIFACT.read_text())["contracts"][name]["runtime"]


def test_only_push4_operands_before_the_first_jumpdest_count():
    push32 = "7f" + "63aabbccdd" + "00" * 27  # 0x63 bytes inside a PUSH32 operand are data, not PUSH4s
    code = "0x" + "63ffffffff" + "6311111111" + push32 + "6311111111" + "5b" + "6322222222"
    assert function_sighashes(code) == ["0x11111111", "0xffffffff"]
    assert function_sighashes("5b6311111111") == []  # a JUMPDEST first: the first block is empty
    assert function_sighashes("0x6311111111631234") == ["0x11111111"]  # a truncated PUSH4 is invalid
    assert function_sighashes("0x") == function_sighashes(None) == function_sighashes("") == []


def test_compiled_test_tokens_are_classified_as_ethereum_etl_classifies_them():
    assert function_sighashes(runtime("Token6")) == TOKEN6_SIGHASHES
    kinds = {n: (is_erc20(s), is_erc721(s)) for n in ("Token6", "Bytes32Token", "NoMetadataToken", "Nft", "Factory")
             for s in [function_sighashes(runtime(n))]}  # fmt: skip
    assert kinds == {"Token6": (True, False), "Bytes32Token": (True, False), "NoMetadataToken": (True, False),
                     "Nft": (False, True), "Factory": (False, False)}  # fmt: skip
    assert not is_erc20([s for s in TOKEN6_SIGHASHES if s != "0x095ea7b3"])  # without approve
    assert not is_erc721(TOKEN6_SIGHASHES)  # no ownerOf


def _trace(**kw: object) -> dict:
    base = {"block_number": 5, "trace_type": "create", "status": 1, "trace_address": [], "output": "0x6311111111"}
    return {**base, **kw}


def test_contracts_are_the_successful_creates_with_an_address():
    traces = pa.Table.from_pylist(
        [_trace(to_address="0xaa"), _trace(to_address="0xbb", status=0, error="Reverted"),
         _trace(to_address=None, status=0), _trace(trace_type="call", to_address="0xcc"),
         _trace(to_address="0xdd", output="0x", block_number=6)],
        schema=TRACES,
    )  # fmt: skip
    contracts = map_contracts(traces)
    assert contracts.schema.equals(CONTRACTS)
    assert contracts.to_pylist() == [
        {"address": "0xaa", "bytecode": "0x6311111111", "function_sighashes": ["0x11111111"], "is_erc20": False,
         "is_erc721": False, "block_number": 5},
        {"address": "0xdd", "bytecode": "0x", "function_sighashes": [], "is_erc20": False, "is_erc721": False,
         "block_number": 6},
    ]  # fmt: skip
    assert contracts_complete(traces, contracts) == (
        True, {"created": 2, "contracts": 2, "missing": 0, "unexpected": 0, "sample": []})  # fmt: skip
    passed, details = contracts_complete(traces, contracts.slice(1))
    assert not passed and details["missing"] == 1 and details["sample"] == ["0xaa"]
