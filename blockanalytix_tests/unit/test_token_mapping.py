"""tokens rows and token_transfers' decimals decided as ethereum-etl 2.4.2's EthTokenService decides them."""

from __future__ import annotations

import orjson
import pyarrow as pa
import pytest
from eth_abi import encode

from blockanalytix_assets.ingest.contract_mapping import sighash
from blockanalytix_assets.ingest.replay import REPLAY_URL, replay_session
from blockanalytix_assets.ingest.rpc import RpcClient
from blockanalytix_assets.ingest.rpc_errors import RpcError, StateUnavailable, _classify, is_revert
from blockanalytix_assets.ingest.schema import TOKEN_TRANSFERS, TOKENS, TRANSFER_EVENTS
from blockanalytix_assets.ingest.token_mapping import (
    DECIMALS,
    DECIMALS_UPPER,
    NAME,
    SYMBOL,
    SYMBOL_UPPER,
    TOTAL_SUPPLY,
    map_tokens,
    token_calls,
    unknown_decimals,
    with_decimals,
)

A, B, C = "0x" + "a" * 40, "0x" + "b" * 40, "0x" + "c" * 40


def word(abi_type: str, value: object) -> str:
    return "0x" + encode([abi_type], [value]).hex()


def contracts(*rows: tuple[str, bool, bool]) -> pa.Table:
    cols = ["address", "is_erc20", "is_erc721"]
    return pa.Table.from_pylist([dict(zip(cols, r, strict=True), block_number=3) for r in rows])


def test_symbol_name_decimals_and_supply_follow_ethereum_etls_fallbacks():
    answers = {
        # A: a USDC-like token, NULs in its name are removed
        (A, SYMBOL): word("string", "USDC"), (A, NAME): word("string", "USD\x00 Coin"),
        (A, DECIMALS): word("uint8", 6), (A, TOTAL_SUPPLY): word("uint256", 10**30),
        # B: MKR-like bytes32 symbol; a bytes32 name that is not UTF-8; decimals() too large for uint8, DECIMALS() ok
        (B, SYMBOL): word("bytes32", b"MKR"), (B, NAME): word("bytes32", b"\xff\xfe"),
        (B, DECIMALS): word("uint256", 300), (B, DECIMALS_UPPER): word("uint8", 18),
        # C: symbol() reverts, SYMBOL() answers; empty answers elsewhere
        (C, SYMBOL): None, (C, SYMBOL_UPPER): word("string", ""), (C, NAME): "0x", (C, TOTAL_SUPPLY): "0x",
    }  # fmt: skip
    tokens = map_tokens(contracts((A, True, False), (B, True, False), ("0xdd", False, False), (C, False, True)),
                        answers)  # fmt: skip
    assert tokens.schema.equals(TOKENS)
    assert tokens.to_pylist() == [
        {"address": A, "symbol": "USDC", "name": "USD Coin", "decimals": 6, "total_supply": str(10**30),
         "block_number": 3},
        {"address": B, "symbol": "MKR", "name": None, "decimals": 18, "total_supply": None, "block_number": 3},
        {"address": C, "symbol": "", "name": None, "decimals": None, "total_supply": None, "block_number": 3},
    ]  # fmt: skip
    assert len(token_calls([A, B, A])) == 14  # seven distinct calls per token


def test_transfers_are_scaled_by_their_tokens_decimals_and_unknown_ones_are_counted():
    rows = [(A, "1500000", "erc20"), (B, "7", "erc20"), (B, "8", "erc20"), (C, "99", "erc721")]
    events = pa.Table.from_pylist(
        [dict(token_address=t, value=v, token_standard=s, log_index=i) for i, (t, v, s) in enumerate(rows)],
        schema=TRANSFER_EVENTS,
    )
    answers = {(A, DECIMALS): word("uint8", 6), (B, DECIMALS): None, (B, DECIMALS_UPPER): "0x", (C, DECIMALS): None}
    out = with_decimals(events, answers)
    assert out.schema.equals(TOKEN_TRANSFERS)
    assert out.column("decimals").to_pylist() == [6, None, None, None]
    assert out.column("scaled_value").to_pylist() == [1.5, None, None, None]  # never a silent 18; no ERC-721 ids
    assert unknown_decimals(out) == 2
    big = with_decimals(events.slice(0, 1).set_column(3, "value", pa.array([str(2**256 - 1)])), answers)
    assert big.column("scaled_value").to_pylist() == [(2**256 - 1) / 10**6]


def test_is_revert_tells_failed_calls_from_node_failures():
    assert is_revert({"code": 3, "message": "execution reverted", "data": "0x"})
    assert is_revert({"code": -32000, "message": "execution reverted"})
    assert is_revert({"code": -32015, "message": "VM execution error: invalid opcode"})
    assert not is_revert({"code": -32000, "message": "header not found"})
    assert not is_revert({"code": -32005, "message": "rate limit exceeded"})
    assert not is_revert({"code": -32601, "message": "the method eth_call does not exist"})


@pytest.mark.parametrize(
    "message",
    [
        "missing trie node 1b2c... (path ) state 0xab is not available",  # geth hash scheme, Nethermind
        "historical state 0xabc is not available",  # geth path scheme
        "state at block #1000 is pruned",  # reth
        "BlockOutOfRangeError: block height is 600 but requested was 99",  # anvil after --load-state
    ],
)
def test_a_pruned_nodes_answer_is_state_unavailable_not_a_revert_nor_transient(message):
    err = {"code": -32000, "message": message}
    assert isinstance(_classify(err, "eth_call"), StateUnavailable) and not is_revert(err)
    assert not isinstance(_classify(err, "eth_getBlockByNumber"), StateUnavailable)


def test_eth_calls_are_batched_and_reverts_answer_none(tmp_path):
    calls = [(A, SYMBOL), (A, NAME), (B, SYMBOL)]
    answers = [{"result": word("string", "T")}, {"error": {"code": 3, "message": "execution reverted"}},
               {"error": {"code": -32000, "message": "execution reverted: no"}}]  # fmt: skip
    path = tmp_path / "calls.jsonl"
    lines = [orjson.dumps({"method": "eth_call", "params": [{"to": t, "data": d}, "0x9"], **a})
             for (t, d), a in zip(calls, answers, strict=True)]  # fmt: skip
    bad = {
        "method": "eth_call",
        "params": [{"to": C, "data": SYMBOL}, "0x9"],
        "error": {"code": -32602, "message": "x"},
    }
    path.write_bytes(b"\n".join([*lines, orjson.dumps(bad)]))
    with RpcClient(REPLAY_URL, session=replay_session(str(path)), batch_size=2, max_retries=1) as client:
        got = client.eth_calls([*calls, calls[0]], 9)
        assert got == {calls[0]: word("string", "T"), calls[1]: None, calls[2]: None}
        assert client.stats()["requests"] == 2  # three distinct calls in batches of two
        with pytest.raises(RpcError, match="eth_call failed"):
            client.eth_calls([(C, SYMBOL)], 9)  # a node error is not a revert: it fails, never a silent null
    assert sighash("symbol()") == SYMBOL == "0x95d89b41"
