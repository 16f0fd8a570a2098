"""A devnet chain whose transactions make internal calls, creates, selfdestructs and reverted inner calls."""

from __future__ import annotations

from eth_account import Account
from eth_hash.auto import keccak

from blockanalytix_assets.devnet.dapps import authorization
from blockanalytix_assets.devnet.rpc import DevnetRpc

AUTHORITY_KEY = keccak(b"blockanalytix trace_chain EIP-7702 authority")  # an EOA that delegates to the forwarder

REVERTER = "60006000fd"  # REVERT(0, 0)
# CALL(gas, ORIGIN, 0) then REVERT: its successful child gets status 0 from its reverted parent
NESTED = "60006000600060006000325af15060006000fd"
CALL_ARGS = "6000600060006000"  # retSize, retOffset, argsSize, argsOffset = 0


def _call(word: int, value: str = "6000", op: str = "f1") -> str:
    """CALL (or op) to the address in calldata word `word`; value only for CALL."""
    return CALL_ARGS + (value if op == "f1" else "") + f"60{word * 32:02x}35" + "5a" + op + "50"


FORWARDER = (
    _call(0, "34")  # CALL a with the call's value
    + _call(1)  # CALL the reverter
    + _call(2)  # CALL the nested reverter
    + _call(0, op="fa")  # STATICCALL a
    + _call(1, op="f4")  # DELEGATECALL the reverter
    + "6133ff600052"
    + "6002601e6000f050"  # CREATE(init = CALLER SELFDESTRUCT)
    + "6460006000fd600052"
    + "6005601b6000f050"  # CREATE(init = REVERT): a failed create
    + "00"
)


def deploy_code(runtime: str) -> str:
    """Init code that returns runtime."""
    n = len(runtime) // 2
    return f"0x60{n:02x}80600b6000396000f3" + runtime


def build(url: str) -> dict[str, str]:
    """Mine the chain on a --no-mining anvil at url; returns the deployed addresses."""
    rpc = DevnetRpc(url)
    a = rpc.call("eth_accounts")

    def send(sender: str, **tx: object) -> str:
        return rpc.call("eth_sendTransaction", {"from": sender, "gas": hex(2_000_000), **tx})

    def mine() -> list[dict]:
        rpc.call("evm_mine")
        return rpc.call("eth_getBlockByNumber", "latest", False)["transactions"]

    hs = [send(a[i], data=deploy_code(code)) for i, code in enumerate((REVERTER, NESTED, FORWARDER))]
    mine()
    addr = [rpc.call("eth_getTransactionReceipt", h)["contractAddress"] for h in hs]
    rev, nested, fwd = addr

    def words(*xs: str) -> str:
        return "0x" + "".join(x[2:].rjust(64, "0") for x in xs)

    send(a[0], to=fwd, value=hex(10**18), data=words(a[5], rev, nested))
    send(a[1], to=a[6], value=hex(3 * 10**17))
    send(a[2], to=rev, data="0x")
    send(a[3], to=nested, data="0x")
    # type 4, sponsored by a[4]: the authority runs the forwarder's code (its calls and creates) in the same tx;
    # no value, so no internal transfer (test_internal_transfers counts the forwarder's own)
    auth = authorization(0, fwd, 0, AUTHORITY_KEY)
    authority = Account.from_key(AUTHORITY_KEY).address
    send(a[4], to=authority, data=words(a[8], rev, nested), type="0x4", authorizationList=[auth])
    mine()
    send(a[0], to=fwd, value=hex(7), data=words(a[7], rev, nested))
    mine()
    mine()  # an empty block
    rpc.close()
    return {"reverter": rev, "nested": nested, "forwarder": fwd}
