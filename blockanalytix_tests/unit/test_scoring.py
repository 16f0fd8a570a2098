"""Pure scoring: output contracts, ranks, top features, clusters, labels and alignment helpers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from blockanalytix_assets.ml import models as M
from blockanalytix_assets.ml.scoring import (
    FeatureSpecError,
    ScoringModels,
    align_amounts,
    feature_matrix,
    ranks_descending,
    score_addresses,
    score_transactions,
    to_cdf,
)
from blockanalytix_assets.ml.scoring_graph import padded_rows, run_scoring_graph
from blockanalytix_assets.ml.synthetic import feature_columns, synthetic_world
from blockanalytix_assets.ml.training import reference_quantiles

SCORE_SCHEMA = {
    "hash": pa.string(), "block_number": pa.int64(), "value_eth": pa.float64(), "fee_eth": pa.float64(),
    "classifier_probability": pa.float64(), "reconstruction_error": pa.float64(),
    "anomaly_score": pa.float64(),
    "rank": pa.int64(), "cluster_id": pa.int64(), "classifier_version": pa.string(),
    "autoencoder_version": pa.string(), "top_feature_1": pa.string(), "top_feature_2": pa.string(),
    "top_feature_3": pa.string(), "is_labelled": pa.bool_(), "label": pa.string(), "threshold": pa.float64(),
}  # fmt: skip


@pytest.fixture(scope="module")
def world():
    parts, labels = synthetic_world(n_partitions=1, rows_per_partition=3000, seed=7)
    table = next(iter(parts.values()))
    cols = feature_columns()
    x = np.column_stack([table.column(c).to_numpy() for c in cols])
    clf = M.build_anomaly_classifier(x, hidden=(8,), log_transform=False)
    ae = M.build_transaction_autoencoder(x, hidden=8, bottleneck=4)
    rng = np.random.default_rng(0)
    aux = {"feature_columns": cols}
    clf_aux = {**aux, "probability_quantiles": reference_quantiles(M.predict_big(clf, x).ravel())}
    ae_aux = {
        **aux,
        "error_quantiles": reference_quantiles(rng.random(100)),
        "pca_mean": np.zeros(4),
        "kmeans_centers": rng.normal(size=(3, 4)),
        "pca_components": np.eye(2, 4),
    }
    return table, labels, ScoringModels(clf, "7", clf_aux, ae, "3", ae_aux)


def test_anomaly_scores_follow_the_contract(world):
    table, labels, models = world
    value = np.arange(table.num_rows, dtype=np.float64)
    scores, clusters = score_transactions(table, models, labels, value, value * 0.01, threshold=0.95)
    for name, typ in SCORE_SCHEMA.items():
        assert scores.schema.field(name).type == typ, name
    s = scores.to_pandas()
    assert s["anomaly_score"].between(0, 1).all()
    assert sorted(s["rank"]) == list(range(1, len(s) + 1))
    assert s.loc[s["rank"] == 1, "anomaly_score"].iloc[0] == s["anomaly_score"].max()
    assert (s["top_feature_1"] != s["top_feature_2"]).all() and set(s["top_feature_3"]) <= set(feature_columns())
    assert set(s["classifier_version"]) == {"7"} and (s["threshold"] == 0.95).all()
    illicit = set(labels.column("address").to_pylist())
    expected = s["from_address"].isin(illicit) | s["to_address"].isin(illicit)
    assert (s["is_labelled"] == expected).all() and (s.loc[expected, "label"] == "phishing_drain").all()
    assert s.loc[~expected, "label"].isna().all()
    assert clusters.column_names == [
        "hash",
        "block_number",
        "cluster_id",
        "embedding_x",
        "embedding_y",
        "is_labelled",
    ]
    assert set(clusters.column("cluster_id").to_pylist()) <= {0, 1, 2}


def test_fused_graph_matches_the_two_models_run_separately(world):
    table, _, models = world
    x = feature_matrix(table, models.feature_columns)
    x[5, 2] = np.nan  # non-finite inputs are zeroed before both models
    columns = [x[:, j].copy() for j in range(x.shape[1])]
    prob, error, top, cluster, xy = run_scoring_graph(models.graph, columns, batch_size=700)
    x = np.nan_to_num(x)
    assert np.allclose(prob, M.predict_big(models.classifier, x), atol=1e-6)
    normed, recon, code = M.predict_outputs(M.autoencoder_views(models.autoencoder)[2], x)
    per_feature = (normed - recon) ** 2
    assert np.allclose(error, per_feature.mean(1), rtol=1e-5, atol=1e-7)
    assert (top == np.argsort(-per_feature, axis=1, kind="stable")[:, :3]).mean() > 0.999
    a = models.autoencoder_aux
    centers = np.asarray(a["kmeans_centers"])
    assert (cluster == ((code[:, None, :] - centers[None]) ** 2).sum(-1).argmin(1)).all()
    assert np.allclose(xy, (code - np.asarray(a["pca_mean"])) @ np.asarray(a["pca_components"]).T, atol=1e-5)
    empty = run_scoring_graph(models.graph, [c[:0] for c in columns])
    assert [e.shape[0] for e in empty] == [0] * 5 and empty[2].shape[1] == 3


def test_missing_feature_columns_fail_clearly(world):
    table, _, models = world
    with pytest.raises(FeatureSpecError, match="re-materialise"):
        score_transactions(table.drop_columns([feature_columns()[0]]), models)


def test_helpers():
    assert ranks_descending(np.array([0.1, 0.9, 0.5])).tolist() == [3, 1, 2]
    cdf = to_cdf(np.array([-1.0, 0.5, 2.0]), reference_quantiles(np.linspace(0, 1, 1001)))
    assert cdf.tolist() == pytest.approx([0.0, 0.5, 1.0], abs=1e-3)
    cleaned = pa.table({"hash": ["b", "a", "c"], "value_eth": [2.0, 1.0, 3.0], "fee_eth": [0.2, 0.1, 0.3]})
    value, fee = align_amounts(pa.chunked_array([["a", "b", "x"]]), cleaned)
    assert value[:2].tolist() == [1.0, 2.0] and np.isnan(value[2]) and fee[1] == 0.2


def test_score_addresses_ranks_by_risk():
    x = np.random.default_rng(2).random((40, 3)).astype(np.float32) * 10
    model = M.build_address_risk_model(x, hidden=(4,), n_bins=4)
    table = pa.table({"address": [f"0x{i:040x}" for i in range(40)], **{f"c{j}": x[:, j] for j in range(3)}})
    labels = pa.table({"address": ["0x" + f"{5:040x}"], "label": ["ofac"]})
    out = score_addresses(table, model, {"feature_columns": ["c0", "c1", "c2"]}, "4", labels).to_pandas()
    assert out.loc[out["rank"] == 1, "risk_score"].iloc[0] == out["risk_score"].max()
    assert out["label"].notna().sum() == 1 and set(out["model_version"]) == {"4"}


def test_batches_are_padded_to_few_shapes():
    assert [padded_rows(r, 131_072) for r in (1, 1024, 1025, 70_000, 131_072)] == [1024, 1024, 2048, 131_072, 131_072]
    assert padded_rows(5000, 4096) == 4096
