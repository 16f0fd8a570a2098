"""Population stability index (PSI) per feature between a reference sample and a current sample (pure)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DEFAULT_BINS = 10
DEFAULT_THRESHOLD = 0.25  # the usual reading: < 0.1 stable, 0.1-0.25 moderate, > 0.25 a significant shift
EPSILON = 1e-4  # floor of a bin's share, so an empty bin costs a bounded amount instead of infinity

Sample: TypeAlias = pa.Table | Mapping[str, np.ndarray | Sequence[float]]


@dataclass(frozen=True)
class DriftReport:
    """PSI per column, the largest, and the columns above the threshold (largest first)."""

    psi: dict[str, float]
    threshold: float
    reference_rows: int
    current_rows: int
    drifted: list[str] = field(default_factory=list)

    @property
    def max_psi(self) -> float:
        """The largest finite PSI (0.0 when there is none)."""
        finite = [v for v in self.psi.values() if math.isfinite(v)]
        return max(finite, default=0.0)

    @property
    def passed(self) -> bool:
        """No column's PSI is above the threshold."""
        return not self.drifted

    def only(self, columns: Sequence[str]) -> DriftReport:
        """The same report restricted to `columns` (e.g. the monitored features)."""
        keep = set(columns)
        psi = {c: v for c, v in self.psi.items() if c in keep}
        drifted = [c for c in self.drifted if c in keep]
        return DriftReport(psi, self.threshold, self.reference_rows, self.current_rows, drifted)

    def top(self, n: int = 10) -> dict[str, float]:
        """The n columns with the largest PSI, rounded to 4 decimals, largest first."""
        ranked = sorted(self.psi.items(), key=lambda kv: -kv[1] if math.isfinite(kv[1]) else math.inf)
        return {k: round(v, 4) for k, v in ranked[:n]}


def bin_edges(reference: np.ndarray, bins: int = DEFAULT_BINS) -> np.ndarray:
    """Bin boundaries: the distinct quantiles of the reference's finite values, min and max included.

    One more edge just above the maximum keeps values above the reference's range apart from its maximum (so a
    constant column that changes value, or a 0/1 flag whose quantiles are all 0, still shows the change)."""
    finite = np.asarray(reference, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if not len(finite):
        return np.zeros(0)
    edges = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, bins + 1)))
    return np.append(edges, np.nextafter(edges[-1], np.inf))


def bin_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of values in each bin: below the first edge, between edges, at or above the last, non-finite."""
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    counts = np.bincount(np.searchsorted(edges, values[finite], side="right"), minlength=len(edges) + 1)
    counts = np.append(counts, np.count_nonzero(~finite)).astype(np.float64)
    return counts / max(len(values), 1)


def psi(reference: np.ndarray, current: np.ndarray, bins: int = DEFAULT_BINS, eps: float = EPSILON) -> float:
    """PSI of current against reference on bins cut at the reference's quantiles; NaN if either is empty."""
    reference, current = np.asarray(reference, dtype=np.float64), np.asarray(current, dtype=np.float64)
    if not len(reference) or not len(current):
        return float("nan")
    edges = bin_edges(reference, bins)
    r = np.maximum(bin_shares(reference, edges), eps)
    c = np.maximum(bin_shares(current, edges), eps)
    return float(np.sum((c - r) * np.log(c / r)))


def _column(sample: Sample, name: str) -> np.ndarray:
    """One column as float64, nulls as NaN."""
    if isinstance(sample, pa.Table):
        col = pc.cast(sample.column(name), pa.float64())
        return pc.fill_null(col, np.nan).to_numpy(zero_copy_only=False) if len(col) else np.zeros(0)
    return np.asarray(sample[name], dtype=np.float64)


def _rows(sample: Sample, columns: Sequence[str]) -> int:
    if isinstance(sample, pa.Table):
        return sample.num_rows
    return len(sample[columns[0]]) if columns else 0


def feature_drift(
    reference: Sample,
    current: Sample,
    columns: Sequence[str],
    threshold: float = DEFAULT_THRESHOLD,
    bins: int = DEFAULT_BINS,
) -> DriftReport:
    """PSI of each column of current against reference; columns above threshold are reported as drifted."""
    values = {c: psi(_column(reference, c), _column(current, c), bins) for c in columns}
    drifted = sorted((c for c, v in values.items() if math.isfinite(v) and v > threshold), key=lambda c: -values[c])
    return DriftReport(values, threshold, _rows(reference, columns), _rows(current, columns), drifted)


def score_drift(
    reference: np.ndarray,
    current: np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
    bins: int = DEFAULT_BINS,
    name: str = "anomaly_score",
) -> DriftReport:
    """PSI of a 1-D score distribution (e.g. anomaly_score) against the reference's."""
    return feature_drift({name: reference}, {name: current}, [name], threshold, bins)
