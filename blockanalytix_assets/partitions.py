"""The `block_ranges` dynamic partitions shared by every per-range asset."""

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


def partition_range(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext, range_size: int) -> BlockRange:
    """The block range of the partition being computed, validated against the configured range size."""
    return parse_key(context.partition_key, range_size)


def partition_ranges(context: dg.AssetExecutionContext, range_size: int) -> list[BlockRange]:
    """Every block range of a (possibly multi-partition backfill) run, in block order."""
    return sorted(parse_key(k, range_size) for k in context.partition_keys)
