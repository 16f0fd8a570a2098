"""Nightly repair backfill and daily retraining schedules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import dagster as dg

from blockanalytix_assets.ml.specs import LABELS_ASSET, MODELS, ModelSpec, model_assets
from blockanalytix_assets.operations.jobs import repair_job

if TYPE_CHECKING:  # what define_asset_job returns; dagster does not export the type
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition


def build_training_job(models: Sequence[ModelSpec] = MODELS) -> UnresolvedAssetJobDefinition:
    """training_job: the labels and every model of the registry."""
    return dg.define_asset_job(
        "training_job",
        selection=[LABELS_ASSET, *model_assets(models)],
        tags={"blockanalytix/gpu": "true"},  # the Helm values cap concurrent GPU runs by this tag
        description="Refresh labels and retrain every model on the latest window of ranges; champions move by gate.",
    )


def build_retrain_schedule(job: UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    """daily_retrain_schedule over a training job."""
    return dg.ScheduleDefinition(
        name="daily_retrain_schedule",
        job=job,
        cron_schedule="0 4 * * *",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Daily: retrain on the newest ranges; new champions make automation re-score every range.",
    )


training_job = build_training_job()
daily_retrain_schedule = build_retrain_schedule(training_job)

nightly_repair_schedule = dg.ScheduleDefinition(
    name="nightly_repair_schedule",
    job=repair_job,
    cron_schedule="0 3 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Nightly: backfill every range that is missing, failed, or failed a check (outage, reorg).",
)
