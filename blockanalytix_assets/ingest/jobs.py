"""Ingest jobs: fetch ranges, and re-run the raw checks (reorg detection) without fetching."""

import dagster as dg

from blockanalytix_assets.ingest.assets import INGEST_GROUP

RAW_TABLES_SELECTION = dg.AssetSelection.groups(INGEST_GROUP)  # every raw table of the registry

ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=RAW_TABLES_SELECTION,
    description="Fetch block ranges from the RPC node into the raw Parquet tables.",
)

raw_checks_job = dg.define_asset_job(
    "raw_checks_job",
    selection=dg.AssetSelection.all_asset_checks() & RAW_TABLES_SELECTION,
    description="Re-check stored ranges against the node (completeness, continuity, reorgs) without re-fetching.",
)
