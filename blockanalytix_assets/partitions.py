"""The `block_ranges` dynamic partitions shared by every per-range asset, and the metadata of runs over several."""

from typing import Any

import dagster as dg
from dagster._core.definitions.partitions.context import PartitionLoadingContext
from dagster._core.errors import DagsterUnknownPartitionError

from blockanalytix_assets.ranges import BlockRange, parse_key


class BlockRangePartitions(dg.DynamicPartitionsDefinition):
    """Dynamic block-range partitions whose unknown-key error says how to register the range."""

    def validate_partition_key(self, partition_key: str, context: PartitionLoadingContext) -> None:
        try:
            super().validate_partition_key(partition_key, context)
        except DagsterUnknownPartitionError:
            parse_key(partition_key)  # a malformed key gets the format explained instead
            raise DagsterUnknownPartitionError(
                f"Block range `{partition_key}` is not a registered block_ranges partition. Register complete "
                f"ranges with `blockanalytix ranges sync` (or let chain_head_sensor add them), then list them "
                f"with `blockanalytix ranges list`."
            ) from None


BLOCK_RANGES = "block_ranges"  # the partitions definition's name in the instance
block_ranges = BlockRangePartitions(name=BLOCK_RANGES)
# Several ranges requested at once (a backfill, a catch-up, automation after a promotion) run 10 to a process start.
RANGE_BATCHES = dg.BackfillPolicy.multi_run(max_partitions_per_run=10)


def partition_range(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext, range_size: int) -> BlockRange:
    """The block range of the partition being computed, validated against the configured range size."""
    return parse_key(context.partition_key, range_size)


def partition_ranges(context: dg.AssetExecutionContext, range_size: int) -> list[BlockRange]:
    """Every block range of a (possibly multi-partition backfill) run, in block order."""
    return sorted(parse_key(k, range_size) for k in context.partition_keys)


def run_figures(by_range: dict[str, dict[str, Any]]) -> dict[str, dg.MetadataValue]:
    """Metadata of a run over several ranges: Dagster copies one materialization to each of them (dagster#18123),
    so the per-range figures go in `by_range` and the scalars (rows, dagster/row_count, anomalies) are totals over
    the run's ranges."""
    out: dict[str, dg.MetadataValue] = {
        "ranges_in_run": dg.MetadataValue.int(len(by_range)),
        "by_range": dg.MetadataValue.json(by_range),
    }
    for name in ("rows", "anomalies"):
        if all(name in f for f in by_range.values()):
            out[name] = dg.MetadataValue.int(sum(f[name] for f in by_range.values()))
    if "rows" in out:
        out["dagster/row_count"] = out["rows"]
    return out
