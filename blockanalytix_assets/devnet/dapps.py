"""The devnet's contracts (Token, Mixer, Drainer, Sweeper, ...): committed ABI/bytecode, calldata, EIP-7702 auth."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from eth_hash.auto import keccak

CONTRACTS = Path(__file__).parent / "contracts"

MAX_UINT256 = 2**256 - 1
MAX_BATCH = 8  # DynArray bound of Mixer.withdraw and Drainer.sweep


def _selector(signature: str) -> str:
    return keccak(signature.encode())[:4].hex()


DEPOSIT_DATA = "0x" + _selector("deposit()")
CLAIM_DATA = "0x" + _selector("claim()")
APPROVE_SELECTOR = _selector("approve(address,uint256)")


@cache
def artifact(name: str) -> dict:
    """Return contracts/<name>.json: abi, bytecode and the compiler that produced them."""
    return json.loads((CONTRACTS / f"{name}.json").read_text())


def _contract(name: str) -> Any:
    from web3 import Web3  # ~1 s to import: only here, a few calls per chain

    return Web3().eth.contract(abi=artifact(name)["abi"], bytecode=artifact(name)["bytecode"])


def _checksummed(arg: Any) -> Any:
    """Addresses (also in lists) as web3 wants them: checksummed."""
    from web3 import Web3

    if isinstance(arg, list):
        return [_checksummed(a) for a in arg]
    if isinstance(arg, str) and len(arg) == 42 and arg.startswith("0x"):
        return Web3.to_checksum_address(arg)
    return arg


def deploy_data(name: str, *args: Any) -> str:
    """Return the creation calldata of contract `name` with its constructor arguments (web3, committed ABI)."""
    return str(_contract(name).constructor(*map(_checksummed, args)).data_in_transaction)


def call_data(name: str, function: str, *args: Any) -> str:
    """Return the calldata of `function(*args)` on contract `name` (web3, committed ABI)."""
    return str(_contract(name).encode_abi(function, args=[_checksummed(a) for a in args]))


def approve_data(spender: str, value: int = MAX_UINT256) -> str:
    """Return the calldata of ERC-20 approve(spender, value)."""
    return f"0x{APPROVE_SELECTOR}{spender[2:].lower():0>64}{value:064x}"


def keyed_account(key: bytes) -> str:
    """Return the lower-case address of a private key (accounts that must sign: EIP-7702 authorities)."""
    from eth_account import Account

    return str(Account.from_key(key).address).lower()


def authorization(chain_id: int, delegate: str, nonce: int, key: bytes | str) -> dict:
    """An EIP-7702 authorization (delegate the key's account to `delegate`), as eth_sendTransaction takes it."""
    from eth_account import Account

    auth = Account.sign_authorization({"chainId": chain_id, "address": delegate, "nonce": nonce}, key)
    return {
        "chainId": hex(chain_id),
        "address": delegate,
        "nonce": hex(nonce),
        "yParity": hex(auth.y_parity),
        "r": hex(auth.r),
        "s": hex(auth.s),
    }
