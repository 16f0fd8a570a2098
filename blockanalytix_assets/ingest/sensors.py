"""The chain-head sensor: registers every final block range and requests its ingest run."""

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from blockanalytix_assets.ingest.jobs import catch_up_job, ingest_job
from blockanalytix_assets.ingest.rpc_errors import ChainIdMismatch, RpcError
from blockanalytix_assets.partitions import BLOCK_RANGES, block_ranges
from blockanalytix_assets.ranges import complete_ranges, consecutive_batches
from blockanalytix_assets.resources import PipelineSettings, RpcResource

MAX_RUNS_PER_TICK = 50  # older gaps are picked up by the nightly repair backfill


def ingest_request(keys: list[str]) -> dg.RunRequest:
    """A single range's ingest_job run (automation computes the rest), or for adjacent ranges a catch_up_job run over
    the partition range that also computes their per-range features."""
    if len(keys) == 1:
        return dg.RunRequest(partition_key=keys[0], run_key=f"ingest-{keys[0]}", job_name=ingest_job.name)
    return dg.RunRequest(
        run_key=f"ingest-{keys[0]}..{keys[-1]}",
        job_name=catch_up_job.name,
        tags={ASSET_PARTITION_RANGE_START_TAG: keys[0], ASSET_PARTITION_RANGE_END_TAG: keys[-1]},
    )


def new_range_keys(head: int, existing: set[str], range_size: int, confirmations: int, start_block: int) -> list[str]:
    """Keys of complete ranges at or below head - confirmations that are not registered yet."""
    return [r.key for r in complete_ranges(head, confirmations, range_size, start_block) if r.key not in existing]


@dg.sensor(
    jobs=[ingest_job, catch_up_job],
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds a block_ranges partition for every complete, confirmed range and requests its ingest.",
)
def chain_head_sensor(
    context: dg.SensorEvaluationContext, rpc: RpcResource, settings: PipelineSettings
) -> dg.SkipReason | dg.SensorResult:
    """Poll the node's head; add new ranges as partitions and request their ingest (ingest_request), in batches of
    settings.ingest_ranges_per_run adjacent ranges."""
    try:
        head = rpc.client().block_number()
    except ChainIdMismatch:
        raise  # the wrong node: fail the tick loudly
    except RpcError as exc:  # a node that is down or still starting: skip the tick, say why
        return dg.SkipReason(f"node not answering: {exc}")
    existing = set(context.instance.get_dynamic_partitions(BLOCK_RANGES))
    new_keys = new_range_keys(head, existing, settings.range_size, settings.confirmations, settings.start_block)
    if not new_keys:
        return dg.SkipReason(f"head {head}: no new complete range (confirmations {settings.confirmations})")
    context.log.info(f"head {head}: adding {len(new_keys)} ranges, {new_keys[0]} .. {new_keys[-1]}")
    batches = consecutive_batches(new_keys, settings.ingest_ranges_per_run)
    return dg.SensorResult(
        run_requests=[ingest_request(b) for b in batches[-MAX_RUNS_PER_TICK:]],
        dynamic_partitions_requests=[block_ranges.build_add_request(new_keys)],
    )
