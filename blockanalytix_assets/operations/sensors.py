"""Run-failure alerts: each failed run is recorded on the assets it targeted, visible in the UI."""

import dagster as dg


@dg.run_failure_sensor(
    name="run_failure_alert_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records every failed run as an observation on its assets and logs an alert.",
    monitor_all_code_locations=False,
)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext) -> None:
    """Attach the failure (run id, partition, error) to each targeted asset's history."""
    run = context.dagster_run
    error = context.failure_event.message or "run failed"
    partition = run.tags.get("dagster/partition")
    assets = sorted(run.asset_selection or [], key=lambda k: k.to_user_string())
    context.log.error(f"ALERT run {run.run_id} ({run.job_name}, partition {partition}) failed: {error[:500]}")
    for key in assets:
        context.instance.report_runless_asset_event(
            dg.AssetObservation(
                asset_key=key,
                partition=partition,
                metadata={
                    "failed_run_id": dg.MetadataValue.text(run.run_id),
                    "failure": dg.MetadataValue.text(error[:2000]),
                    "job": dg.MetadataValue.text(run.job_name),
                },
            )
        )
