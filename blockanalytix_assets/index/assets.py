"""Index assets: the run trees (lifetime address_profiles, transaction_index) folded forward as ranges land."""

import dagster as dg

from blockanalytix_assets import table_names as tn
from blockanalytix_assets.index.runs import MANIFEST_VERSION, RunTree, TreeSpec
from blockanalytix_assets.index.trees import PROFILE_TREE, TX_INDEX_TREE
from blockanalytix_assets.resources import StorageResource

A = dg.AutomationCondition
# A new manifest version rebuilds every node, so Dagster shows the trees stale (code version) until then.
TREE_VERSION = str(MANIFEST_VERSION)
# Unpartitioned over a partitioned dep: run after any range of the dep lands, one run at a time. Plain eager()
# would wait until every range of the dep exists (AllPartitionMapping); a run folds in every range new since.
INDEX_CONDITION = ((A.newly_missing() | A.any_deps_updated()).since_last_handled() & ~A.in_progress()).with_label(
    "after_any_range_lands"
)


def _update(storage: StorageResource, spec: TreeSpec) -> dg.MaterializeResult:
    stats = RunTree(storage.storage(), spec).update()
    cover = RunTree(storage.storage(), spec).cover()
    meta = {k: dg.MetadataValue.float(float(v)) if isinstance(v, float) else dg.MetadataValue.int(int(v))
            for k, v in stats.items() if isinstance(v, int | float)}  # fmt: skip
    meta["cover_files"] = dg.MetadataValue.int(len(cover))
    meta["path"] = dg.MetadataValue.path(f"{storage.storage().root.rstrip('/')}/{spec.name}")
    return dg.MaterializeResult(metadata=meta)


@dg.asset(
    name=tn.ADDRESS_PROFILES,
    deps=[tn.ADDRESS_ACTIVITY],
    code_version=TREE_VERSION,
    group_name="features",
    kinds={"parquet"},
    automation_condition=INDEX_CONDITION,
    description="Lifetime per-address state over every ingested range: a segment tree of merged, sorted runs of "
    "address_activity (fan-out 8); readers merge the cover (docs/DESIGN.md).",
)
def address_profiles(storage: StorageResource) -> dg.MaterializeResult:
    """Fold new, changed or removed address_activity ranges into the profile tree."""
    return _update(storage, PROFILE_TREE)


@dg.asset(
    name=tn.TRANSACTION_INDEX,
    deps=[tn.CLEANED_TRANSACTIONS],
    code_version=TREE_VERSION,
    group_name="features",
    kinds={"parquet"},
    automation_condition=INDEX_CONDITION,
    description="Transaction hash -> range index (8-byte hash prefix, sorted runs) for the API's hash lookups.",
)
def transaction_index(storage: StorageResource) -> dg.MaterializeResult:
    """Fold new, changed or removed cleaned_transactions ranges into the hash index."""
    return _update(storage, TX_INDEX_TREE)
