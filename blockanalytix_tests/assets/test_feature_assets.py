"""transaction_features (with lookback), address_activity, lifetime address_features and address_labels."""

import math
from collections import Counter

import dagster as dg
import pyarrow as pa
import pytest

from blockanalytix_assets.features.address import ADDRESS_FEATURE_COLUMNS
from blockanalytix_assets.features.assets import (
    ADDRESS_LABELS_KEY,
    address_activity_asset,
    address_features_asset,
    address_labels_asset,
    transaction_features_asset,
)
from blockanalytix_assets.features.transaction import FEATURE_SPEC_VERSION, SPEC_METADATA_KEY
from blockanalytix_assets.ingest.schema import BLOCKS, TOKEN_TRANSFERS, TRANSACTIONS
from blockanalytix_assets.resources import PipelineSettings, StorageResource
from blockanalytix_assets.storage import Storage
from blockanalytix_assets.transform.assets import cleaned_transactions

KEYS = ["000000000-000000099", "000000100-000000199"]
A, B, C = ("0x" + f"{i:040x}" for i in (1, 2, 3))
TOKEN = "0x" + "77" * 20


def _tx(n: int, block: int, frm: str, to: str) -> dict:
    return dict(
        hash="0x" + f"{n:064x}", nonce=n, block_number=block, transaction_index=0, from_address=frm,
        to_address=to, value=10**18, gas=50_000, gas_price=10**9, input="0x",
        block_timestamp=1_700_000_000 + 12 * block, transaction_type=2, receipt_gas_used=21_000,
        receipt_status=1, receipt_effective_gas_price=10**9,
    )  # fmt: skip


def _write_raw(root: str) -> None:
    store = Storage(root)
    txs = {KEYS[0]: [_tx(1, 10, A, B), _tx(2, 20, A, C)], KEYS[1]: [_tx(3, 150, A, B), _tx(4, 160, C, B)]}
    for key, rows in txs.items():
        store.write("raw_transactions", key, pa.Table.from_pylist(rows, schema=TRANSACTIONS))
        blocks = [dict(number=r["block_number"], base_fee_per_gas=10**9) for r in rows]
        store.write("raw_blocks", key, pa.Table.from_pylist(blocks, schema=BLOCKS))
    transfer = dict(token_address=TOKEN, from_address=A, to_address=B, value=str(5 * 10**18),
                    transaction_hash="0x" + f"{1:064x}", log_index=0, block_number=10, decimals=18,
                    scaled_value=5.0)  # fmt: skip
    store.write("token_transfers", KEYS[0], pa.Table.from_pylist([transfer], schema=TOKEN_TRANSFERS))
    store.write("token_transfers", KEYS[1], pa.Table.from_pylist([], schema=TOKEN_TRANSFERS))


def _resources(root: str) -> dict:
    return {
        "storage": StorageResource(root=root),
        "settings": PipelineSettings(range_size=100, confirmations=0, home=root),
    }


def _materialize_range(root: str, instance: dg.DagsterInstance, key: str, lookback: int):
    config = {"config": {"lookback_ranges": lookback}}
    return dg.materialize(
        [cleaned_transactions, transaction_features_asset, address_activity_asset, address_features_asset],
        partition_key=key,
        instance=instance,
        resources=_resources(root),
        run_config={"ops": {"transaction_features": config}},
    )


def test_features_use_the_lookback_of_earlier_ranges(tmp_path):
    root = str(tmp_path)
    _write_raw(root)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("block_ranges", KEYS)
    assert _materialize_range(root, instance, KEYS[0], 3).success
    result = _materialize_range(root, instance, KEYS[1], 3)
    assert result.success
    store = Storage(root)

    feats = store.read("transaction_features", KEYS[1])
    assert feats.schema.metadata[SPEC_METADATA_KEY] == FEATURE_SPEC_VERSION.encode()
    first = feats.to_pylist()[0]  # A -> B at block 150; A sent twice in the earlier range
    assert first["hash"] == "0x" + f"{3:064x}"
    assert first["log_sender_txs_lookback"] == pytest.approx(math.log1p(2)) and first["sender_is_new"] == 0.0
    assert first["receiver_is_new"] == 0.0
    meta = result.asset_materializations_for_node("transaction_features")[0].metadata
    assert meta["lookback_partitions"].value == [KEYS[0]] and meta["rows"].value == 2

    addr = {r["address"]: r for r in store.read("address_features", KEYS[1]).to_pylist()}
    assert set(addr) == {A, B, C}
    assert addr[A]["sent_tnx"] == 3 and addr[B]["received_tnx"] == 3  # lifetime: both ranges
    assert addr[B]["erc20_total_ether_received"] == 5.0 and addr[B]["unique_received_from_addresses"] == 2
    assert set(ADDRESS_FEATURE_COLUMNS) <= set(addr[A])
    meta = result.asset_materializations_for_node("address_features")[0].metadata
    assert meta["history_ranges"].value == 2 and meta["dagster/row_count"].value == 3

    # as of range 0: the later range is not in its history, whatever the order they were computed in
    assert _materialize_range(root, instance, KEYS[0], 0).success
    addr0 = {r["address"]: r for r in store.read("address_features", KEYS[0]).to_pylist()}
    assert addr0[A]["sent_tnx"] == 2 and addr0[B]["received_tnx"] == 1
    assert store.read("transaction_features", KEYS[1]).to_pylist()[0]["sender_is_new"] == 0.0


def test_address_labels_from_configured_sources(tmp_path):
    root = str(tmp_path)
    (tmp_path / "devnet").mkdir()
    (tmp_path / "devnet" / "labels.csv").write_text(f"address,typology,first_block\n{A},phishing_drain,3\n0x1,x,1\n")
    sources = [{"location": "{home}/devnet/labels.csv", "format": "devnet_csv", "name": "devnet"}]
    result = dg.materialize(
        [address_labels_asset],
        resources=_resources(root),
        run_config={"ops": {"address_labels": {"config": {"sources": sources}}}},
    )
    assert result.success
    table = Storage(root).read("address_labels", ADDRESS_LABELS_KEY)
    assert table.to_pylist() == [
        dict(address=A, label="phishing_drain", category="devnet_typology", source="devnet", first_seen=3)
    ]
    meta = result.asset_materializations_for_node("address_labels")[0].metadata
    assert meta["malformed_addresses"].value == 1 and meta["malformed_examples"].value == {"devnet": ["0x1"]}


def test_address_labels_defaults_without_devnet(tmp_path):
    result = dg.materialize([address_labels_asset], resources=_resources(str(tmp_path)))
    assert result.success
    meta = result.asset_materializations_for_node("address_labels")[0].metadata
    assert meta["missing_sources"].value == ["devnet"] and meta["rows"].value > 500
    assert set(meta["by_category"].value) <= {"sanctioned", "phishing", "exploit", "scam"}


def test_history_check_warns_after_an_earlier_range_lands_late(tmp_path):
    import pyarrow.parquet as pq

    from blockanalytix_assets.features.checks import address_features_history_complete
    from blockanalytix_assets.features.history import history_of, missing_history

    root = str(tmp_path)
    _write_raw(root)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("block_ranges", KEYS)

    def run(key: str) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            [cleaned_transactions, address_activity_asset, address_features_asset, address_features_history_complete],
            partition_key=key,
            instance=instance,
            resources=_resources(root),
        )

    late = run(KEYS[1])  # the later range first: its history has only itself
    assert late.get_asset_check_evaluations()[0].passed
    assert run(KEYS[0]).success  # the earlier range lands after it: range 1's features are now stale
    store = Storage(root)
    stored = history_of(pq.read_schema(f"{root}/address_features/{KEYS[1]}.parquet").metadata)
    assert stored["ranges"] == 1 and missing_history(stored, store.keys("address_activity"), KEYS[1]) == 1
    again = run(KEYS[1]).get_asset_check_evaluations()  # re-materialised: complete again
    assert again[0].passed and again[0].metadata["history_ranges"].value == 2


def test_features_of_recorded_devnet_ranges(replay_rpc, tmp_path):
    """raw_ingest on the recorded devnet answers, then cleaning and features: real chain data, no node."""
    from blockanalytix_assets.ingest.assets import raw_ingest

    root, keys = str(tmp_path), ["000000000-000000009", "000000010-000000019"]
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("block_ranges", keys)
    resources = {**_resources(root), "rpc": replay_rpc.resource()}
    resources["settings"] = PipelineSettings(range_size=10, confirmations=0, home=root)
    assets = [raw_ingest, cleaned_transactions, transaction_features_asset, address_activity_asset]
    results = [dg.materialize([*assets, address_features_asset], partition_key=k, instance=instance,
                              resources=resources) for k in keys]  # fmt: skip
    assert all(r.success for r in results)
    store = Storage(root)
    raw = store.read("raw_transactions", keys[1])
    feats = store.read("transaction_features", keys[1])
    cleaned = store.read("cleaned_transactions", keys[1])
    assert (
        feats.num_rows == cleaned.num_rows > 0
        and cleaned.num_rows + store.read("quarantined_transactions", keys[1]).num_rows == raw.num_rows
    )
    assert sorted(feats.column("hash").to_pylist()) == sorted(cleaned.column("hash").to_pylist())
    assert feats.schema.metadata[SPEC_METADATA_KEY] == FEATURE_SPEC_VERSION.encode()
    meta = results[1].asset_materializations_for_node("transaction_features")[0].metadata
    assert meta["lookback_partitions"].value == [keys[0]]
    # a sender of range 1 seen in range 0 is not new: the lookback read the earlier range's rows
    earlier = set(store.read("cleaned_transactions", keys[0]).column("from_address").to_pylist())
    seen = [r["sender_is_new"] for r in feats.to_pylist() if r["from_address"] in earlier]
    assert seen and set(seen) == {0.0}
    # lifetime address features: an address sending in both ranges counts its transactions (not creations) of both
    addr = {r["address"]: r for r in store.read("address_features", keys[1]).to_pylist()}
    assert set(cleaned.column("from_address").to_pylist()) <= set(addr)
    rows = [r for k in keys for r in store.read("cleaned_transactions", k).to_pylist()]
    sent = Counter(r["from_address"] for r in rows if not r["is_contract_creation"])
    both = set(cleaned.column("from_address").to_pylist()) & earlier
    assert both and all(addr[a]["sent_tnx"] == sent[a] for a in both)


def test_one_run_over_both_ranges_writes_what_two_runs_write(tmp_path):
    """A catch-up or backfill run (RANGE_BATCHES) computes the ranges in block order, each as its own run would,
    with every check recorded per range and the per-range figures in by_range."""
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    from blockanalytix_assets.features import checks as feature_checks
    from blockanalytix_assets.transform import checks as transform_checks

    checks = dg.load_asset_checks_from_modules([transform_checks, feature_checks])
    assets = [cleaned_transactions, transaction_features_asset, address_activity_asset, address_features_asset]
    roots = {name: str(tmp_path / name) for name in ("batched", "per_range")}
    results = {}
    for name, root in roots.items():
        _write_raw(root)
        instance = dg.DagsterInstance.ephemeral()
        instance.add_dynamic_partitions("block_ranges", KEYS)
        if name == "per_range":
            for key in KEYS:
                assert dg.materialize(
                    [*assets, *checks], partition_key=key, instance=instance, resources=_resources(root)
                ).success
            continue
        tags = {ASSET_PARTITION_RANGE_START_TAG: KEYS[0], ASSET_PARTITION_RANGE_END_TAG: KEYS[1]}
        results[name] = dg.materialize([*assets, *checks], tags=tags, instance=instance, resources=_resources(root))
        assert results[name].success
    for asset in ("cleaned_transactions", "quarantined_transactions", "transaction_features", "address_activity",
                  "address_features"):  # fmt: skip
        for key in KEYS:
            batched = (tmp_path / "batched" / asset / f"{key}.parquet").read_bytes()
            assert batched == (tmp_path / "per_range" / asset / f"{key}.parquet").read_bytes(), (asset, key)
    result = results["batched"]
    evaluations = {(e.check_name, e.partition): e.passed for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == {(c.check_key.name, k) for c in checks for k in KEYS}
    assert evaluations[("address_features_history_complete", KEYS[1])]
    meta = result.asset_materializations_for_node("cleaned_transactions")[0].metadata
    assert meta["ranges_in_run"].value == 2 and meta["rows"].value == 4
    assert meta["by_range"].value == {k: {"rows": 2, "raw_rows": 2} for k in KEYS}
    assert (meta["first_block"].value, meta["last_block"].value) == (0, 199)
    meta = result.asset_materializations_for_node("transaction_features")[0].metadata
    assert meta["by_range"].value == {k: {"rows": 2} for k in KEYS} and meta["lookback_partitions"].value == [KEYS[0]]


def test_delegations_reach_the_features_and_older_cleaned_files_still_aggregate(tmp_path):
    root, store = str(tmp_path), Storage(str(tmp_path))
    _write_raw(root)
    auth = dict(chain_id="0", address=TOKEN, nonce=0, y_parity=0, r="0x" + "1" * 64, s="0x" + "2" * 64, authority=C)
    raw = store.read("raw_transactions", KEYS[0]).to_pylist()
    raw.append(_tx(5, 30, B, C) | dict(transaction_type=4, authorization_list=[auth]))  # B sponsors C's delegation
    store.write("raw_transactions", KEYS[0], pa.Table.from_pylist(raw, schema=TRANSACTIONS))
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("block_ranges", KEYS)
    assert _materialize_range(root, instance, KEYS[0], 0).success
    tx = store.read("transaction_features", KEYS[0]).to_pandas().set_index("hash")
    assert tx.loc["0x" + f"{5:064x}", ["delegation_count", "delegation_sponsored_count"]].tolist() == [1, 1]
    addr = store.read("address_features", KEYS[0]).to_pandas().set_index("address")
    assert addr.loc[C, "delegation_authorizations"] == addr.loc[B, "delegation_sponsored"] == 1
    assert addr.loc[TOKEN, "delegation_authorities"] == 1
    old = store.read("cleaned_transactions", KEYS[0]).drop_columns(["authorization_list"])  # cleaned before 7702
    store.write("cleaned_transactions", KEYS[0], old)
    result = dg.materialize([address_activity_asset], partition_key=KEYS[0], instance=instance,
                            resources=_resources(root))  # fmt: skip
    assert result.success
    assert sum(store.read("address_activity", KEYS[0]).column("delegation_authorizations").to_pylist()) == 0
