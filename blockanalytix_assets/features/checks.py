"""Asset checks of the feature tables: address_features saw every earlier range that is stored now."""

import dagster as dg
import pyarrow.parquet as pq

from blockanalytix_assets import table_names as tn
from blockanalytix_assets.features.history import history_of, missing_history
from blockanalytix_assets.partitions import block_ranges, partition_range
from blockanalytix_assets.resources import PipelineSettings, StorageResource


@dg.asset_check(
    asset=tn.ADDRESS_FEATURES,
    partitions_def=block_ranges,
    description="Every address_activity range up to this one was in the lifetime history when it was computed "
    "(a range backfilled later needs this range re-materialised).",
)
def address_features_history_complete(
    context: dg.AssetCheckExecutionContext, storage: StorageResource, settings: PipelineSettings
) -> dg.AssetCheckResult:
    """Compare the history stored in the file's footer with the address_activity ranges stored now."""
    store, key = storage.storage(), partition_range(context, settings.range_size).key
    fs, path = store._fs_path(tn.ADDRESS_FEATURES, key)
    stored = history_of(pq.read_schema(path, filesystem=fs).metadata)
    missing = missing_history(stored, store.keys(tn.ADDRESS_ACTIVITY), key)
    return dg.AssetCheckResult(
        passed=missing <= 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"history_ranges": (stored or {}).get("ranges", 0), "ranges_missing": missing},
        description=None
        if missing <= 0
        else f"{missing} earlier ranges landed after this range's features were "
        "computed: re-materialise address_features for it",
    )
