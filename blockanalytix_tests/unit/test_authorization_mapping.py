"""raw_transactions.authorization_list (EIP-7702) of a hand-made mainnet-shaped type-4 block; eth_account as oracle."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pyarrow as pa
import pytest
from eth_account import Account
from eth_account.typed_transactions.set_code_transaction import Authorization
from eth_utils import to_canonical_address

from blockanalytix_assets.ingest.authorization import authorization_hash, recover_authority
from blockanalytix_assets.ingest.block_mapping import map_transactions
from blockanalytix_assets.ingest.mapping_common import MalformedResponseError
from blockanalytix_assets.ingest.schema import AUTHORIZATION
from blockanalytix_assets.ingest.tables import SCHEMAS
from blockanalytix_assets.storage import Storage
from blockanalytix_tests.faultproxy import recorded

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "eip7702" / "block_type4.json"
KEYS = ("0x" + "46" * 32, "0x" + "47" * 32)  # the keys generate.py signed with


def block() -> dict:
    return json.loads(FIXTURE.read_text())["result"]


def test_type4_transaction_maps_every_authorization_and_its_signer():
    b = block()
    txs = map_transactions([b])
    assert (
        txs.schema.equals(SCHEMAS["raw_transactions"])
        and txs.schema.field("authorization_list").type.value_type == AUTHORIZATION
    )
    plain, type4 = txs.to_pylist()
    assert plain["transaction_type"] == 2 and plain["authorization_list"] is None  # null, not [], for other types
    auths = type4["authorization_list"]
    raw = b["transactions"][1]["authorizationList"]
    assert [a["chain_id"] for a in auths] == ["1", "0", "1", "1"]
    assert [a["nonce"] for a in auths] == [int(r["nonce"], 16) for r in raw]
    assert [a["y_parity"] for a in auths] == [int(r["yParity"], 16) for r in raw]
    assert all(a["address"] == raw[0]["address"] for a in auths)
    # the node drops leading zeros; stored r and s are 32 bytes of hex, equal in value
    assert len(raw[0]["s"]) < 66 and all(len(a["r"]) == len(a["s"]) == 66 for a in auths)
    assert [int(a["s"], 16) for a in auths] == [int(r["s"], 16) for r in raw]
    assert auths[0]["s"] == "0x0" + raw[0]["s"][2:]
    signers = [Account.from_key(k).address.lower() for k in KEYS]
    assert [a["authority"] for a in auths] == [signers[0], signers[1], None, None]  # high s, r = 0: no authority


@pytest.mark.parametrize(("chain_id", "nonce"), [(1, 0), (0, 7), (31337, 2**64 - 2), (2**256 - 1, 128), (1, 55)])
def test_authorization_hash_and_signer_equal_eth_account(chain_id, nonce):
    target = "0x" + "5a" * 20
    assert (
        authorization_hash(chain_id, target, nonce)
        == Authorization(chain_id, to_canonical_address(target), nonce).hash()
    )
    signed = Account.sign_authorization({"chainId": chain_id, "address": target, "nonce": nonce}, KEYS[1])
    got = recover_authority(chain_id, target, nonce, signed.y_parity, signed.r, signed.s)
    assert got == "0x" + signed.authority.hex() == Account.from_key(KEYS[1]).address.lower()


def test_invalid_signatures_give_no_authority_and_never_raise():
    target = "0x" + "5a" * 20
    s = Account.sign_authorization({"chainId": 1, "address": target, "nonce": 0}, KEYS[0])
    assert recover_authority(1, target, 0, 2, s.r, s.s) is None  # y_parity not 0/1
    assert recover_authority(1, target, 0, s.y_parity, 0, s.s) is None
    assert recover_authority(1, target, 0, s.y_parity, s.r, 0) is None
    assert recover_authority(1, target, 0, s.y_parity, 2**256 - 1, s.s) is None
    assert recover_authority(1, target, 0, s.y_parity, 5, 7) is None  # r is not an x on the curve


def test_non_type4_blocks_have_a_null_column_of_the_same_type():
    txs = map_transactions([recorded("erigon/eth_getBlockByNumber_18000000.json.gz")[1]])
    assert txs.schema.equals(SCHEMAS["raw_transactions"])
    assert txs.column("authorization_list").null_count == txs.num_rows == 94


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda a: a[1].pop("r"), "authorization 1 field 'r' is missing"),
        (lambda a: a[0].update(nonce="0x" + "f" * 17), "authorization 0 has a value that is not hex or out of range"),
        (lambda a: a[0].update(chainId="0x1" + "0" * 64), "authorization 0 has a value"),
        (lambda a: a[2].update(address="0x1234"), "authorization 2 has a value"),
        (lambda a: a[3].update(s="0x1" + "0" * 64), "authorization 3 has a value"),
        (lambda a: a.append("0x"), "authorization 4 is str"),
    ],
)
def test_bad_authorizations_name_the_block_and_transaction(mutate, message):
    b = copy.deepcopy(block())
    mutate(b["transactions"][1]["authorizationList"])
    with pytest.raises(MalformedResponseError, match=f"block 22580123 transaction 0x(02){{32}}: {message}"):
        map_transactions([b])


def test_v_instead_of_y_parity_and_rematerialising_gives_identical_bytes(tmp_path):
    b = block()
    for a in b["transactions"][1]["authorizationList"]:
        a["v"] = a.pop("yParity")
    tables = [map_transactions([b]), map_transactions([block()])]
    assert tables[0].equals(tables[1])
    paths = [Storage(str(tmp_path / str(i))).write("raw_transactions", "k", t) for i, t in enumerate(tables)]
    assert Path(paths[0]).read_bytes() == Path(paths[1]).read_bytes()
    assert Storage(str(tmp_path / "0")).read("raw_transactions", "k").column("authorization_list").type == pa.list_(
        AUTHORIZATION
    )
