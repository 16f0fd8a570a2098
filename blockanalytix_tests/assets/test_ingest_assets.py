"""Raw ingest through Dagster: rows, hashes, checks, bytes on recorded devnet answers; live anvil and reorg repair."""

from collections.abc import Callable

import dagster as dg
import pytest

from blockanalytix_assets.ingest import checks as ingest_checks
from blockanalytix_assets.ingest.assets import raw_ingest
from blockanalytix_assets.ingest.jobs import raw_checks_job
from blockanalytix_assets.ingest.tables import RAW_ASSETS, TRACE_ASSETS
from blockanalytix_assets.ranges import format_key
from blockanalytix_assets.resources import PipelineSettings, RpcResource, StorageResource
from blockanalytix_assets.storage import Storage

RANGE = 100
CHECKS = dg.load_asset_checks_from_modules([ingest_checks])


def resources(rpc: RpcResource, root: str, range_size: int = RANGE) -> dict:
    return {
        "rpc": rpc,
        "storage": StorageResource(root=root),
        "settings": PipelineSettings(range_size=range_size, confirmations=0, home=root),
    }


def materialize(key: str, rpc: RpcResource, root: str, instance: dg.DagsterInstance, range_size: int = RANGE):
    if key not in instance.get_dynamic_partitions("block_ranges"):
        instance.add_dynamic_partitions("block_ranges", [key])
    return dg.materialize(
        [raw_ingest, *CHECKS],
        partition_key=key,
        instance=instance,
        resources=resources(rpc, root, range_size),
        raise_on_error=False,
    )


def _ingest_matches(rpc: RpcResource, call: Callable, first: int, last: int, root) -> None:
    """Ingest first..last (one range) and compare every table with what `call` says the node answers."""
    instance, key, size = dg.DagsterInstance.ephemeral(), format_key(first, last), last - first + 1
    result = materialize(key, rpc, str(root), instance, size)
    assert result.success
    store = Storage(str(root))
    blocks = store.read("raw_blocks", key)
    txs = store.read("raw_transactions", key)
    assert blocks.column("number").to_pylist() == list(range(first, last + 1))
    node_blocks = [call("eth_getBlockByNumber", hex(n), False) for n in range(first, last + 1)]
    assert blocks.column("hash").to_pylist() == [b["hash"] for b in node_blocks]
    node_tx_hashes = [h for b in node_blocks for h in b["transactions"]]
    assert txs.num_rows == len(node_tx_hashes) > 0
    assert sorted(txs.column("hash").to_pylist()) == sorted(node_tx_hashes)
    block = next(b for b in node_blocks if b["transactions"])
    receipt = call("eth_getBlockReceipts", block["number"])[0]
    row = txs.filter(dg_eq(txs, "hash", receipt["transactionHash"])).to_pylist()[0]
    assert row["receipt_gas_used"] == int(receipt["gasUsed"], 16)
    assert row["receipt_status"] == int(receipt["status"], 16)
    assert store.read("token_transfers", key).num_rows > 0
    evaluations = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == {c.name for c in CHECKS for c in c.check_specs}
    assert all(evaluations.values()), evaluations
    mats = {m.asset_key.to_user_string(): m for m in result.get_asset_materialization_events()}
    assert set(mats) == {*RAW_ASSETS, *TRACE_ASSETS}  # anvil (and its recording) serve trace_block
    md = mats["raw_transactions"].materialization.metadata
    assert md["rows"].value == txs.num_rows and md["first_block"].value == first and md["last_block"].value == last
    assert "preview" in md and md["blocks_per_second"].value > 0

    written = (*RAW_ASSETS, *TRACE_ASSETS)
    before = {a: (root / a / f"{key}.parquet").read_bytes() for a in written}
    assert materialize(key, rpc, str(root), instance, size).success
    assert before == {a: (root / a / f"{key}.parquet").read_bytes() for a in written}


def test_ingest_matches_the_recorded_node(replay_rpc, tmp_path):
    _ingest_matches(replay_rpc.resource(), replay_rpc.call, 10, 19, tmp_path)


def test_ingest_matches_the_node(devnet, tmp_path):
    """The same path against a live anvil (integration: the replayed answers stand in for it elsewhere)."""
    _ingest_matches(RpcResource(url=devnet.url, chain_id=devnet.chain_id), devnet.call, 100, 199, tmp_path)


def dg_eq(table, column, value):
    import pyarrow.compute as pc

    return pc.equal(table.column(column), value)


def test_wrong_chain_id_fails_with_a_fix(replay_rpc, tmp_path):
    rpc = replay_rpc.resource(chain_id=1)
    result = materialize(format_key(0, 99), rpc, str(tmp_path), dg.DagsterInstance.ephemeral())
    assert not result.success
    message = str(result.get_step_failure_events()[0].event_specific_data.error)
    assert "31337" in message and "BLOCKANALYTIX_CHAIN_ID" in message
    assert not (tmp_path / "raw_blocks").exists()


def test_misaligned_partition_key_is_refused(replay_rpc, tmp_path):
    result = materialize("000000050-000000149", replay_rpc.resource(), str(tmp_path), dg.DagsterInstance.ephemeral())
    assert not result.success
    assert "BLOCKANALYTIX_RANGE_SIZE=100" in str(result.get_step_failure_events()[0].event_specific_data.error)


def test_unregistered_partition_key_is_refused(replay_rpc, tmp_path):
    from dagster._core.errors import DagsterUnknownPartitionError

    with pytest.raises(DagsterUnknownPartitionError, match="blockanalytix ranges sync"):
        dg.materialize(
            [raw_ingest],
            partition_key="000000000-000000099",
            instance=dg.DagsterInstance.ephemeral(),
            resources=resources(replay_rpc.resource(), str(tmp_path)),
        )
    from blockanalytix_assets.ranges import PartitionKeyError

    with pytest.raises(PartitionKeyError, match="FIRST-LAST"):
        dg.materialize(
            [raw_ingest],
            partition_key="18000000",
            instance=dg.DagsterInstance.ephemeral(),
            resources=resources(replay_rpc.resource(), str(tmp_path)),
        )


def test_reorg_detected_and_repaired(fresh_anvil, tmp_path):
    from blockanalytix_assets.devnet.rpc import DevnetRpc

    anvil = fresh_anvil(load_devnet=True)
    node, live = DevnetRpc(anvil.url), RpcResource(url=anvil.url, chain_id=31337)
    instance = dg.DagsterInstance.ephemeral()
    # A reloaded state keeps only the head's state, so reorg within blocks mined after the load.
    loaded = int(node.call("eth_blockNumber"), 16)
    first = (loaded // RANGE + 1) * RANGE
    node.call("anvil_mine", hex(first + RANGE - loaded), None)
    head = int(node.call("eth_blockNumber"), 16)
    assert head == first + RANGE
    key = format_key(first, first + RANGE - 1)
    assert materialize(key, live, str(tmp_path), instance).success
    stored = Storage(str(tmp_path)).read("raw_blocks", key).column("hash").to_pylist()

    sender = "0x000000000000000000000000000000000000beef"
    node.call("anvil_setBalance", sender, hex(10**20))
    replacement = [
        [{"from": sender, "to": "0x00000000000000000000000000000000000000aa", "value": hex(i + 1)}, i]
        for i in range(10)
    ]
    node.call(
        "anvil_reorg", 11, replacement
    )  # the range's last 10 blocks and the head get new contents  # replace the range's last 10 blocks and beyond
    checks_job = dg.Definitions(
        assets=[raw_ingest],
        asset_checks=CHECKS,
        jobs=[raw_checks_job],
        resources=resources(live, str(tmp_path)),
    ).resolve_job_def("raw_checks_job")
    ev = {
        e.check_name: e
        for e in checks_job.execute_in_process(
            tags={"dagster/partition": key}, instance=instance
        ).get_asset_check_evaluations()
    }
    assert not ev["raw_blocks_canonical"].passed
    assert "re-materialise" in ev["raw_blocks_canonical"].metadata["fix"].value
    assert ev["raw_blocks_complete"].passed

    assert materialize(key, live, str(tmp_path), instance).success
    repaired = Storage(str(tmp_path)).read("raw_blocks", key).column("hash").to_pylist()
    assert repaired[:-10] == stored[:-10] and repaired[-10:] != stored[-10:]
    ev = {
        e.check_name: e
        for e in checks_job.execute_in_process(
            tags={"dagster/partition": key}, instance=instance
        ).get_asset_check_evaluations()
    }
    assert ev["raw_blocks_canonical"].passed
