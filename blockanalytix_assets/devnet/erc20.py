"""The devnet's ERC-20 token: committed ABI/bytecode, call encoding and CREATE address derivation."""

from __future__ import annotations

import rlp
from eth_hash.auto import keccak  # light; web3 (~1 s to import) is imported where it is used

from blockanalytix_assets.devnet import dapps
from blockanalytix_assets.devnet.dapps import artifact

TRANSFER_TOPIC = "0x" + keccak(b"Transfer(address,address,uint256)").hex()
TRANSFER_SELECTOR = keccak(b"transfer(address,uint256)")[:4].hex()


def token_artifact() -> dict:
    """Return Token.json: abi, bytecode and the compiler that produced them."""
    return artifact("Token")


def deploy_data(name: str, symbol: str, decimals: int, supply: int) -> str:
    """Return the creation calldata: bytecode + constructor args, encoded by web3 from the committed ABI."""
    return dapps.deploy_data("Token", name, symbol, decimals, supply)


def transfer_data(to: str, value: int) -> str:
    """Return the calldata of transfer(to, value): two static words, formatted (called per planned transfer)."""
    return f"0x{TRANSFER_SELECTOR}{to[2:].lower():0>64}{value:064x}"


def create_address(sender: str, nonce: int) -> str:
    """Return the address a CREATE by sender at nonce deploys to (keccak(rlp([sender, nonce])))."""
    return "0x" + keccak(rlp.encode([bytes.fromhex(sender[2:]), nonce]))[12:].hex()
