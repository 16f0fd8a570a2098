"""Nightly repair backfill schedule."""


import dagster as dg

from blockanalytix_assets.operations.jobs import repair_job

nightly_repair_schedule = dg.ScheduleDefinition(
    name="nightly_repair_schedule",
    job=repair_job,
    cron_schedule="0 3 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Nightly: backfill every range that is missing, failed, or failed a check (outage, reorg).",
)
