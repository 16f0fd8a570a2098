"""Pure pandas summaries behind the reports: thresholds, top anomalies, detection rates, per-range rows."""

from __future__ import annotations

import pandas as pd

from blockanalytix_assets.ranges import parse_key

TOP_FEATURE_COLUMNS = ["top_feature_1", "top_feature_2", "top_feature_3"]
SUMMARY_COLUMNS = [
    "key",
    "first_block",
    "last_block",
    "transactions",
    "value_eth",
    "fee_eth",
    "scored",
    "anomalies",
    "labelled_anomalies",
    "threshold",
    "max_score",
    "classifier_version",
    "autoencoder_version",
]


def partition_threshold(scores: pd.DataFrame) -> float | None:
    """The score threshold a partition was scored with (the `threshold` column), None when unknown."""
    if scores.empty or "threshold" not in scores.columns:
        return None
    values = scores["threshold"].dropna()
    return float(values.iloc[0]) if len(values) else None


def above_threshold(scores: pd.DataFrame, threshold: float | None = None) -> pd.Series:
    """Which rows score at or above the threshold (the partition's own when none is given)."""
    thr = partition_threshold(scores) if threshold is None else threshold
    if thr is None:
        return pd.Series(False, index=scores.index)
    return scores["anomaly_score"] >= thr


def reasons(row: pd.Series | dict) -> str:
    """The top features that drove a score, joined for display."""
    names = [row.get(c) for c in TOP_FEATURE_COLUMNS]
    return ", ".join(str(n) for n in names if n is not None and not pd.isna(n) and str(n))


def top_anomalies(scores: pd.DataFrame, n: int = 20) -> pd.DataFrame:
    """The n most anomalous rows by rank, with a `reasons` column."""
    if scores.empty:
        return scores.assign(reasons=pd.Series(dtype="string"))
    top = scores.sort_values(["rank", "anomaly_score"], ascending=[True, False]).head(n).copy()
    top["reasons"] = [reasons(r) for r in top.to_dict("records")]
    return top


def detection_rates(scores: pd.DataFrame, threshold: float | None = None) -> pd.DataFrame:
    """Per label: labelled transactions, how many score above the threshold, and that recall."""
    cols = ["label", "labelled", "detected", "recall"]
    if scores.empty or "is_labelled" not in scores.columns:
        return pd.DataFrame(columns=cols)
    flagged = above_threshold(scores, threshold)
    mask = scores["is_labelled"].fillna(False).astype(bool)
    if not mask.any():
        return pd.DataFrame(columns=cols)
    sub = pd.DataFrame(
        {
            "label": scores.loc[mask, "label"].fillna("(unnamed)").astype(str),
            "detected": flagged[mask].astype(int),
        }
    )
    out = sub.groupby("label", sort=True).agg(labelled=("detected", "size"), detected=("detected", "sum"))
    out["recall"] = out["detected"] / out["labelled"]
    return out.reset_index()[cols]


def per_block_activity(transactions: pd.DataFrame) -> pd.DataFrame:
    """Per block: transaction count, total value (ETH), median and total fee (ETH)."""
    cols = ["block_number", "transactions", "value_eth", "median_fee_eth", "fee_eth"]
    if transactions.empty:
        return pd.DataFrame(columns=cols)
    g = transactions.groupby("block_number", sort=True)
    out = pd.DataFrame(
        {
            "transactions": g.size(),
            "value_eth": g["value_eth"].sum(),
            "median_fee_eth": g["fee_eth"].median(),
            "fee_eth": g["fee_eth"].sum(),
        }
    )
    return out.reset_index()[cols]


def _mode(series: pd.Series) -> str | None:
    s = series.dropna()
    return str(s.mode().iloc[0]) if len(s) else None


def range_summary(key: str, scores: pd.DataFrame | None, transactions: pd.DataFrame | None) -> dict:
    """One overview row for a range: volume (cleaned transactions), anomalies and model versions (scores)."""
    r = parse_key(key)
    row: dict = dict.fromkeys(SUMMARY_COLUMNS)
    row.update(key=key, first_block=r.first, last_block=r.last, scored=0, anomalies=0, labelled_anomalies=0)
    tx = transactions if transactions is not None else scores
    if tx is not None:
        row.update(
            transactions=len(tx),
            value_eth=float(tx["value_eth"].sum()) if "value_eth" in tx else None,
            fee_eth=float(tx["fee_eth"].sum()) if "fee_eth" in tx else None,
        )
    if scores is not None and not scores.empty:
        flagged = above_threshold(scores)
        labelled = scores["is_labelled"].fillna(False).astype(bool) if "is_labelled" in scores else flagged & False
        row.update(
            scored=len(scores),
            anomalies=int(flagged.sum()),
            labelled_anomalies=int((flagged & labelled).sum()),
            threshold=partition_threshold(scores),
            max_score=float(scores["anomaly_score"].max()),
            classifier_version=_mode(scores["classifier_version"]),
            autoencoder_version=_mode(scores["autoencoder_version"]),
        )
    return row


def summary_frame(rows: list[dict]) -> pd.DataFrame:
    """Overview rows as a frame in block order."""
    df = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    return df.sort_values("first_block").reset_index(drop=True)
