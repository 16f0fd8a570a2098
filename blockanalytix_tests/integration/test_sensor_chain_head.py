"""chain_head_sensor evaluated against the devnet: new complete ranges become partitions and ingest runs."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from blockanalytix_assets.features import assets as feature_assets
from blockanalytix_assets.ingest import assets as ingest_assets
from blockanalytix_assets.ingest.jobs import catch_up_job, ingest_job
from blockanalytix_assets.ingest.sensors import chain_head_sensor
from blockanalytix_assets.partitions import block_ranges
from blockanalytix_assets.ranges import complete_ranges
from blockanalytix_assets.resources import PipelineSettings, RpcResource, StorageResource
from blockanalytix_assets.transform import assets as transform_assets

pytestmark = pytest.mark.integration

RANGE = 50


def _evaluate(devnet, instance: dg.DagsterInstance, home: Path, confirmations: int, per_run: int = 1):
    """One tick, with the partition requests applied to the instance as the sensor daemon does."""
    settings = PipelineSettings(
        range_size=RANGE, confirmations=confirmations, home=str(home), ingest_ranges_per_run=per_run
    )
    resources = {"rpc": RpcResource(url=devnet.url, chain_id=devnet.chain_id), "settings": settings}
    job_resources = {**resources, "storage": StorageResource(root=str(home))}
    # As in the sensor daemon: definitions to resolve the partitioned run requests against the jobs, and
    # the instance as the store the new dynamic partitions are validated against.
    defs = dg.Definitions(
        assets=dg.load_assets_from_modules([ingest_assets, transform_assets, feature_assets]),
        jobs=[ingest_job, catch_up_job],
        sensors=[chain_head_sensor],
        resources=job_resources,
    )
    with (
        dg.build_sensor_context(
            instance=instance, instance_ref=instance.get_ref(), resources=resources, definitions=defs
        ) as context,
        dg.partition_loading_context(dynamic_partitions_store=instance),
    ):
        data = chain_head_sensor.evaluate_tick(context)
    for request in data.dynamic_partitions_requests or []:
        assert request.partitions_def_name == block_ranges.name
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return data


@pytest.fixture
def instance(tmp_path: Path):
    """A persistent (SQLite) instance: like the daemon's, it has a ref, so new partitions resolve in the tick."""
    (tmp_path / "dagster_home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster_home")) as inst:
        yield inst


def _head(devnet) -> int:
    return int(devnet.call("eth_blockNumber"), 16)


def test_first_tick_adds_complete_ranges_then_skips(devnet, instance, tmp_path: Path) -> None:
    head = _head(devnet)
    expected = [r.key for r in complete_ranges(head, 0, RANGE)]
    assert len(expected) == (head + 1) // RANGE >= 5
    first = _evaluate(devnet, instance, tmp_path, confirmations=0)
    assert first.skip_message is None
    assert instance.get_dynamic_partitions(block_ranges.name) == expected
    assert [r.partition_key for r in first.run_requests] == expected
    assert {r.run_key for r in first.run_requests} == {f"ingest-{k}" for k in expected}
    assert {r.job_name for r in first.run_requests} == {"ingest_job"}
    assert [r.tags["dagster/partition"] for r in first.run_requests] == expected
    # Head unchanged: nothing new to register or run.
    second = _evaluate(devnet, instance, tmp_path, confirmations=0)
    assert not second.run_requests
    assert str(head) in second.skip_message
    assert instance.get_dynamic_partitions(block_ranges.name) == expected


def test_a_catch_up_batches_adjacent_ranges_into_runs_that_compute_their_features(devnet, instance, tmp_path):
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    expected = [r.key for r in complete_ranges(_head(devnet), 0, RANGE)]
    data = _evaluate(devnet, instance, tmp_path, confirmations=0, per_run=4)
    assert instance.get_dynamic_partitions(block_ranges.name) == expected
    batches = [expected[i : i + 4] for i in range(0, len(expected), 4)]
    assert len(data.run_requests) == len(batches) >= 2
    for request, batch in zip(data.run_requests, batches, strict=True):
        if len(batch) == 1:  # a lone range stays an ingest_job run; automation computes its features
            assert (request.job_name, request.partition_key) == ("ingest_job", batch[0])
            continue
        assert request.job_name == "catch_up_job" and request.partition_key is None
        assert request.tags[ASSET_PARTITION_RANGE_START_TAG] == batch[0]
        assert request.tags[ASSET_PARTITION_RANGE_END_TAG] == batch[-1]
        assert request.run_key == f"ingest-{batch[0]}..{batch[-1]}"


def test_confirmations_hold_back_recent_ranges(devnet, instance, tmp_path: Path) -> None:
    head = _head(devnet)
    all_keys = [r.key for r in complete_ranges(head, 0, RANGE)]
    confirmed = [r.key for r in complete_ranges(head, 64, RANGE)]
    assert len(confirmed) < len(all_keys)
    data = _evaluate(devnet, instance, tmp_path, confirmations=64)
    assert [r.partition_key for r in data.run_requests] == confirmed
    assert instance.get_dynamic_partitions(block_ranges.name) == confirmed
    assert all(int(k.split("-")[1]) <= head - 64 for k in confirmed)
    # Once confirmations drop, only the held-back ranges are new.
    later = _evaluate(devnet, instance, tmp_path, confirmations=0)
    assert [r.partition_key for r in later.run_requests] == all_keys[len(confirmed) :]


def test_wrong_chain_id_fails_the_tick(devnet, instance, tmp_path: Path) -> None:
    resources = {
        "rpc": RpcResource(url=devnet.url, chain_id=1),
        "settings": PipelineSettings(range_size=RANGE, confirmations=0, home=str(tmp_path)),
    }
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        with pytest.raises(Exception, match="(?i)chain"):
            chain_head_sensor.evaluate_tick(context)
    assert instance.get_dynamic_partitions(block_ranges.name) == []


def test_a_node_that_is_not_up_yet_skips_the_tick(instance, tmp_path: Path) -> None:
    resources = {
        "rpc": RpcResource(url="http://127.0.0.1:9", chain_id=31337, max_retries=0, timeout_s=2),
        "settings": PipelineSettings(range_size=RANGE, confirmations=0, home=str(tmp_path)),
    }
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        data = chain_head_sensor.evaluate_tick(context)
    assert data.run_requests == [] and "node not answering" in data.skip_message
    assert instance.get_dynamic_partitions(block_ranges.name) == []
