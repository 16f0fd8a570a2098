"""A devnet chain with contract-created tokens: a 6-decimals ERC-20, a bytes32-symbol token, a token without
metadata, an ERC-721, a vyper token ethereum-etl does not classify, and a reverted create (contracts/build.py)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from eth_abi import decode, encode

from blockanalytix_assets.devnet.dapps import authorization
from blockanalytix_assets.devnet.erc20 import deploy_data
from blockanalytix_assets.devnet.rpc import DevnetRpc
from blockanalytix_assets.ingest.contract_mapping import sighash

ARTIFACT = Path(__file__).parent / "contracts" / "TestTokens.json"
# anvil's tenth dev account (the "test test ... junk" mnemonic): it signs an EIP-7702 authorization
AUTHORITY_KEY = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6"


@cache
def artifact(name: str) -> dict:
    """abi, bytecode and runtime of one contract of TestTokens.sol."""
    return json.loads(ARTIFACT.read_text())["contracts"][name]


def call_data(signature: str, types: list[str], args: list) -> str:
    """The calldata of one function call."""
    return sighash(signature) + encode(types, args).hex()


def build(url: str) -> dict[str, str]:
    """Mine the chain on a --no-mining anvil at url (one transaction per sender per block); the addresses."""
    rpc = DevnetRpc(url)
    a = rpc.call("eth_accounts")

    def send(sender: str, **tx: object) -> str:
        return rpc.call("eth_sendTransaction", {"from": sender, "gas": hex(5_000_000), **tx})

    def mine(hashes: list[str]) -> list[dict]:
        rpc.call("evm_mine")
        return [rpc.call("eth_getTransactionReceipt", h) for h in hashes]

    supply = 10**6 * 10**18
    deploys = [
        send(a[0], data=artifact("Factory")["bytecode"]),
        send(a[1], data=artifact("Bytes32Token")["bytecode"] + encode(["uint256"], [supply]).hex()),
        send(a[2], data=artifact("NoMetadataToken")["bytecode"] + encode(["uint256"], [supply]).hex()),
        send(a[3], data=deploy_data("Vyper Token", "VYT", 18, supply)),  # ethereum-etl sees no sighashes in it
    ]
    factory, b32, nometa, vyper = (r["contractAddress"] for r in mine(deploys))
    made = mine(
        [
            send(
                a[0],
                to=factory,
                data=call_data(
                    "makeToken6(string,string,uint256)", ["string", "string", "uint256"], ["USD Coin", "USDC", 10**12]
                ),
            ),  # fmt: skip
            send(a[1], to=b32, data=call_data("transfer(address,uint256)", ["address", "uint256"], [a[5], 7 * 10**18])),
            send(a[2], to=nometa, data=call_data("transfer(address,uint256)", ["address", "uint256"], [a[6], 5])),
            send(a[3], to=factory, data=call_data("makeNft()", [], [])),
            send(a[4], to=factory, data=call_data("makeAndRevert()", [], [])),  # its create is undone
        ]
    )
    usdc, nft = ("0x" + r["logs"][-1]["data"][-40:] for r in (made[0], made[3]))
    assert [r["status"] for r in made] == ["0x1"] * 4 + ["0x0"]
    delegation = authorization(31337, nft, 0, AUTHORITY_KEY)  # AUTHORITY_KEY's nonce 0: a[9] delegates to nft
    third = mine(
        [
            send(a[8], to=a[9], data="0x", authorizationList=[delegation]),  # type 4, sponsored by a[8]
            send(a[0], to=usdc, data=call_data("transfer(address,uint256)", ["address", "uint256"], [a[7], 1_500_000])),
            send(
                a[3],
                to=nft,
                data=call_data(
                    "transferFrom(address,address,uint256)", ["address", "address", "uint256"], [a[3], a[8], 1]
                ),
            ),  # fmt: skip
            send(a[1], to=vyper, value=hex(0), data="0x"),  # a failed call (the vyper token has no fallback)
        ]
    )
    assert third[0]["type"] == "0x4" and third[0]["status"] == "0x1"
    symbol = rpc.call("eth_call", {"to": b32, "data": sighash("symbol()")}, "latest")
    assert decode(["bytes32"], bytes.fromhex(symbol[2:]))[0].rstrip(b"\0") == b"MKR"
    rpc.close()
    return {"factory": factory, "usdc": usdc, "mkr": b32, "no_metadata": nometa, "nft": nft, "vyper": vyper}
