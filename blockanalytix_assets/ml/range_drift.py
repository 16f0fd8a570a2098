"""One range's drift from the classifier champion's training window: features and scores (no Dagster).

The drift checks (ml/checks.py) decide pass/warn from these figures; the anomaly report shows them, logs them into
the range's scoring run and stores one row per range under `range_drift/` for the overview's drift panel.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyarrow as pa

from blockanalytix_assets import table_names as tn
from blockanalytix_assets.features.transaction import FEATURE_COLUMNS
from blockanalytix_assets.ml import drift_reference as ref
from blockanalytix_assets.ml.drift import DEFAULT_BINS, DEFAULT_THRESHOLD, DriftReport, feature_drift, score_drift
from blockanalytix_assets.storage import Storage

DRIFT_ASSET = "range_drift"  # one row per range, written beside the anomaly report (not a Dagster asset)
DRIFT_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("champion", pa.string()),
        ("threshold", pa.float64()),
        ("feature_max_psi", pa.float64()),
        ("score_psi", pa.float64()),
        ("drifted", pa.list_(pa.string())),
        ("feature_psi", pa.string()),  # JSON {feature: psi} of every feature, monitored or not
        ("notes", pa.list_(pa.string())),
    ]
)

Found = tuple[DriftReport | None, ref.Reference | None, str | None]


def load_champion(tracking_uri: str, model_name: str) -> tuple[ref.Champion | None, str | None]:
    """The classifier champion with its training window, or None and the reason nothing can be compared."""
    from blockanalytix_assets.ingest.redact import redact_url

    where = redact_url(tracking_uri)
    if not ref.tracking_reachable(tracking_uri):
        return None, f"MLflow at {where} is not answering: drift not checked"
    try:
        champ = ref.champion(tracking_uri, model_name)
    except Exception as exc:  # noqa: BLE001 (a monitor: any registry failure only skips the comparison)
        return None, f"MLflow at {where} failed ({type(exc).__name__}): drift not checked"
    if champ is None:
        return None, f"no champion of {model_name} yet: no training window to compare with"
    if not champ.partitions:
        return None, f"champion {champ.label} recorded no training partitions: no reference"
    return champ, None


@dataclass(frozen=True)
class Comparison:
    """Ranges against a champion's training window: where the tables are, the PSI bins and threshold, the sample."""

    store: Storage
    champ: ref.Champion
    threshold: float = DEFAULT_THRESHOLD
    bins: int = DEFAULT_BINS
    rows: int = ref.SAMPLE_ROWS

    def features(self, key: str) -> Found:
        """PSI of every feature of the range against the training window (report, reference, or why there is none)."""
        reference = ref.feature_reference(self.store, self.champ, self.rows)
        if reference is None:
            return None, None, f"none of {self.champ.label}'s training ranges is stored: no reference"
        current = ref.sample(self.store.read(tn.TRANSACTION_FEATURES, key, columns=FEATURE_COLUMNS), self.rows, key)
        return feature_drift(reference.table, current, FEATURE_COLUMNS, self.threshold, self.bins), reference, None

    def scores(self, key: str) -> Found:
        """PSI of the range's anomaly_score (by this champion) against the training window's scores."""
        reference = ref.score_reference(self.store, self.champ, self.rows)
        if reference is None:
            return None, None, f"{self.champ.label}'s training ranges have no anomaly_scores by it yet: no reference"
        scores = self.store.read(tn.ANOMALY_SCORES, key, columns=["anomaly_score", "classifier_version"])
        current = ref.scored_by(scores, self.champ)
        if not current.num_rows:
            return None, reference, f"range not scored by {self.champ.label} yet: compared once re-scored"
        current = ref.sample(current, self.rows, key)
        values = (reference.table.column("anomaly_score").to_numpy(), current.column("anomaly_score").to_numpy())
        return score_drift(*values, self.threshold, self.bins), reference, None


@dataclass(frozen=True)
class RangeDrift:
    """A range's feature and score drift (either may be missing, with a note saying why)."""

    key: str
    champion: str | None
    threshold: float
    features: DriftReport | None = None
    score: DriftReport | None = None
    monitored: tuple[str, ...] = ref.MONITORED_FEATURES
    notes: list[str] = field(default_factory=list)

    @property
    def feature_max_psi(self) -> float:
        return self.features.only(self.monitored).max_psi if self.features else math.nan

    @property
    def score_psi(self) -> float:
        return self.score.max_psi if self.score else math.nan

    @property
    def drifted(self) -> list[str]:
        out = self.features.only(self.monitored).drifted if self.features else []
        return out + (["anomaly_score"] if self.score and not self.score.passed else [])

    def metrics(self) -> dict[str, float]:
        """MLflow metrics of the scoring run: the two maxima, the drifted count and each monitored feature's PSI."""
        out = {"drift_feature_max_psi": self.feature_max_psi, "drift_score_psi": self.score_psi}
        out["drift_drifted_columns"] = float(len(self.drifted))
        if self.features:
            out |= {f"psi_{c}": v for c, v in self.features.only(self.monitored).psi.items()}
        return {k: v for k, v in out.items() if math.isfinite(v)}

    def table(self) -> pa.Table:
        """The range's row of `range_drift`."""
        psi = {c: round(v, 6) for c, v in self.features.psi.items() if math.isfinite(v)} if self.features else {}
        row = {"key": self.key, "champion": self.champion, "threshold": self.threshold,
               "feature_max_psi": _nan_none(self.feature_max_psi), "score_psi": _nan_none(self.score_psi),
               "drifted": self.drifted, "feature_psi": json.dumps(psi, sort_keys=True),
               "notes": self.notes}  # fmt: skip
        return pa.Table.from_pylist([row], schema=DRIFT_SCHEMA)


def _nan_none(v: float) -> float | None:
    return v if math.isfinite(v) else None


def range_drift(
    store: Storage,
    champ: ref.Champion | None,
    key: str,
    why: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    bins: int = DEFAULT_BINS,
    unmonitored: Sequence[str] = ref.UNMONITORED_FEATURES,
) -> RangeDrift:
    """Both drifts of one range (None champion: empty, with `why` as the note)."""
    monitored = tuple(c for c in FEATURE_COLUMNS if c not in set(unmonitored))
    if champ is None:
        return RangeDrift(key, None, threshold, monitored=monitored, notes=[why or "no champion"])
    compare = Comparison(store, champ, threshold, bins)
    features, _, note_f = compare.features(key)
    score, _, note_s = compare.scores(key)
    notes = [n for n in (note_f, note_s) if n]
    return RangeDrift(key, champ.label, threshold, features, score, monitored, notes)


def read_drift(store: Storage) -> pa.Table:
    """Every stored range's drift row, in key order (empty when none)."""
    keys = store.keys(DRIFT_ASSET)
    if not keys:
        return DRIFT_SCHEMA.empty_table()
    return pa.concat_tables([store.read(DRIFT_ASSET, k).cast(DRIFT_SCHEMA) for k in keys])
