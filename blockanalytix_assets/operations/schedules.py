"""Nightly repair backfill and daily retraining schedules."""

import dagster as dg

from blockanalytix_assets.operations.jobs import repair_job

TRAINING_ASSETS = [
    "address_labels",
    "anomaly_classifier",
    "transaction_autoencoder",
    "address_risk_model",
    "activity_forecaster",
]

training_job = dg.define_asset_job(
    "training_job",
    selection=TRAINING_ASSETS,
    tags={"blockanalytix/gpu": "true"},  # the Helm values cap concurrent GPU runs by this tag
    description="Refresh labels and retrain every model on the latest window of ranges; champions move by gate.",
)

nightly_repair_schedule = dg.ScheduleDefinition(
    name="nightly_repair_schedule",
    job=repair_job,
    cron_schedule="0 3 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Nightly: backfill every range that is missing, failed, or failed a check (outage, reorg).",
)

daily_retrain_schedule = dg.ScheduleDefinition(
    name="daily_retrain_schedule",
    job=training_job,
    cron_schedule="0 4 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily: retrain on the newest ranges; new champions make automation re-score every range.",
)
