"""The one Definitions object: assets, checks, jobs, schedules, sensors, resources and executor."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from blockanalytix_assets.features import assets as feature_assets
from blockanalytix_assets.features import checks as feature_checks
from blockanalytix_assets.index import assets as index_assets
from blockanalytix_assets.ingest import assets as ingest_assets
from blockanalytix_assets.ingest import checks as ingest_checks
from blockanalytix_assets.ingest import jobs as ingest_jobs
from blockanalytix_assets.ingest import sensors as ingest_sensors
from blockanalytix_assets.ingest.tables import RAW_TABLES, RawTable
from blockanalytix_assets.ml import assets as ml_assets
from blockanalytix_assets.ml import checks as ml_checks
from blockanalytix_assets.ml import sensors as ml_sensors
from blockanalytix_assets.ml.specs import MODELS, ModelSpec
from blockanalytix_assets.ml.training_assets import training_assets
from blockanalytix_assets.operations import jobs as ops_jobs
from blockanalytix_assets.operations import schedules as ops_schedules
from blockanalytix_assets.operations import sensors as ops_sensors
from blockanalytix_assets.reports import assets as report_assets
from blockanalytix_assets.resources import k8s_resources, local_resources
from blockanalytix_assets.settings import Settings
from blockanalytix_assets.transform import assets as transform_assets
from blockanalytix_assets.transform import checks as transform_checks

ASSET_MODULES = [transform_assets, feature_assets, index_assets, ml_assets, report_assets]  # + raw_ingest, built
CHECK_MODULES = [ingest_checks, transform_checks, feature_checks, ml_checks]


def automation_sensor(interval_s: int = 15) -> dg.AutomationConditionSensorDefinition:
    """Dagster's implicit automation sensor starts STOPPED; ours runs from the start so the graph fills itself.

    interval_s (BLOCKANALYTIX_AUTOMATION_INTERVAL_SECONDS) is the wait between evaluations: each stage of a fill
    waits for one, so the demo shortens it."""
    return dg.AutomationConditionSensorDefinition(
        "blockanalytix_automation_sensor",
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=interval_s,
        # Several partitions of one asset (all ranges after a promotion) become one backfill, cut by BackfillPolicy.
        emit_backfills=True,
        description="Evaluates every asset's automation condition: downstream ranges follow raw ingest.",
    )


def _executor(deployment: str) -> dg.ExecutorDefinition:
    if deployment == "k8s":
        from dagster_k8s import k8s_job_executor

        # Every step its own pod; pod resources come from each asset's dagster-k8s/config tags.
        return k8s_job_executor.configured({"max_concurrent": 50})
    # One machine: steps share the run's process (a run of 1 asset + 6 checks would otherwise start 7 processes).
    return dg.in_process_executor


def build_definitions(
    deployment: str | None = None, raw_tables: Sequence[RawTable] = RAW_TABLES, models: Sequence[ModelSpec] = MODELS
) -> dg.Definitions:
    """Definitions for `local` (one machine) or `k8s` (pods, S3, Postgres), from BLOCKANALYTIX_DEPLOYMENT.

    raw_tables: the raw table registry raw_ingest writes (ingest/tables.py); models: the model registry (ml/specs.py),
    from which each training asset, its place in training_job and in champion_alias_sensor derive. Tests pass
    either with an extra entry.
    """
    settings = Settings.from_env()
    deployment = deployment or settings.deployment
    training_job = ops_schedules.build_training_job(models)
    return dg.Definitions(
        assets=[
            ingest_assets.build_raw_ingest(tuple(raw_tables)),
            *dg.load_assets_from_modules(ASSET_MODULES),
            *training_assets(models),
        ],
        asset_checks=dg.load_asset_checks_from_modules(CHECK_MODULES),
        jobs=[
            ingest_jobs.ingest_job,
            ingest_jobs.catch_up_job,
            ingest_jobs.raw_checks_job,
            ops_jobs.repair_job,
            training_job,
        ],
        schedules=[ops_schedules.nightly_repair_schedule, ops_schedules.build_retrain_schedule(training_job)],
        sensors=[
            ingest_sensors.chain_head_sensor,
            ops_sensors.run_failure_alert_sensor,
            ml_sensors.champion_sensor(models),
            automation_sensor(settings.automation_interval_s),
        ],
        resources=k8s_resources() if deployment == "k8s" else local_resources(),
        executor=_executor(deployment),
    )


defs = build_definitions()
