"""The `block_ranges` dynamic partitions shared by every per-range asset."""

import dagster as dg

from blockanalytix_assets.ranges import BlockRange, parse_key

block_ranges = dg.DynamicPartitionsDefinition(name="block_ranges")


def partition_range(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext, range_size: int) -> BlockRange:
    """The block range of the partition being computed, validated against the configured range size."""
    return parse_key(context.partition_key, range_size)


def partition_ranges(context: dg.AssetExecutionContext, range_size: int) -> list[BlockRange]:
    """Every block range of a (possibly multi-partition backfill) run, in block order."""
    return sorted(parse_key(k, range_size) for k in context.partition_keys)
