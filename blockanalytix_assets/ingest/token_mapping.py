"""contracts -> tokens rows, and token_transfers' decimals, from eth_call answers decided as ethereum-etl 2.4.2.

ethereum-etl's EthTokenService calls, one at a time, symbol() then SYMBOL() decoded as string, then both decoded as
bytes32 (tokens like MKR); name() and NAME() likewise; decimals() then DECIMALS() as uint8; totalSupply() as uint256.
The first answer that decodes wins; a revert, an empty answer or one that does not decode gives null. bytes32 values
are UTF-8 decoded (null where they are not UTF-8); every string loses its NUL characters. Here the seven distinct
calls per token are answered up front, batched, at one block of the range (EthCalls: (address, selector) -> the
answer's hex, None for a revert), and the same rule picks from them; decoding uses eth_abi (web3's codec).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from blockanalytix_assets.ingest.contract_mapping import sighash
from blockanalytix_assets.ingest.schema import ERC721, TOKEN_TRANSFERS, TOKENS

EthCalls = Mapping[tuple[str, str], str | None]  # (to, 4-byte selector) -> result hex; None: reverted
SYMBOL, SYMBOL_UPPER, NAME, NAME_UPPER = (sighash(s) for s in ("symbol()", "SYMBOL()", "name()", "NAME()"))
DECIMALS, DECIMALS_UPPER, TOTAL_SUPPLY = (sighash(s) for s in ("decimals()", "DECIMALS()", "totalSupply()"))
# ethereum-etl's fallbacks, in its order: (selector, ABI type)
SYMBOL_RULE = ((SYMBOL, "string"), (SYMBOL_UPPER, "string"), (SYMBOL, "bytes32"), (SYMBOL_UPPER, "bytes32"))
NAME_RULE = ((NAME, "string"), (NAME_UPPER, "string"), (NAME, "bytes32"), (NAME_UPPER, "bytes32"))
DECIMALS_RULE = ((DECIMALS, "uint8"), (DECIMALS_UPPER, "uint8"))
SUPPLY_RULE = ((TOTAL_SUPPLY, "uint256"),)
TOKEN_SELECTORS = (SYMBOL, SYMBOL_UPPER, NAME, NAME_UPPER, DECIMALS, DECIMALS_UPPER, TOTAL_SUPPLY)


def decode(answer: str | None, abi_type: str) -> object:
    """One eth_call answer decoded as abi_type; None for a revert, an empty answer or one that does not decode."""
    if answer is None:
        return None
    from eth_abi import decode as abi_decode  # imported on first use: the definitions do not pay for it
    from eth_abi.exceptions import DecodingError

    try:
        return abi_decode([abi_type], bytes.fromhex(answer[2:] if answer.startswith("0x") else answer))[0]
    except (DecodingError, OverflowError, ValueError):
        return None


def _clean(value: object) -> object:
    """bytes (bytes32) to UTF-8 text or None; NUL characters removed (ethereum-etl's clean_user_provided_content)."""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return value.replace("\x00", "") if isinstance(value, str) else value


def first_result(answers: EthCalls, address: str, rule: Sequence[tuple[str, str]]) -> object:
    """The first call of rule whose answer decodes (ethereum-etl's _get_first_result), cleaned."""
    for selector, abi_type in rule:
        value = decode(answers.get((address, selector)), abi_type)
        if value is not None:
            return _clean(value)
    return None


def token_calls(addresses: Iterable[str]) -> list[tuple[str, str]]:
    """The eth_calls (to, selector) that decide the tokens of addresses."""
    return [(a, s) for a in dict.fromkeys(addresses) for s in TOKEN_SELECTORS]


def token_candidates(contracts: pa.Table) -> pa.Table:
    """The contracts ethereum-etl's extract_tokens looks at: ERC-20 or ERC-721 by their sighashes."""
    return contracts.filter(pc.or_(contracts.column("is_erc20"), contracts.column("is_erc721")))


def map_tokens(contracts: pa.Table, answers: EthCalls) -> pa.Table:
    """tokens rows of the ERC-20 and ERC-721 contracts, in contract order."""
    t = token_candidates(contracts)
    rows = []
    for address, block in zip(t.column("address").to_pylist(), t.column("block_number").to_pylist(), strict=True):
        supply = first_result(answers, address, SUPPLY_RULE)
        rows.append(
            {
                "address": address,
                "symbol": first_result(answers, address, SYMBOL_RULE),
                "name": first_result(answers, address, NAME_RULE),
                "decimals": first_result(answers, address, DECIMALS_RULE),
                "total_supply": None if supply is None else str(supply),
                "block_number": block,
            }
        )
    return pa.Table.from_pylist(rows, schema=TOKENS)


def decimals_calls(token_addresses: Iterable[str]) -> list[tuple[str, str]]:
    """The eth_calls (to, selector) that give the decimals of the distinct token addresses."""
    return [(a, s) for a in dict.fromkeys(token_addresses) for s, _ in DECIMALS_RULE]


def _scaled(value: str | None, decimals: int | None) -> float | None:
    return None if value is None or decimals is None else int(value) / 10**decimals  # exact int, rounded once


def with_decimals(events: pa.Table, answers: EthCalls) -> pa.Table:
    """token_transfers: the Transfer events plus each token's decimals (from answers) and scaled value."""
    tokens = set(events.column("token_address").to_pylist())
    return scaled(events, {a: _int_or_none(first_result(answers, a, DECIMALS_RULE)) for a in tokens})


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) else None


def scaled(events: pa.Table, decimals_of: Mapping[str, int | None]) -> pa.Table:
    """The events plus decimals (by token address) and value / 10**decimals for ERC-20 rows (ERC-721: null)."""
    decimals = [decimals_of.get(a) for a in events.column("token_address").to_pylist()]
    nft = pc.fill_null(pc.equal(events.column("token_standard"), ERC721), False).to_pylist()
    values = events.column("value").to_pylist()
    scaled = [None if f else _scaled(v, d) for v, d, f in zip(values, decimals, nft, strict=True)]
    out = events.append_column(TOKEN_TRANSFERS.field("decimals"), pa.array(decimals, pa.int64()))
    return out.append_column(TOKEN_TRANSFERS.field("scaled_value"), pa.array(scaled, pa.float64()))


def unknown_decimals(transfers: pa.Table) -> int:
    """ERC-20 transfer rows whose token's decimals are unknown (null scaled_value)."""
    erc20 = pc.fill_null(pc.not_equal(transfers.column("token_standard"), ERC721), True)
    return int(pc.sum(pc.and_(erc20, pc.is_null(transfers.column("decimals")))).as_py() or 0)
