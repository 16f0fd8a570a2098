"""Partitioned asset checks recorded per block range: the plumbing every check module shares (docs/DESIGN.md)."""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)

from blockanalytix_assets.partitions import block_ranges
from blockanalytix_assets.ranges import BlockRange, parse_key
from blockanalytix_assets.storage import Storage

if TYPE_CHECKING:
    from blockanalytix_assets.ingest.rpc import RpcClient

Result = tuple[bool, dict]  # (passed, metadata) of one range, as the pure checks return it
Verdict = tuple[bool, str | None, dict]  # (passed, description, metadata)
CheckEvents = Iterator[dg.AssetCheckEvaluation | dg.Output]
# dg.asset_check, typed for bodies that yield one AssetCheckEvaluation per range (each_range): Dagster 1.13 types
# the body as returning one AssetCheckResult.
per_range_asset_check = cast(
    Callable[..., Callable[[Callable[..., CheckEvents]], dg.AssetChecksDefinition]], dg.asset_check
)


@dataclass(frozen=True)
class RangeInputs:
    """What a range check reads: the range, the storage, and the RPC client where the check asked for one."""

    range: BlockRange
    store: Storage
    rpc: "RpcClient | None" = None

    def node(self) -> "RpcClient":
        """The RPC client (range_check(..., rpc=True) provides one)."""
        if self.rpc is None:
            raise ValueError("this check was built without rpc=True")
        return self.rpc


def check_metadata(details: dict) -> dict:
    """Lists and dicts as JSON metadata; other values as Dagster normalises them."""
    return {k: dg.MetadataValue.json(x) if isinstance(x, list | dict) else x for k, x in details.items()}


def check_target(
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


def each_range(
    context: dg.AssetCheckExecutionContext,
    evaluate: Callable[[str], Verdict],
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> CheckEvents:
    """One evaluation per range of the step, recorded under that range's partition key.

    An AssetCheckResult has no partition field in Dagster 1.13: it takes the step's single partition key, and
    a multi-range (backfill) step has none, so its result would be stored without a partition. Yielding the
    AssetCheckEvaluation events ourselves (the event an AssetCheckResult becomes) gives each range its own
    record, matched to the per-partition rows the run planned. The check's output is then yielded once."""
    (spec,) = context.check_specs
    keys = context.partition_keys if context.has_partition_key_range else [context.partition_key]
    for key in keys:
        passed, description, details = evaluate(key)
        yield dg.AssetCheckEvaluation(
            asset_key=spec.asset_key,
            check_name=spec.name,
            passed=passed,
            metadata=check_metadata(details),
            target_materialization_data=check_target(context, spec.asset_key, key),
            severity=severity,
            description=description,
            blocking=spec.blocking,
            partition=key,
        )
    yield dg.Output(None)


def range_check(
    asset: str,
    description: str,
    *,
    additional_deps: Sequence[str] = (),
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
    rpc: bool = False,
) -> Callable[[Callable[[RangeInputs], Result]], dg.AssetChecksDefinition]:
    """A per-range check of `asset` named after the decorated function, which maps a range's inputs to a Result."""

    def build(evaluate: Callable[[RangeInputs], Result]) -> dg.AssetChecksDefinition:
        @per_range_asset_check(
            name=evaluate.__name__,
            asset=asset,
            additional_deps=list(additional_deps) or None,
            partitions_def=block_ranges,
            description=description,
            required_resource_keys={"storage", "settings", *(["rpc"] if rpc else [])},
        )
        def _check(context: dg.AssetCheckExecutionContext) -> CheckEvents:
            res = context.resources
            store, client = res.storage.storage(), res.rpc.client() if rpc else None

            def verdict(key: str) -> Verdict:
                passed, details = evaluate(RangeInputs(parse_key(key, res.settings.range_size), store, client))
                return passed, None, details

            yield from each_range(context, verdict, severity)

        return _check

    return build
