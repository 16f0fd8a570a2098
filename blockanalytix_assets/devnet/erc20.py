"""The devnet's ERC-20 token: committed ABI/bytecode, call encoding and CREATE address derivation."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import rlp
from eth_hash.auto import keccak  # light; web3 (~1 s to import) is imported where it is used

CONTRACTS = Path(__file__).parent / "contracts"
TRANSFER_TOPIC = "0x" + keccak(b"Transfer(address,address,uint256)").hex()
TRANSFER_SELECTOR = keccak(b"transfer(address,uint256)")[:4].hex()


@cache
def token_artifact() -> dict:
    """Return Token.json: abi, bytecode and the compiler that produced them."""
    return json.loads((CONTRACTS / "Token.json").read_text())


def deploy_data(name: str, symbol: str, decimals: int, supply: int) -> str:
    """Return the creation calldata: bytecode + constructor args, encoded by web3 from the committed ABI."""
    from web3 import Web3  # ~1 s to import: only here, a few deployments per chain

    token = Web3().eth.contract(abi=token_artifact()["abi"], bytecode=token_artifact()["bytecode"])
    return str(token.constructor(name, symbol, decimals, supply).data_in_transaction)


def transfer_data(to: str, value: int) -> str:
    """Return the calldata of transfer(to, value): two static words, formatted (called per planned transfer)."""
    return f"0x{TRANSFER_SELECTOR}{to[2:].lower():0>64}{value:064x}"


def create_address(sender: str, nonce: int) -> str:
    """Return the address a CREATE by sender at nonce deploys to (keccak(rlp([sender, nonce])))."""
    return "0x" + keccak(rlp.encode([bytes.fromhex(sender[2:]), nonce]))[12:].hex()
