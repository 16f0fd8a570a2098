"""Partitioned asset checks on the raw tables: completeness, counts, uniqueness, continuity, reorgs."""

from collections.abc import Callable, Iterator
from typing import cast

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)

from blockanalytix_assets import table_names as tn
from blockanalytix_assets.ingest import validation as v
from blockanalytix_assets.ingest.rpc_errors import BlockNotFoundError
from blockanalytix_assets.partitions import block_ranges
from blockanalytix_assets.ranges import BlockRange, parse_key, previous_key
from blockanalytix_assets.resources import PipelineSettings, RpcResource, StorageResource

CheckEvents = Iterator[dg.AssetCheckEvaluation | dg.Output]
# dg.asset_check, typed for bodies that yield one AssetCheckEvaluation per range (_each_range): Dagster 1.13 types
# the body as returning one AssetCheckResult.
range_check = cast(Callable[..., Callable[[Callable[..., CheckEvents]], dg.AssetChecksDefinition]], dg.asset_check)


def _metadata(details: dict) -> dict:
    return {k: dg.MetadataValue.json(x) if isinstance(x, list | dict) else x for k, x in details.items()}


def _target(
    context: dg.AssetCheckExecutionContext, asset_key: dg.AssetKey, key: str
) -> AssetCheckEvaluationTargetMaterializationData | None:
    """The range's latest materialisation of the checked asset (what the UI links the result to)."""
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[key]), limit=1
    ).records
    if not records:
        return None
    mat = records[0]
    return AssetCheckEvaluationTargetMaterializationData(
        storage_id=mat.storage_id, run_id=mat.run_id, timestamp=mat.timestamp
    )


def _each_range(
    context: dg.AssetCheckExecutionContext, range_size: int, evaluate: Callable[[BlockRange], tuple[bool, dict]]
) -> CheckEvents:
    """One evaluation per range of the step, recorded under that range's partition key.

    An AssetCheckResult has no partition field in Dagster 1.13: it takes the step's single partition key, and
    a multi-range (backfill) step has none, so its result would be stored without a partition. Yielding the
    AssetCheckEvaluation events ourselves (the event an AssetCheckResult becomes) gives each range its own
    record, matched to the per-partition rows the run planned. The check's output is then yielded once."""
    (spec,) = context.check_specs
    keys = context.partition_keys if context.has_partition_key_range else [context.partition_key]
    for key in keys:
        passed, details = evaluate(parse_key(key, range_size))
        yield dg.AssetCheckEvaluation(
            asset_key=spec.asset_key,
            check_name=spec.name,
            passed=passed,
            metadata=_metadata(details),
            target_materialization_data=_target(context, spec.asset_key, key),
            blocking=spec.blocking,
            partition=key,
        )
    yield dg.Output(None)


@range_check(asset=tn.RAW_BLOCKS, partitions_def=block_ranges, description="Every block of the range exactly once.")
def raw_blocks_complete(
    context: dg.AssetCheckExecutionContext, storage: StorageResource, settings: PipelineSettings
) -> CheckEvents:
    def evaluate(r: BlockRange) -> tuple[bool, dict]:
        blocks = storage.storage().read(tn.RAW_BLOCKS, r.key, columns=["number"])
        return v.blocks_complete(blocks, r.first, r.last)

    yield from _each_range(context, settings.range_size, evaluate)


@range_check(
    asset=tn.RAW_BLOCKS,
    partitions_def=block_ranges,
    description="parent_hash links each block to the one before, across the previous range too.",
)
def raw_blocks_parent_hash_continuity(
    context: dg.AssetCheckExecutionContext, storage: StorageResource, settings: PipelineSettings
) -> CheckEvents:
    def evaluate(r: BlockRange) -> tuple[bool, dict]:
        store = storage.storage()
        blocks = store.read(tn.RAW_BLOCKS, r.key, columns=["number", "hash", "parent_hash"])
        prev, previous_hash = previous_key(r.key), None
        if prev and store.exists(tn.RAW_BLOCKS, prev):
            previous = store.read(tn.RAW_BLOCKS, prev, columns=["number", "hash"]).sort_by("number")
            previous_hash = previous.column("hash")[-1].as_py() if previous.num_rows else None
        return v.parent_hash_continuity(blocks, previous_hash)

    yield from _each_range(context, settings.range_size, evaluate)


@range_check(
    asset=tn.RAW_BLOCKS,
    partitions_def=block_ranges,
    description="The stored last block is still the node's canonical block (fails after a reorg).",
)
def raw_blocks_canonical(
    context: dg.AssetCheckExecutionContext,
    storage: StorageResource,
    settings: PipelineSettings,
    rpc: RpcResource,
) -> CheckEvents:
    def evaluate(r: BlockRange) -> tuple[bool, dict]:
        blocks = storage.storage().read(tn.RAW_BLOCKS, r.key, columns=["number", "hash"]).sort_by("number")
        number, stored_hash = blocks.column("number")[-1].as_py(), blocks.column("hash")[-1].as_py()
        try:
            node_hash = rpc.client().get_blocks([number], full=False)[0].get("hash")
        except BlockNotFoundError:
            node_hash = None
        return v.detect_reorg((number, stored_hash), node_hash)

    yield from _each_range(context, settings.range_size, evaluate)


@range_check(
    asset=tn.RAW_TRANSACTIONS,
    partitions_def=block_ranges,
    additional_deps=[tn.RAW_BLOCKS],
    description="Each block's transactionCount equals its transaction rows.",
)
def raw_transactions_count_per_block(
    context: dg.AssetCheckExecutionContext, storage: StorageResource, settings: PipelineSettings
) -> CheckEvents:
    def evaluate(r: BlockRange) -> tuple[bool, dict]:
        store = storage.storage()
        blocks = store.read(tn.RAW_BLOCKS, r.key, columns=["number", "transaction_count"])
        txs = store.read(tn.RAW_TRANSACTIONS, r.key, columns=["block_number"])
        return v.transaction_counts_match(blocks, txs)

    yield from _each_range(context, settings.range_size, evaluate)


@range_check(asset=tn.RAW_TRANSACTIONS, partitions_def=block_ranges, description="Transaction hashes are unique.")
def raw_transactions_unique_hash(
    context: dg.AssetCheckExecutionContext, storage: StorageResource, settings: PipelineSettings
) -> CheckEvents:
    def evaluate(r: BlockRange) -> tuple[bool, dict]:
        return v.transaction_hashes_unique(storage.storage().read(tn.RAW_TRANSACTIONS, r.key, columns=["hash"]))

    yield from _each_range(context, settings.range_size, evaluate)


@range_check(asset=tn.RAW_TRANSACTIONS, partitions_def=block_ranges, description="Every transaction has a receipt.")
def raw_transactions_receipts_present(
    context: dg.AssetCheckExecutionContext, storage: StorageResource, settings: PipelineSettings
) -> CheckEvents:
    def evaluate(r: BlockRange) -> tuple[bool, dict]:
        cols = ["hash", "receipt_gas_used", "receipt_status", "receipt_root"]
        return v.receipts_present(storage.storage().read(tn.RAW_TRANSACTIONS, r.key, columns=cols))

    yield from _each_range(context, settings.range_size, evaluate)
