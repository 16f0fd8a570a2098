"""Drift checks per range: transaction_features and anomaly_scores against the champion's training window (PSI).

They warn, never fail: drift is a reason to look and to retrain, not to stop the pipeline. Without a champion, a
recorded training window or stored reference rows they pass and say why.
"""

from collections.abc import Callable, Iterator

import dagster as dg
import pyarrow.compute as pc
from pydantic import Field

from blockanalytix_assets.features.transaction import FEATURE_COLUMNS
from blockanalytix_assets.ingest.checks import _metadata, _target
from blockanalytix_assets.ml import drift_reference as ref
from blockanalytix_assets.ml.drift import DEFAULT_BINS, DEFAULT_THRESHOLD, DriftReport, feature_drift, score_drift
from blockanalytix_assets.partitions import block_ranges
from blockanalytix_assets.resources import MlflowResource, StorageResource

Verdict = tuple[bool, str | None, dict]


class DriftCheckConfig(dg.Config):
    """Thresholds of the drift checks."""

    max_psi: float = Field(
        default=DEFAULT_THRESHOLD,
        gt=0,
        description="Warn when a monitored column's population stability index exceeds this (0.1 moderate, "
        "0.25 significant shift).",
    )
    bins: int = Field(default=DEFAULT_BINS, ge=2, description="Quantile bins cut from the reference.")
    sample_rows: int = Field(
        default=ref.SAMPLE_ROWS,
        ge=1000,
        description="At most this many rows of the reference window, and of the checked range, are compared.",
    )
    unmonitored_features: list[str] = Field(
        default=list(ref.UNMONITORED_FEATURES),
        description="Features whose PSI is reported but never warns: calendar, nonce and activity-history "
        "features, non-stationary by construction.",
    )


def _champion(mlflow: MlflowResource) -> tuple[ref.Champion | None, str | None]:
    """The classifier champion with its training window, or None and the reason the check cannot compare."""
    from blockanalytix_assets.ingest.redact import redact_url

    where = redact_url(mlflow.tracking_uri)
    if not ref.tracking_reachable(mlflow.tracking_uri):
        return None, f"MLflow at {where} is not answering: drift not checked"
    try:
        champ = ref.champion(mlflow.tracking_uri, mlflow.classifier_model_name)
    except Exception as exc:  # noqa: BLE001 (a monitor: any registry failure only skips the comparison)
        return None, f"MLflow at {where} failed ({type(exc).__name__}): drift not checked"
    if champ is None:
        return None, f"no champion of {mlflow.classifier_model_name} yet: no training window to compare with"
    if not champ.partitions:
        return None, f"champion {champ.label} recorded no training partitions: no reference"
    return champ, None


def _each_range(
    context: dg.AssetCheckExecutionContext, mlflow: MlflowResource, evaluate: Callable[[ref.Champion, str], Verdict]
) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    """One WARN-severity evaluation per range of the step (see ingest.checks._each_range for why)."""
    (spec,) = context.check_specs
    keys = context.partition_keys if context.has_partition_key_range else [context.partition_key]
    champ, why = _champion(mlflow)
    for key in keys:
        passed, description, details = (True, why, {}) if champ is None else evaluate(champ, key)
        yield dg.AssetCheckEvaluation(
            asset_key=spec.asset_key,
            check_name=spec.name,
            passed=passed,
            metadata=_metadata(details),
            target_materialization_data=_target(context, spec.asset_key, key),
            severity=dg.AssetCheckSeverity.WARN,
            description=description,
            partition=key,
        )
    yield dg.Output(None)


def _verdict(report: DriftReport, reference: ref.Reference, key: str, what: str) -> Verdict:
    """Pass/warn with the figures: PSI (top 10), max, drifted columns, reference window and champion."""
    parts = reference.champion.partitions
    details = {
        "psi_top10": report.top(10),
        "max_psi": round(report.max_psi, 4),
        "threshold": report.threshold,
        "drifted": report.drifted,
        "champion_version": reference.champion.label,
        "reference_partitions": parts if len(parts) <= 20 else f"{parts[0]}..{parts[-1]} ({len(parts)})",
        "reference_partitions_stored": len(reference.found),
        "reference_rows": report.reference_rows,
        "current_rows": report.current_rows,
        "in_reference_window": key in parts,
    }
    if report.passed:
        return True, None, details
    return False, f"{what} drifted from {reference.champion.label}'s training window: {report.drifted}", details


@dg.asset_check(
    asset="transaction_features",
    partitions_def=block_ranges,
    description="PSI of each feature against the classifier champion's training window; warns above max_psi.",
)
def transaction_features_drift(
    context: dg.AssetCheckExecutionContext, config: DriftCheckConfig, storage: StorageResource, mlflow: MlflowResource
):
    def evaluate(champ: ref.Champion, key: str) -> Verdict:
        store = storage.storage()
        reference = ref.feature_reference(store, champ, config.sample_rows)
        if reference is None:
            return True, f"none of {champ.label}'s training ranges is stored: no reference", {}
        current = ref.sample(store.read("transaction_features", key, columns=FEATURE_COLUMNS), config.sample_rows, key)
        report = feature_drift(reference.table, current, FEATURE_COLUMNS, config.max_psi, config.bins)
        monitored = [c for c in FEATURE_COLUMNS if c not in config.unmonitored_features]
        passed, description, details = _verdict(report.only(monitored), reference, key, "features")
        details["unmonitored_max_psi"] = round(report.only(config.unmonitored_features).max_psi, 4)
        return passed, description, details

    yield from _each_range(context, mlflow, evaluate)


@dg.asset_check(
    asset="anomaly_scores",
    partitions_def=block_ranges,
    description="PSI of anomaly_score against the scores of the champion's training window; warns above max_psi.",
)
def anomaly_scores_drift(
    context: dg.AssetCheckExecutionContext, config: DriftCheckConfig, storage: StorageResource, mlflow: MlflowResource
):
    def evaluate(champ: ref.Champion, key: str) -> Verdict:
        store = storage.storage()
        reference = ref.score_reference(store, champ, config.sample_rows)
        if reference is None:
            return True, f"{champ.label}'s training ranges have no anomaly_scores by it yet: no reference", {}
        cols = ["anomaly_score", "classifier_version"]
        current = store.read("anomaly_scores", key, columns=cols, optional=("classifier_version",))
        if "classifier_version" in current.column_names:
            current = current.filter(pc.equal(current.column("classifier_version"), champ.version))
        if not current.num_rows:
            return True, f"range not scored by {champ.label} yet: compared once re-scored", {}
        current = ref.sample(current, config.sample_rows, key)
        report = score_drift(
            reference.table.column("anomaly_score").to_numpy(),
            current.column("anomaly_score").to_numpy(),
            config.max_psi,
            config.bins,
        )
        return _verdict(report, reference, key, "anomaly_score")

    yield from _each_range(context, mlflow, evaluate)
