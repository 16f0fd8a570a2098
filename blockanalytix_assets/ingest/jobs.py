"""Ingest jobs: fetch ranges (with their per-range features on a catch-up), and re-run the raw checks."""

import dagster as dg

from blockanalytix_assets import table_names as tn
from blockanalytix_assets.ingest.assets import INGEST_GROUP

RAW_TABLES_SELECTION = dg.AssetSelection.groups(INGEST_GROUP)  # every raw table of the registry

ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=RAW_TABLES_SELECTION,
    description="Fetch block ranges from the RPC node into the raw Parquet tables.",
)

# The assets after the raw tables that read only their own and earlier ranges (operations.jobs.per_range_assets
# finds them in the graph; a test keeps this list equal to it).
PER_RANGE_FEATURES = (
    tn.CLEANED_TRANSACTIONS,
    tn.QUARANTINED_TRANSACTIONS,
    tn.TRANSACTION_FEATURES,
    tn.ADDRESS_ACTIVITY,
    tn.ADDRESS_FEATURES,
)

catch_up_job = dg.define_asset_job(
    "catch_up_job",
    selection=RAW_TABLES_SELECTION | dg.AssetSelection.assets(*PER_RANGE_FEATURES),
    description="Fetch several new ranges and compute their per-range features in the same run (chain_head_sensor"
    " with BLOCKANALYTIX_INGEST_RANGES_PER_RUN > 1): no wait for automation and a backfill before the features.",
)

raw_checks_job = dg.define_asset_job(
    "raw_checks_job",
    selection=dg.AssetSelection.all_asset_checks() & RAW_TABLES_SELECTION,
    description="Re-check stored ranges against the node (completeness, continuity, reorgs) without re-fetching.",
)
