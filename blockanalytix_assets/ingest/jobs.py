"""Ingest jobs: fetch ranges, and re-run the raw checks (reorg detection) without fetching."""

import dagster as dg

from blockanalytix_assets.ingest.assets import RAW_ASSETS

ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=list(RAW_ASSETS),
    description="Fetch block ranges from the RPC node into the raw Parquet tables.",
)

raw_checks_job = dg.define_asset_job(
    "raw_checks_job",
    selection=dg.AssetSelection.checks_for_assets(*RAW_ASSETS),
    description="Re-check stored ranges against the node (completeness, continuity, reorgs) without re-fetching.",
)
