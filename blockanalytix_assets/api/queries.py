"""Read-only queries over the Parquet tables, with each file cached until its mtime changes."""

from __future__ import annotations

import math
import threading

import pandas as pd
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from blockanalytix_assets.ranges import PartitionKeyError, parse_key
from blockanalytix_assets.reports.data import LABEL_COLUMNS, SCORE_COLUMNS
from blockanalytix_assets.reports.summary import TOP_FEATURE_COLUMNS, partition_threshold
from blockanalytix_assets.storage import Storage

TX_COLUMNS = [
    "hash",
    "block_number",
    "block_timestamp",
    "transaction_index",
    "from_address",
    "to_address",
    "value",
    "value_eth",
    "fee_eth",
    "gas",
    "gas_price",
    "receipt_gas_used",
    "receipt_status",
    "method_selector",
    "failed",
    "is_contract_creation",
    "is_contract_call",
    "token_transfer_count",
    "gas_price_to_base_fee",
]
RISK_COLUMNS = ["address", "risk_score", "rank", "model_version", "label"]
COLUMNS = {
    "anomaly_scores": SCORE_COLUMNS,
    "cleaned_transactions": TX_COLUMNS,
    "address_risk_scores": RISK_COLUMNS,
    "address_labels": LABEL_COLUMNS,
    "raw_blocks": ["number"],
}
RANGE_ASSETS = ("raw_blocks", "cleaned_transactions", "anomaly_scores")


def clean(value: object) -> object:
    """A JSON-safe scalar: NaN/NA become None, numpy scalars plain Python, decimals strings."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if type(value).__name__ == "Decimal":
        return str(value)
    return value


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows of a frame as JSON-safe dicts."""
    return [{k: clean(v) for k, v in r.items()} for r in frame.to_dict("records")]


class TableCache:
    """Frames of `<asset>/<key>.parquet`, reread only when the file's modification time changes."""

    def __init__(self, storage: Storage):
        self.storage = storage
        self._lock = threading.Lock()
        self._frames: dict[tuple[str, str], tuple[int, pd.DataFrame]] = {}

    def frame(self, asset: str, key: str) -> pd.DataFrame | None:
        """The table's API columns (those present in the file), or None when the file does not exist."""
        fs, path = self.storage._fs_path(asset, key)
        info = fs.get_file_info(path)
        if info.type != pafs.FileType.File:
            return None
        stamp = info.mtime_ns or 0
        with self._lock:
            hit = self._frames.get((asset, key))
        if hit and hit[0] == stamp:
            return hit[1]
        with fs.open_input_file(path) as fh:
            pf = pq.ParquetFile(fh)
            wanted = [c for c in COLUMNS.get(asset, []) if c in pf.schema_arrow.names] or None
            frame = pf.read(columns=wanted).to_pandas()
        with self._lock:
            self._frames[(asset, key)] = (stamp, frame)
        return frame


class Queries:
    """The API's questions, answered from the tables under one storage root."""

    def __init__(self, storage_root: str):
        self.storage = Storage(storage_root)
        self.cache = TableCache(self.storage)

    def keys(self, asset: str) -> list[str]:
        return self.storage.keys(asset)

    def ranges(self) -> list[dict]:
        """Every range present in any per-range table, with its scoring summary where scored."""
        present = {a: set(self.keys(a)) for a in RANGE_ASSETS}
        out = []
        for key in sorted(set().union(*present.values())):
            try:
                r = parse_key(key)
            except PartitionKeyError:
                continue  # a stray file name is not a range
            scores = self.cache.frame("anomaly_scores", key)
            tx = self.cache.frame("cleaned_transactions", key)
            row = {
                "key": key,
                "first_block": r.first,
                "last_block": r.last,
                "ingested": key in present["raw_blocks"],
            }
            row.update(scored=scores is not None, transactions=None if tx is None else len(tx))
            row.update(score_summary(scores))
            out.append(row)
        return out

    def known_range(self, key: str) -> bool:
        return any(self.storage.exists(a, key) for a in RANGE_ASSETS)

    def anomalies(self, key: str, limit: int, min_score: float | None) -> dict | None:
        """The range's scored transactions by rank (optionally above min_score), or None when not scored."""
        scores = self.cache.frame("anomaly_scores", key)
        if scores is None:
            return None
        thr = partition_threshold(scores)
        sel = scores if min_score is None else scores[scores["anomaly_score"] >= min_score]
        sel = sel.sort_values(["rank", "anomaly_score"], ascending=[True, False])
        return {
            "key": key,
            "threshold": thr,
            "total": len(sel),
            "anomalies": anomaly_rows(sel.head(limit), thr),
        }

    def transaction(self, tx_hash: str) -> dict | None:
        """A transaction (cleaned columns) with its anomaly score, searching the newest ranges first."""
        for key in reversed(self.keys("cleaned_transactions")):
            tx = self.cache.frame("cleaned_transactions", key)
            hit = tx[tx["hash"] == tx_hash] if tx is not None else tx
            if hit is not None and len(hit):
                row = records(hit.head(1))[0]
                row["value_wei"] = row.pop("value", None)
                row.update(partition_key=key, score=self._score(key, tx_hash))
                return row
        for key in reversed(self.keys("anomaly_scores")):
            score = self._score(key, tx_hash)
            if score is not None:
                base = {k: score.get(k) for k in ("hash", "block_number", "block_timestamp", "from_address")}
                base.update(to_address=score.get("to_address"), value_eth=score.get("value_eth"))
                base.update(fee_eth=score.get("fee_eth"), partition_key=key, score=score)
                return base
        return None

    def _score(self, key: str, tx_hash: str) -> dict | None:
        scores = self.cache.frame("anomaly_scores", key)
        if scores is None:
            return None
        hit = scores[scores["hash"] == tx_hash]
        return anomaly_rows(hit.head(1), partition_threshold(scores))[0] if len(hit) else None

    def address(self, address: str, limit: int = 20) -> dict | None:
        """Risk score, labels and recent anomalous transactions of an address; None when never seen."""
        risk = None
        for key in reversed(self.keys("address_risk_scores")):
            frame = self.cache.frame("address_risk_scores", key)
            hit = frame[frame["address"] == address] if frame is not None else frame
            if hit is not None and len(hit):
                risk = {**records(hit.head(1))[0], "partition_key": key}
                break
        labels: list[dict] = []
        for key in self.keys("address_labels"):
            frame = self.cache.frame("address_labels", key)
            if frame is not None:
                labels += records(frame[frame["address"] == address])
        labels = list({(lb["label"], lb["source"]): lb for lb in labels}.values())
        anomalous, seen = [], False
        for key in reversed(self.keys("anomaly_scores")):
            scores = self.cache.frame("anomaly_scores", key)
            touching = scores[(scores["from_address"] == address) | (scores["to_address"] == address)]
            seen = seen or len(touching) > 0
            thr = partition_threshold(scores)
            if thr is not None:
                touching = touching[touching["anomaly_score"] >= thr]
                anomalous += anomaly_rows(touching.sort_values("block_number", ascending=False), thr)
            if len(anomalous) >= limit:
                break
        if risk is None and not labels and not seen:
            return None
        return {
            "address": address,
            "risk": risk,
            "labels": labels,
            "anomalous_transactions": anomalous[:limit],
        }


def score_summary(scores: pd.DataFrame | None) -> dict:
    """Threshold, anomaly count, top score and model versions of one range's scores (all None unscored)."""
    out = dict.fromkeys(("anomalies", "threshold", "max_score", "classifier_version", "autoencoder_version"))
    if scores is None or scores.empty:
        return out
    thr = partition_threshold(scores)
    out.update(threshold=thr, max_score=clean(scores["anomaly_score"].max()))
    out["anomalies"] = int((scores["anomaly_score"] >= thr).sum()) if thr is not None else None
    for col in ("classifier_version", "autoencoder_version"):
        out[col] = clean(scores[col].dropna().max())
    return out


def anomaly_rows(frame: pd.DataFrame, threshold: float | None) -> list[dict]:
    """Score rows as API dicts: reasons gathered, above_threshold computed."""
    out = []
    for row in records(frame):
        row["reasons"] = [row.pop(c) for c in TOP_FEATURE_COLUMNS if row.get(c)]
        for c in TOP_FEATURE_COLUMNS:
            row.pop(c, None)
        row["above_threshold"] = threshold is not None and row["anomaly_score"] >= threshold
        row.pop("threshold", None)
        out.append(row)
    return out
