"""Unit tests of the devnet planner's pure parts: encoding, fees, ledger and block booking."""

import numpy as np
from eth_abi import decode

from blockanalytix_assets.devnet.erc20 import (
    TRANSFER_SELECTOR,
    create_address,
    deploy_data,
    token_artifact,
    transfer_data,
)
from blockanalytix_assets.devnet.plan import ETH, GAS_TRANSFER, BlockBuilder, Ledger, draw_fees

A = "0x" + "aa" * 20
B = "0x" + "bb" * 20
TOKEN = "0x" + "cc" * 20


def test_create_address_matches_known_vectors():
    sender = "0x6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0"
    assert create_address(sender, 0) == "0xcd234a471b72ba2f1ccf0a70fcaba648a5eecd8d"
    assert create_address(sender, 1) == "0x343c43a37d37dff08ae8c4a11544c718abb4fcf8"
    assert create_address(sender, 2) == "0xf778b86fa74e846c4f0a1fbd1335fe81c00a0c91"


def test_transfer_and_deploy_calldata_decode():
    data = transfer_data(B, 12345 * ETH)
    assert data[2:10] == TRANSFER_SELECTOR == "a9059cbb"
    to, value = decode(["address", "uint256"], bytes.fromhex(data[10:]))
    assert (to.lower(), value) == (B, 12345 * ETH)
    code = token_artifact()["bytecode"]
    for args in [("Tok", "TK", 18, 10**24), ("A" * 40, "", 0, 0), ("x" * 32, "y" * 33, 7, 2**256 - 1)]:
        d = deploy_data(*args)
        assert d.startswith(code)
        assert decode(["string", "string", "uint8", "uint256"], bytes.fromhex(d[len(code) :])) == args


def test_fees_cover_every_type_and_stay_positive():
    rng = np.random.default_rng(1)
    fees = [draw_fees(rng) for _ in range(500)]
    assert {f.tx_type for f in fees} == {0, 1, 2}
    assert all(f.cap > 0 for f in fees)
    assert all(f.max_fee > f.tip > 0 for f in fees if f.tx_type == 2)


def _block(balances: dict[str, int], seed: int = 0) -> BlockBuilder:
    ledger = Ledger(eth=dict(balances))
    return BlockBuilder(1, 1_700_000_012, ledger, np.random.default_rng(seed))


def test_booking_assigns_nonces_equal_fees_and_defers_credits():
    b = _block({A: 10 * ETH})
    assert b.transfer(A, B, ETH) and b.transfer(A, B, 2 * ETH)
    t1, t2 = b.txs
    assert (t1.nonce, t2.nonce) == (0, 1)
    assert t1.fees == t2.fees  # one fee choice per sender per block
    assert b.ledger.balance(B) == 0  # credits land at block end
    b.ledger.end_block()
    assert b.ledger.balance(B) == 3 * ETH
    assert b.ledger.balance(A) == 7 * ETH - t1.gas * t1.fees.cap - t2.gas * t2.fees.cap


def test_unaffordable_transfer_is_refused():
    b = _block({A: ETH})
    assert not b.transfer(A, B, ETH)
    assert not b.transfer(B, A, 1)
    assert b.txs == [] and b.ledger.nonces == {}


def test_rpc_object_has_the_type_specific_fields():
    for seed in range(40):
        b = _block({A: 10 * ETH}, seed)
        b.transfer(A, B, 1)
        tx = b.txs[0]
        d = tx.rpc()
        assert d["from"] == A and d["to"] == B and d["nonce"] == "0x0"
        if tx.fees.tx_type == 2:
            assert "maxFeePerGas" in d and "gasPrice" not in d and d["type"] == "0x2"
        else:
            assert "gasPrice" in d and "maxFeePerGas" not in d
        if tx.fees.tx_type == 1:
            assert d["accessList"] == [{"address": B, "storageKeys": []}]
            assert tx.gas > GAS_TRANSFER
        else:
            assert tx.gas == GAS_TRANSFER


def test_token_overdraw_is_booked_as_revert_and_charges_only_fees():
    b = _block({A: 10 * ETH})
    b.ledger.tokens[TOKEN] = {A: 100}
    b.ledger.holders[TOKEN] = [A]
    assert b.token_transfer(A, TOKEN, B, 40)
    assert b.token_transfer(A, TOKEN, B, 100)  # only 60 left: reverts on chain
    ok, bad = b.txs
    assert not ok.reverts and bad.reverts and bad.to == TOKEN and bad.value == 0
    b.ledger.end_block()
    assert b.ledger.tokens[TOKEN] == {A: 60, B: 40}
    assert b.ledger.holders[TOKEN] == [A, B]


def test_deploy_predicts_the_contract_address_and_credits_supply_next_block():
    b = _block({A: 10 * ETH})
    b.transfer(A, B, 1)
    address = b.deploy(A, deploy_data("T", "T", 18, 500), 500)
    assert address == create_address(A, 1)
    assert b.txs[-1].to is None and b.txs[-1].kind == "deploy"
    assert address not in b.ledger.tokens
    b.ledger.end_block()
    assert b.ledger.tokens[address] == {A: 500}
