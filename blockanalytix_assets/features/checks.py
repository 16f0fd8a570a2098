"""Asset checks of the feature tables: address_features saw every earlier range that is stored now."""

import dagster as dg
import pyarrow.parquet as pq

from blockanalytix_assets import table_names as tn
from blockanalytix_assets.features.history import history_of, missing_history
from blockanalytix_assets.partitions import block_ranges
from blockanalytix_assets.range_checks import CheckEvents, Verdict, each_range, per_range_asset_check
from blockanalytix_assets.resources import StorageResource


@per_range_asset_check(
    asset=tn.ADDRESS_FEATURES,
    partitions_def=block_ranges,
    description="Every address_activity range up to this one was in the lifetime history when it was computed "
    "(a range backfilled later needs this range re-materialised).",
)
def address_features_history_complete(context: dg.AssetCheckExecutionContext, storage: StorageResource) -> CheckEvents:
    """Compare the history stored in each range's file footer with the address_activity ranges stored now."""
    store = storage.storage()

    def verdict(key: str) -> Verdict:
        fs, path = store._fs_path(tn.ADDRESS_FEATURES, key)
        stored = history_of(pq.read_schema(path, filesystem=fs).metadata)
        missing = missing_history(stored, store.keys(tn.ADDRESS_ACTIVITY), key)
        details = {"history_ranges": (stored or {}).get("ranges", 0), "ranges_missing": missing}
        if missing <= 0:
            return True, None, details
        why = f"{missing} earlier ranges landed after this range's features were computed: "
        return False, why + "re-materialise address_features for it", details

    yield from each_range(context, verdict, dg.AssetCheckSeverity.WARN)
