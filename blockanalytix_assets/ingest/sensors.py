"""The chain-head sensor: registers every final block range and requests its ingest run."""

import dagster as dg

from blockanalytix_assets.ingest.jobs import ingest_job
from blockanalytix_assets.ingest.rpc_errors import ChainIdMismatch, RpcError
from blockanalytix_assets.partitions import BLOCK_RANGES, block_ranges
from blockanalytix_assets.ranges import complete_ranges
from blockanalytix_assets.resources import PipelineSettings, RpcResource

MAX_RUNS_PER_TICK = 50  # older gaps are picked up by the nightly repair backfill


def new_range_keys(head: int, existing: set[str], range_size: int, confirmations: int, start_block: int) -> list[str]:
    """Keys of complete ranges at or below head - confirmations that are not registered yet."""
    return [r.key for r in complete_ranges(head, confirmations, range_size, start_block) if r.key not in existing]


@dg.sensor(
    job=ingest_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds a block_ranges partition for every complete, confirmed range and requests its ingest.",
)
def chain_head_sensor(
    context: dg.SensorEvaluationContext, rpc: RpcResource, settings: PipelineSettings
) -> dg.SkipReason | dg.SensorResult:
    """Poll the node's head; add new ranges as partitions and request one ingest run per new range."""
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
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=k, run_key=f"ingest-{k}") for k in new_keys[-MAX_RUNS_PER_TICK:]],
        dynamic_partitions_requests=[block_ranges.build_add_request(new_keys)],
    )
