"""Do the overview report, the API and Dagster agree? `make demo` says "up" only when they do.

Three views of the same ranges must match: the overview report's anomaly count per range (its materialization
metadata, i.e. what the page shows), the API's `/ranges`, and each range's latest anomaly_scores materialization;
and the overview must have been rendered after the last score landed. Pure: `blockanalytix consistency`
(operations/cli.py) reads the Dagster instance and the API into `Views`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Views:
    """Anomalies per range as each side sees them, and when the scores and the overview were last written."""

    expected_ranges: int
    scores: dict[str, int | None] = field(default_factory=dict)  # anomaly_scores metadata "anomalies"
    api: dict[str, int | None] = field(default_factory=dict)  # GET /ranges
    overview: dict[str, int | None] = field(default_factory=dict)  # overview_report metadata
    last_score_at: float | None = None
    overview_at: float | None = None


def problems(v: Views) -> list[str]:
    """What still disagrees (empty: everything agrees), in the order a user would fix it."""
    out = []
    if len(v.scores) < v.expected_ranges:
        out.append(f"scoring: {len(v.scores)}/{v.expected_ranges} ranges scored")
    if v.overview_at is None:
        out.append("overview report: not rendered yet")
    elif v.last_score_at is not None and v.overview_at < v.last_score_at:
        out.append("overview report: rendered before the last score, waiting for the re-render")
    for name, seen in (("API /ranges", v.api), ("overview report", v.overview)):
        differ = sorted(k for k in v.scores.keys() | seen.keys() if seen.get(k) != v.scores.get(k))
        if differ:
            first = differ[0]
            out.append(f"{name}: {len(differ)} ranges differ from Dagster, e.g. {first} "
                       f"{seen.get(first)} vs {v.scores.get(first)}")  # fmt: skip
    return out


def range_count(meta: dict, key: str) -> int | None:
    """A range's anomalies from a scoring materialization: its `by_range` entry (runs over several ranges)."""
    by_range = meta.get("by_range") or {}
    return by_range[key].get("anomalies") if key in by_range else meta.get("anomalies")
