"""Log a rendered report to MLflow: into the run that scored the partition when it can be found."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

PARTITION_TAG = "blockanalytix.partition_key"
STAGE_TAG = "blockanalytix.stage"
SCORING_STAGE = "scoring"
REPORT_STAGE = "report"


def find_scoring_run(client: MlflowClient, experiment_id: str, key: str) -> str | None:
    """The newest run of the experiment tagged as the scoring run of this partition, if any."""
    filters = (
        f"tags.`{PARTITION_TAG}` = '{key}' and tags.`{STAGE_TAG}` = '{SCORING_STAGE}'",
        f"tags.model_kind = '{SCORING_STAGE}' and tags.partitions = '{key}'",  # ml.tracking.standard_tags
    )
    for filter_string in filters:
        runs = client.search_runs(
            [experiment_id],
            filter_string=filter_string,
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        if runs:
            return runs[0].info.run_id
    return None


def log_report(
    tracking_uri: str,
    experiment_name: str,
    key: str,
    files: dict[str, bytes],
    run_id: str | None = None,
    metrics: dict[str, float] | None = None,
) -> str:
    """Upload files (name -> bytes) to `reports/` of the scoring run (or a new run), with metrics; returns its id."""
    from mlflow.tracking import MlflowClient

    from blockanalytix_assets.ml.experiments import ensure_experiment

    client = MlflowClient(tracking_uri=tracking_uri)
    experiment_id = ensure_experiment(client, experiment_name)
    target = run_id or find_scoring_run(client, experiment_id, key)
    created = target is None
    if target is None:
        run = client.create_run(
            experiment_id,
            run_name=f"anomaly_report {key}",
            tags={PARTITION_TAG: key, STAGE_TAG: REPORT_STAGE},
        )
        target = run.info.run_id
    status = "FAILED"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for name, data in files.items():
                path = Path(tmp) / name
                path.write_bytes(data)
                client.log_artifact(target, str(path), artifact_path="reports")
        if metrics:
            from mlflow.entities import Metric

            stamp = int(time.time() * 1000)
            client.log_batch(target, metrics=[Metric(k, float(v), stamp, 0) for k, v in sorted(metrics.items())])
        client.set_tag(target, "blockanalytix.report_logged", "true")
        status = "FINISHED"
    finally:
        if created:
            client.set_terminated(target, status=status)
    return target
