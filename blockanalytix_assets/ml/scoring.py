"""Pure scoring with loaded models: probability, reconstruction error, combined score, clusters."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import keras
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from blockanalytix_assets.ml import models as M
from blockanalytix_assets.ml.scoring_graph import build_scoring_graph, run_scoring_graph

DEFAULT_THRESHOLD = 0.99  # flagged when either model puts it in the top 1% of training traffic
KEY_COLUMNS = ["hash", "block_number", "block_timestamp", "from_address", "to_address"]


class FeatureSpecError(ValueError):
    """The partition's features do not match the columns the model was trained on."""


@dataclass
class ScoringModels:
    """The champion classifier and autoencoder with the aux data of their runs, fused once per run."""

    classifier: keras.Model
    classifier_version: str
    classifier_aux: dict
    autoencoder: keras.Model
    autoencoder_version: str
    autoencoder_aux: dict

    def __post_init__(self) -> None:
        a = self.autoencoder_aux
        self.feature_columns = list(self.classifier_aux["feature_columns"])
        if list(a["feature_columns"]) != self.feature_columns:
            raise FeatureSpecError(
                f"classifier {self.classifier_version} and autoencoder {self.autoencoder_version} were trained "
                "on different feature columns: retrain both (materialise anomaly_classifier and "
                "transaction_autoencoder)"
            )
        self.graph = build_scoring_graph(
            self.classifier, self.autoencoder, a["kmeans_centers"], a["pca_mean"], a["pca_components"]
        )


def feature_columns_of(table: pa.Table, columns: list[str], spec_hint: str = "") -> list[np.ndarray]:
    """The model input as one float32 array per feature column; a clear error on missing columns."""
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise FeatureSpecError(
            f"features lack {missing[:5]} that the champion was trained on{spec_hint}: re-materialise "
            "transaction_features with the current code or retrain the models"
        )
    return [table.column(c).to_numpy().astype(np.float32, copy=False) for c in columns]


def feature_matrix(table: pa.Table, columns: list[str], spec_hint: str = "") -> np.ndarray:
    """The model input (rows x columns, float32) from an Arrow table; non-finite values become 0."""
    arrays = feature_columns_of(table, columns, spec_hint)
    if table.num_rows == 0:
        return np.zeros((0, len(columns)), dtype=np.float32)
    x = np.stack(arrays, axis=1)
    if not np.isfinite(x).all():
        np.nan_to_num(x, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    return x


def to_cdf(scores: np.ndarray, quantiles: list[float]) -> np.ndarray:
    """Map scores onto the empirical CDF of the training scores (stable across partitions)."""
    q = np.maximum.accumulate(np.asarray(quantiles, dtype=np.float64))
    return np.interp(scores, q, np.linspace(0.0, 1.0, len(q)))


def ranks_descending(score: np.ndarray) -> np.ndarray:
    """Rank 1 = highest score; ties broken by row order."""
    order = np.argsort(-score, kind="stable")
    rank = np.empty(len(score), dtype=np.int64)
    rank[order] = np.arange(1, len(score) + 1, dtype=np.int64)
    return rank


def label_lookup(frm: pa.ChunkedArray, to: pa.ChunkedArray, labels: pa.Table | None) -> tuple[pa.Array, pa.Array]:
    """(is_labelled, label) for each transaction: the sender's label first, else the receiver's."""
    n = len(frm)
    if labels is None or labels.num_rows == 0:
        return pa.array(np.zeros(n, dtype=bool)), pa.nulls(n, pa.string())
    g = labels.group_by("address", use_threads=False).aggregate([("label", "first")])
    labels = pa.table({"address": g.column("address"), "label": g.column("label_first")})
    addr, lab = labels.column("address"), labels.column("label")
    i_from, i_to = pc.index_in(frm, value_set=addr), pc.index_in(to, value_set=addr)
    label = pc.coalesce(pc.take(lab, i_from), pc.take(lab, i_to))
    hit = pc.or_(pc.is_valid(i_from), pc.is_valid(i_to))
    return hit.combine_chunks() if isinstance(hit, pa.ChunkedArray) else hit, label


def _strings(idx: np.ndarray, values: list[str]) -> pa.Array:
    """values[idx] as a plain string column, built in Arrow (no per-row Python objects)."""
    return pa.DictionaryArray.from_arrays(pa.array(idx.astype(np.int32, copy=False)), pa.array(values)).cast(
        pa.string()
    )


def score_transactions(
    features: pa.Table,
    models: ScoringModels,
    labels: pa.Table | None = None,
    value_eth: pa.Array | np.ndarray | None = None,
    fee_eth: pa.Array | np.ndarray | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> tuple[pa.Table, pa.Table]:
    """(anomaly_scores, transaction_clusters) tables for one partition of transaction_features."""
    columns = feature_columns_of(features, models.feature_columns)
    n = features.num_rows
    q_prob, q_error = models.classifier_aux["probability_quantiles"], models.autoencoder_aux["error_quantiles"]

    def combined(outs: list[np.ndarray]) -> list[np.ndarray]:
        prob, error, top, cluster, xy = outs
        prob, error = prob.reshape(-1).astype(np.float64), error.astype(np.float64)
        # Each model's score on its training CDF, then the larger: the known typologies the classifier learnt
        # and the novel patterns the autoencoder finds both surface; averaging would hide one behind the other.
        score = np.maximum(to_cdf(prob, q_prob), to_cdf(error, q_error))
        return [prob, error, score, top, cluster.astype(np.int64), xy]

    with ThreadPoolExecutor(1) as pool:  # the label join needs no model output: it runs beside the graph
        labelled = pool.submit(label_lookup, features.column("from_address"), features.column("to_address"), labels)
        prob, error, score, top, cluster, xy = run_scoring_graph(models.graph, columns, post=combined)
        is_labelled, label = labelled.result()
    keys = {c: features.column(c) for c in KEY_COLUMNS}
    zeros, constant = np.zeros(n), np.zeros(n, dtype=np.int32)
    scores = pa.table(
        {
            **keys,
            "value_eth": pa.array(zeros if value_eth is None else value_eth, pa.float64()),
            "fee_eth": pa.array(zeros if fee_eth is None else fee_eth, pa.float64()),
            "classifier_probability": prob,
            "reconstruction_error": error,
            "anomaly_score": score,
            "rank": ranks_descending(score),
            "cluster_id": cluster,
            "classifier_version": _strings(constant, [models.classifier_version]),
            "autoencoder_version": _strings(constant, [models.autoencoder_version]),
            **{f"top_feature_{i + 1}": _strings(top[:, i], models.feature_columns) for i in range(top.shape[1])},
            "is_labelled": is_labelled,
            "label": label,
            "threshold": np.full(n, threshold, dtype=np.float64),
        }
    )
    clusters = pa.table(
        {
            "hash": keys["hash"],
            "block_number": keys["block_number"],
            "cluster_id": cluster,
            "embedding_x": xy[:, 0].astype(np.float64),
            "embedding_y": xy[:, 1].astype(np.float64),
            "is_labelled": is_labelled,
        }
    )
    return scores, clusters


def align_amounts(feature_hash: pa.ChunkedArray, cleaned: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """value_eth and fee_eth of cleaned_transactions in the order of the features' hashes (NaN if absent)."""
    c_hash = cleaned.column("hash")
    if c_hash.equals(feature_hash):
        return (
            cleaned.column("value_eth").to_numpy(zero_copy_only=False),
            cleaned.column("fee_eth").to_numpy(zero_copy_only=False),
        )
    idx = pc.index_in(feature_hash, value_set=c_hash)
    take = [pc.take(cleaned.column(c), idx).to_numpy(zero_copy_only=False) for c in ("value_eth", "fee_eth")]
    return tuple(np.asarray(t, dtype=np.float64) for t in take)  # type: ignore[return-value]


def score_addresses(
    features: pa.Table, model: keras.Model, aux: dict, version: str, labels: pa.Table | None = None
) -> pa.Table:
    """address_risk_scores for one partition of address_features."""
    x = feature_matrix(features, list(aux["feature_columns"]))
    risk = M.predict_big(model, x).reshape(-1).astype(np.float64) if len(x) else np.zeros(0)
    addr = features.column("address")
    _, label = label_lookup(addr, addr, labels)
    n = len(risk)
    return pa.table(
        {
            "address": addr,
            "risk_score": risk,
            "rank": ranks_descending(risk),
            "model_version": _strings(np.zeros(n, dtype=np.int32), [version]),
            "label": label,
        }
    )
