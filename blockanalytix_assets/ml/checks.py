"""Drift checks per range: transaction_features and anomaly_scores against the champion's training window (PSI).

They warn, never fail: drift is a reason to look and to retrain, not to stop the pipeline. Without a champion, a
recorded training window or stored reference rows they pass and say why.
"""

from collections.abc import Callable

import dagster as dg
from pydantic import Field

from blockanalytix_assets import table_names as tn
from blockanalytix_assets.features.transaction import FEATURE_COLUMNS
from blockanalytix_assets.ingest.checks import CheckEvents, _metadata, _target, range_check
from blockanalytix_assets.ml import drift_reference as ref
from blockanalytix_assets.ml.drift import DEFAULT_BINS, DEFAULT_THRESHOLD, DriftReport
from blockanalytix_assets.ml.range_drift import Comparison, Found, load_champion
from blockanalytix_assets.partitions import block_ranges
from blockanalytix_assets.resources import MlflowResource, StorageResource

Verdict = tuple[bool, str | None, dict[str, object]]  # (passed, description, metadata)


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


Judge = Callable[[DriftReport, ref.Reference, str, DriftCheckConfig], Verdict]  # (report, reference, key, config)


def _each_range(context: dg.AssetCheckExecutionContext, evaluate: Callable[[str], Verdict]) -> CheckEvents:
    """One WARN-severity evaluation per range of the step (see ingest.checks._each_range for why)."""
    (spec,) = context.check_specs
    keys = context.partition_keys if context.has_partition_key_range else [context.partition_key]
    for key in keys:
        passed, description, details = evaluate(key)
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


def _drift_check(
    context: dg.AssetCheckExecutionContext,
    config: DriftCheckConfig,
    storage: StorageResource,
    mlflow: MlflowResource,
    compare: Callable[[Comparison, str], Found],
    judge: Judge,
) -> CheckEvents:
    """Each range of the step compared with the classifier champion's training window (loaded once) and judged."""
    champ, why = load_champion(mlflow.tracking_uri, mlflow.classifier_model_name)

    def evaluate(key: str) -> Verdict:
        if champ is None:
            return True, why, {}
        against = Comparison(storage.storage(), champ, config.max_psi, config.bins, config.sample_rows)
        report, reference, missing = compare(against, key)
        if report is None or reference is None:
            return True, missing, {}
        return judge(report, reference, key, config)

    yield from _each_range(context, evaluate)


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


def _features_verdict(report: DriftReport, reference: ref.Reference, key: str, config: DriftCheckConfig) -> Verdict:
    """The monitored features decide; the unmonitored ones' largest PSI is reported beside."""
    monitored = [c for c in FEATURE_COLUMNS if c not in config.unmonitored_features]
    passed, description, details = _verdict(report.only(monitored), reference, key, "features")
    details["unmonitored_max_psi"] = round(report.only(config.unmonitored_features).max_psi, 4)
    return passed, description, details


def _scores_verdict(report: DriftReport, reference: ref.Reference, key: str, config: DriftCheckConfig) -> Verdict:
    return _verdict(report, reference, key, "anomaly_score")


@range_check(
    asset=tn.TRANSACTION_FEATURES,
    partitions_def=block_ranges,
    description="PSI of each feature against the classifier champion's training window; warns above max_psi.",
)
def transaction_features_drift(
    context: dg.AssetCheckExecutionContext, config: DriftCheckConfig, storage: StorageResource, mlflow: MlflowResource
) -> CheckEvents:
    yield from _drift_check(context, config, storage, mlflow, Comparison.features, _features_verdict)


@range_check(
    asset=tn.ANOMALY_SCORES,
    partitions_def=block_ranges,
    description="PSI of anomaly_score against the scores of the champion's training window; warns above max_psi.",
)
def anomaly_scores_drift(
    context: dg.AssetCheckExecutionContext, config: DriftCheckConfig, storage: StorageResource, mlflow: MlflowResource
) -> CheckEvents:
    yield from _drift_check(context, config, storage, mlflow, Comparison.scores, _scores_verdict)
