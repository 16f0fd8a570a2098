"""Index assets: the run trees (lifetime address_profiles, transaction_index) folded forward as ranges land."""

import dagster as dg
from pydantic import Field

from blockanalytix_assets.index.manifest import VERSION as MANIFEST_VERSION
from blockanalytix_assets.index.runs import RunTree
from blockanalytix_assets.index.spec import TreeSpec
from blockanalytix_assets.index.trees import PROFILE_TREE, TX_INDEX_TREE
from blockanalytix_assets.resources import StorageResource

A = dg.AutomationCondition
# A new manifest version is rewritten by the next full update, so Dagster shows the trees stale until then.
TREE_VERSION = str(MANIFEST_VERSION)
# Unpartitioned over a partitioned dep: run after any range of the dep lands, one run at a time. Plain eager()
# would wait until every range of the dep exists (AllPartitionMapping); a run folds in every range new since.
INDEX_CONDITION = ((A.newly_missing() | A.any_deps_updated()).since_last_handled() & ~A.in_progress()).with_label(
    "after_any_range_lands"
)
CURSOR = "leaf_cursor"  # metadata: the last event-log storage id of the leaf asset folded in


class IndexConfig(dg.Config):
    """How an index run finds the ranges to fold in."""

    full_scan: bool = Field(
        default=False,
        description="List every range file and node file and repair whatever differs, instead of folding in only "
        "the ranges Dagster recorded as materialised since the last run. Use after deleting or copying range "
        "files outside Dagster; the first run of a new instance or storage root does this by itself.",
    )


def _changed_since(instance: dg.DagsterInstance, leaf: str, after: int) -> tuple[list[str], int]:
    """Partition keys of the leaf asset materialised after storage id `after`, and the newest storage id."""
    keys: set[str] = set()
    last, cursor = after, None
    while True:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(leaf), after_storage_id=after), 1000, cursor, ascending=True
        )
        keys.update(r.partition_key for r in page.records if r.partition_key)
        last = max([last, *(r.storage_id for r in page.records)])
        if not page.has_more:
            return sorted(keys), last
        cursor = page.cursor


def _cursor(instance: dg.DagsterInstance, name: str) -> int | None:
    """The leaf cursor the last materialisation of this tree recorded, if any."""
    event = instance.get_latest_materialization_event(dg.AssetKey(name))
    value = event.asset_materialization.metadata.get(CURSOR) if event and event.asset_materialization else None
    return int(value.value) if isinstance(value, dg.IntMetadataValue) and value.value is not None else None


def _update(
    context: dg.AssetExecutionContext, config: IndexConfig, storage: StorageResource, spec: TreeSpec
) -> dg.MaterializeResult:
    instance, previous = context.instance, None if config.full_scan else _cursor(context.instance, spec.name)
    changed: list[str] | None = None
    if previous is None:  # the cursor is taken before the listing: a range landing meanwhile is folded in again
        latest = instance.fetch_materializations(dg.AssetKey(spec.leaf_asset), 1).records
        cursor = latest[0].storage_id if latest else 0
    else:
        changed, cursor = _changed_since(instance, spec.leaf_asset, previous)
    tree = RunTree(storage.storage(), spec)
    stats = tree.update(changed)
    manifest = tree.manifest()
    meta: dict[str, dg.MetadataValue] = {
        k: dg.MetadataValue.float(float(v)) if isinstance(v, float) else dg.MetadataValue.int(int(v))
        for k, v in stats.items()
        if isinstance(v, int | float)
    }
    meta["cover_files"] = dg.MetadataValue.int(len(tree.cover(leaves=manifest["leaves"], manifest=manifest)))
    meta["full_scan"] = dg.MetadataValue.bool(previous is None)
    meta[CURSOR] = dg.MetadataValue.int(cursor)
    meta["path"] = dg.MetadataValue.path(f"{storage.storage().root.rstrip('/')}/{spec.name}")
    return dg.MaterializeResult(metadata=meta)


def tree_asset(spec: TreeSpec, description: str) -> dg.AssetsDefinition:
    """The asset that folds new, changed or removed ranges of the spec's leaf asset into its run tree."""

    @dg.asset(
        name=spec.name,
        deps=[spec.leaf_asset],
        code_version=TREE_VERSION,
        group_name="features",
        kinds={"parquet"},
        automation_condition=INDEX_CONDITION,
        description=description,
    )
    def _tree(context: dg.AssetExecutionContext, config: IndexConfig, storage: StorageResource) -> dg.MaterializeResult:
        return _update(context, config, storage, spec)

    return _tree


address_profiles = tree_asset(
    PROFILE_TREE,
    "Lifetime per-address state over every ingested range: a segment tree of merged, sorted runs of "
    "address_activity (fan-out 8); readers merge the cover (docs/DESIGN.md).",
)
transaction_index = tree_asset(
    TX_INDEX_TREE, "Transaction hash -> range index (8-byte hash prefix, sorted runs) for the API's hash lookups."
)
