"""EIP-7702 authorization lists: RPC JSON -> authorization_list rows, with the signer recovered."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat

from eth_hash.auto import keccak

from blockanalytix_assets.ingest.mapping_common import ERRORS, MalformedResponseError

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
MAGIC = b"\x05"  # EIP-7702 SET_CODE_TX_MAGIC, prefixed to the RLP of (chain_id, address, nonce)
KEYS = ("chainId", "address", "nonce", "yParity", "r", "s")


def authorization_hash(chain_id: int, address: str, nonce: int) -> bytes:
    """keccak(0x05 || rlp([chain_id, address, nonce])): the message an authority signs."""
    import rlp  # with eth_keys below: only ranges with type-4 transactions pay the import

    return keccak(MAGIC + rlp.encode([chain_id, bytes.fromhex(address[2:]), nonce]))


def recover_authority(chain_id: int, address: str, nonce: int, y_parity: int, r: int, s: int) -> str | None:
    """The signer of an authorization tuple, or None where EIP-7702 would skip it for its signature."""
    if y_parity > 1 or not 0 < r < SECP256K1_N or not 0 < s <= SECP256K1_N // 2:  # EIP-2 low s, as EIP-7702
        return None
    from eth_keys import KeyAPI  # ~0.3 s to import: only ranges with type-4 transactions pay it
    from eth_keys.exceptions import BadSignature, ValidationError

    try:
        signature = KeyAPI.Signature(vrs=(y_parity, r, s))
        key = signature.recover_public_key_from_msg_hash(authorization_hash(chain_id, address, nonce))
    except (BadSignature, ValidationError, ValueError):
        return None
    return key.to_checksum_address().lower()


def _word(value: str, name: str) -> str:
    """A 256-bit hex quantity as 0x + 64 lower-case hex digits (anvil and others drop leading zeros)."""
    v = int(value, 16)
    if v >= 2**256:
        raise ValueError(f"{name} is wider than 256 bits")
    return f"0x{v:064x}"


def _address(value: str) -> str:
    if len(value) != 42 or not value.startswith(("0x", "0X")):
        raise ValueError(f"address {value[:50]!r} is not 20 bytes of hex")
    int(value, 16)
    return value.lower()


def map_authorization(a: dict) -> dict:
    """One authorization_list element (AUTHORIZATION fields) from its RPC object."""
    chain_id, nonce = int(a["chainId"], 16), int(a["nonce"], 16)
    y_parity = int(a["yParity"] if "yParity" in a else a["v"], 16)
    if chain_id >= 2**256 or nonce >= 2**64 or y_parity >= 2**8:  # the bounds EIP-7702 puts on a valid tx
        raise ValueError("chainId, nonce or yParity out of range")
    address, r, s = _address(a["address"]), _word(a["r"], "r"), _word(a["s"], "s")
    authority = recover_authority(chain_id, address, nonce, y_parity, int(r, 16), int(s, 16))
    return {"chain_id": str(chain_id), "address": address, "nonce": nonce, "y_parity": y_parity,
            "r": r, "s": s, "authority": authority}  # fmt: skip


def _problem(a: object) -> str:
    if not isinstance(a, dict):
        return f"is {type(a).__name__}, not an object"
    missing = [k for k in KEYS if a.get(k) is None and not (k == "yParity" and a.get("v") is not None)]
    return f"field {missing[0]!r} is missing" if missing else "has a value that is not hex or out of range"


def map_authorization_lists(txs: Sequence[dict], block_numbers: Sequence[int]) -> list[list[dict] | None]:
    """authorization_list per transaction: null where the node gives none (every type but 4)."""
    lists = list(map(dict.get, txs, repeat("authorizationList")))
    if lists.count(None) == len(lists):
        return lists
    out: list[list[dict] | None] = []
    for tx, bn, auths in zip(txs, block_numbers, lists, strict=True):
        if auths is None:
            out.append(None)
            continue
        place = f"block {bn} transaction {tx.get('hash')}"
        if not isinstance(auths, list):
            raise MalformedResponseError(f"{place}: authorizationList is {type(auths).__name__}, not a list")
        row = []
        for i, a in enumerate(auths):
            try:
                row.append(map_authorization(a))
            except ERRORS as exc:
                raise MalformedResponseError(f"{place}: authorization {i} {_problem(a)} ({exc})") from None
        out.append(row)
    return out
