"""Drift checks per range: transaction_features and anomaly_scores against the champion's training window (PSI).

They warn, never fail: drift is a reason to look and to retrain, not to stop the pipeline. Without a champion, a
recorded training window or stored reference rows they pass and say why.
"""

from collections.abc import Callable

import dagster as dg
from pydantic import Field

from blockanalytix_assets import table_names as tn
from blockanalytix_assets.features.transaction import FEATURE_COLUMNS
from blockanalytix_assets.ml import drift_reference as ref
from blockanalytix_assets.ml.drift import DEFAULT_BINS, DEFAULT_THRESHOLD, DriftReport
from blockanalytix_assets.ml.range_drift import Comparison, Found, load_champion
from blockanalytix_assets.partitions import block_ranges
from blockanalytix_assets.range_checks import CheckEvents, Verdict, each_range, per_range_asset_check
from blockanalytix_assets.resources import MlflowResource, StorageResource


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


def drift_check(
    asset: str, description: str, compare: Callable[[Comparison, str], Found]
) -> Callable[[Judge], dg.AssetChecksDefinition]:
    """A WARN check of `asset` per range, named after the decorated judge, against the classifier champion."""

    def build(judge: Judge) -> dg.AssetChecksDefinition:
        @per_range_asset_check(name=judge.__name__, asset=asset, partitions_def=block_ranges, description=description)
        def check(
            context: dg.AssetCheckExecutionContext,
            config: DriftCheckConfig,
            storage: StorageResource,
            mlflow: MlflowResource,
        ) -> CheckEvents:
            champ, why = load_champion(mlflow.tracking_uri, mlflow.classifier_model_name)  # once per step

            def evaluate(key: str) -> Verdict:
                if champ is None:
                    return True, why, {}
                against = Comparison(storage.storage(), champ, config.max_psi, config.bins, config.sample_rows)
                report, reference, missing = compare(against, key)
                if report is None or reference is None:
                    return True, missing, {}
                return judge(report, reference, key, config)

            yield from each_range(context, evaluate, dg.AssetCheckSeverity.WARN)

        return check

    return build


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


@drift_check(
    tn.TRANSACTION_FEATURES,
    "PSI of each feature against the classifier champion's training window; warns above max_psi.",
    Comparison.features,
)
def transaction_features_drift(
    report: DriftReport, reference: ref.Reference, key: str, config: DriftCheckConfig
) -> Verdict:
    """The monitored features decide; the unmonitored ones' largest PSI is reported beside."""
    monitored = [c for c in FEATURE_COLUMNS if c not in config.unmonitored_features]
    passed, description, details = _verdict(report.only(monitored), reference, key, "features")
    details["unmonitored_max_psi"] = round(report.only(config.unmonitored_features).max_psi, 4)
    return passed, description, details


@drift_check(
    tn.ANOMALY_SCORES,
    "PSI of anomaly_score against the scores of the champion's training window; warns above max_psi.",
    Comparison.scores,
)
def anomaly_scores_drift(report: DriftReport, reference: ref.Reference, key: str, config: DriftCheckConfig) -> Verdict:
    return _verdict(report, reference, key, "anomaly_score")
