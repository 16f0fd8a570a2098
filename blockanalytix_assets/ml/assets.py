"""ML assets: training runs tracked in MLflow (not partitioned) and per-range scoring by the champions."""

import time
from datetime import timedelta

import dagster as dg
from pydantic import Field

from blockanalytix_assets.k8s_config import SCORING_K8S_CONFIG, TRAINING_K8S_CONFIG
from blockanalytix_assets.partitions import block_ranges
from blockanalytix_assets.preview import markdown_preview
from blockanalytix_assets.resources import MlflowResource, StorageResource

LABELS_ASSET = "address_labels"  # not partitioned; ml.pipeline reads it (kept out of imports: no TF at load)
TRAINING_TAGS = {"dagster-k8s/config": TRAINING_K8S_CONFIG}
SCORING_TAGS = {"dagster-k8s/config": SCORING_K8S_CONFIG}
SCORE_PREVIEW = [
    "hash",
    "anomaly_score",
    "rank",
    "classifier_probability",
    "top_feature_1",
    "label",
    "risk_score",
]


class TrainingConfig(dg.Config):
    """Which partitions a training run uses and for how long it trains."""

    window_ranges: int = Field(default=8, description="Latest ranges used; the later quarter validates.")
    epochs: int = Field(default=20, description="Maximum epochs (early stopping may end sooner).")
    val_fraction: float = Field(default=0.25, description="Share of the window's ranges used to validate.")
    batch_size: int | None = Field(
        default=None,
        description="Training batch size; unset: the model's own (anomaly_classifier 512, transaction_autoencoder "
        "256, address_risk_model 256). On a GPU pod raise it (4096+): at 512 each step is launch-bound.",
    )


class ForecasterConfig(dg.Config):
    """Window and bucket size of the activity forecaster."""

    window_ranges: int = Field(default=64, description="Latest raw_blocks ranges aggregated into the series.")
    epochs: int = Field(default=50, description="Training epochs.")
    bucket_blocks: int = Field(default=10, description="Blocks per time step (short steps train on a short history).")
    window: int = Field(default=8, description="Steps of history per forecast.")


def _champion_data_version(model_name: str) -> dg.DataVersion:
    """The registry version under alias `champion` after the gate ran: what scoring uses next."""
    from blockanalytix_assets.ml import registry

    current = registry.champion_version(model_name)
    return dg.DataVersion(f"champion-{current.version}" if current is not None else "no-champion")


def _result(mlflow: MlflowResource, model_name: str, result) -> dg.MaterializeResult:
    from blockanalytix_assets.ml.tracking import experiment_url, run_url

    fin = lambda d, p: {f"{p}{k}": float(v) for k, v in d.items() if v == v}  # noqa: E731 (NaN dropped)
    meta = {
        "mlflow_run_id": dg.MetadataValue.text(result.run_id),
        "model_version": dg.MetadataValue.text(str(result.version)),
        "champion_promoted": dg.MetadataValue.bool(bool(result.promoted)),
        "champion_decision": dg.MetadataValue.text(result.decision),
        "train_seconds": dg.MetadataValue.float(round(result.seconds, 3)),
        **fin(result.metrics, "val_"),
        **fin(result.baseline_metrics, "baseline_val_"),
    }
    url = run_url(mlflow.tracking_uri, result.experiment_id, result.run_id)
    if url:
        meta["mlflow_run"] = dg.MetadataValue.url(url)
        meta["mlflow_training_runs"] = dg.MetadataValue.url(experiment_url(mlflow.tracking_uri, result.experiment_id))
    version = _champion_data_version(model_name)
    meta["champion_version"] = dg.MetadataValue.text(version.value)
    # The data version is the champion, not the run: a retrain the gate rejects leaves it unchanged, so the
    # scoring assets (which react to data-version changes of the models) are not re-run.
    return dg.MaterializeResult(metadata=meta, data_version=version)


def _training(name: str, deps: list[str], description: str):
    return dg.asset(
        name=name,
        deps=deps,
        description=description,
        group_name="ml",
        kinds={"keras", "mlflow"},
        op_tags=TRAINING_TAGS,
    )


def _train(kind: str, model_name: str, storage: StorageResource, mlflow: MlflowResource, config: dg.Config):
    from blockanalytix_assets.ml.pipeline import TRAINERS
    from blockanalytix_assets.ml.tracking import start_experiment

    start_experiment(mlflow.tracking_uri, mlflow.experiment_name)
    return _result(mlflow, model_name, TRAINERS[kind](storage.storage(), model_name, **config.model_dump()))


@_training("anomaly_classifier", ["transaction_features", LABELS_ASSET], "Keras MLP: P(tx touches a label).")
def anomaly_classifier(config: TrainingConfig, storage: StorageResource, mlflow: MlflowResource):
    """Train on the latest ranges (earlier train, later validate) beside a tree baseline; gate champion."""
    return _train("anomaly_classifier", mlflow.classifier_model_name, storage, mlflow, config)


@_training("transaction_autoencoder", ["transaction_features", LABELS_ASSET], "Autoencoder + k-means + 2-D PCA.")
def transaction_autoencoder(config: TrainingConfig, storage: StorageResource, mlflow: MlflowResource):
    """Train the autoencoder; its bottleneck is clustered (k by silhouette) and projected to 2-D."""
    return _train("transaction_autoencoder", mlflow.autoencoder_model_name, storage, mlflow, config)


@_training("address_risk_model", ["address_features", LABELS_ASSET], "Keras MLP scoring addresses.")
def address_risk_model(config: TrainingConfig, storage: StorageResource, mlflow: MlflowResource):
    """Train the address model (log1p + quantile encoding inside) beside a tree baseline."""
    return _train("address_risk_model", mlflow.address_model_name, storage, mlflow, config)


@_training("activity_forecaster", ["raw_blocks"], "GRU forecasting base fee and tx count vs last value.")
def activity_forecaster(config: ForecasterConfig, storage: StorageResource, mlflow: MlflowResource):
    """Forecast the next bucket's base fee and transaction count; compared with the last-value baseline."""
    return _train("activity_forecaster", mlflow.forecaster_model_name, storage, mlflow, config)


def _scored(mlflow: MlflowResource, loaded: list, store, asset: str, key: str, table, seconds: float) -> dict:
    import mlflow as mlf

    from blockanalytix_assets.ml.tracking import run_url

    meta = {
        "rows": dg.MetadataValue.int(table.num_rows),
        "seconds": dg.MetadataValue.float(round(seconds, 3)),
        "rows_per_second": dg.MetadataValue.float(round(table.num_rows / max(seconds, 1e-9), 1)),
        "path": dg.MetadataValue.path(store.path(asset, key)),
        "preview": dg.MetadataValue.md(markdown_preview(table, [c for c in SCORE_PREVIEW if c in table.column_names])),
    }
    for m in loaded:
        meta[f"{m.name}_version"] = dg.MetadataValue.text(m.version)
        url = run_url(mlflow.tracking_uri, mlf.get_run(m.run_id).info.experiment_id, m.run_id)
        if url:
            meta[f"{m.name}_run"] = dg.MetadataValue.url(url)
    return meta


def _range_figures(table) -> dict:  # noqa: ANN001 (a pyarrow Table)
    """One range's row count (and anomalies, for scores) for the run's `by_range` metadata."""
    from blockanalytix_assets.api.summaries import score_summary

    out = {"rows": table.num_rows}
    if "threshold" in table.column_names:
        out["anomalies"] = int(score_summary(table)["anomalies"] or 0)
    return out


def _run_figures(by_range: dict[str, dict]) -> dict:
    """Metadata of a run over several ranges: Dagster copies one materialization to each of them (dagster#18123),
    so the per-range figures go in `by_range` and the scalars are totals over the run's ranges."""
    out = {"ranges_in_run": dg.MetadataValue.int(len(by_range)), "by_range": dg.MetadataValue.json(by_range)}
    for name in ("rows", "anomalies"):
        if all(name in f for f in by_range.values()):
            out[name] = dg.MetadataValue.int(sum(f[name] for f in by_range.values()))
    return out


# Deps that are not per range: a new materialisation of them re-scores every range, so only a new data version
# counts (the training assets report the champion version; address_labels a hash of its contents).
MODEL_WIDE_DEPS = dg.AssetSelection.assets(
    "anomaly_classifier", "transaction_autoencoder", "address_risk_model", LABELS_ASSET
)


def scoring_condition() -> dg.AutomationCondition:
    """eager(), except that model-wide deps trigger a re-score only when their data version changes."""
    per_range_updated = dg.AutomationCondition.any_deps_updated().ignore(MODEL_WIDE_DEPS)
    model_changed = dg.AutomationCondition.any_deps_match(
        dg.AutomationCondition.data_version_changed() | dg.AutomationCondition.will_be_requested()
    ).allow(MODEL_WIDE_DEPS)
    updated = (per_range_updated | model_changed.with_label("any_model_wide_dep_new_data_version")).with_label(
        "any_deps_updated_or_new_champion"
    )
    return dg.AutomationCondition.eager().replace("any_deps_updated", updated).with_label("eager_on_new_champion")


SCORING_CONDITION = scoring_condition()
# Scores should follow the chain: warn after 2 h and fail after 6 h without a new materialisation.
SCORES_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=6), warn_window=timedelta(hours=2))


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "anomaly_scores",
            description="Per-tx champion scores, rank, cluster, top-3 features.",
            group_name="ml",
            kinds={"parquet", "keras"},
            automation_condition=SCORING_CONDITION,
            freshness_policy=SCORES_FRESHNESS,
            deps=[
                "transaction_features",
                "cleaned_transactions",
                LABELS_ASSET,
                "anomaly_classifier",
                "transaction_autoencoder",
            ],
        ),
        dg.AssetSpec(
            "transaction_clusters",
            description="k-means cluster and 2-D embedding of each tx.",
            group_name="ml",
            kinds={"parquet", "keras"},
            automation_condition=SCORING_CONDITION,
            freshness_policy=SCORES_FRESHNESS,
            deps=["transaction_features", LABELS_ASSET, "transaction_autoencoder"],
        ),
    ],
    partitions_def=block_ranges,
    can_subset=True,
    op_tags=SCORING_TAGS,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=10),
)
def score_transactions_asset(context: dg.AssetExecutionContext, storage: StorageResource, mlflow: MlflowResource):
    """Score every transaction of the ranges with the champions, loaded once per run (never trains)."""
    import pyarrow.compute as pc

    from blockanalytix_assets.ml import registry
    from blockanalytix_assets.ml.pipeline import read_labels, score_partition
    from blockanalytix_assets.ml.scoring import ScoringModels
    from blockanalytix_assets.ml.tracking import log_scoring_run, start_experiment

    store = storage.storage()
    start_experiment(mlflow.tracking_uri, mlflow.scoring_experiment_name)
    clf = registry.load_champion(mlflow.classifier_model_name, "anomaly_classifier")
    ae = registry.load_champion(mlflow.autoencoder_model_name, "transaction_autoencoder")
    models = ScoringModels(clf.model, clf.version, clf.aux, ae.model, ae.version, ae.aux)
    labels = read_labels(store)
    selected = {k.to_user_string() for k in context.selected_asset_keys}
    done: dict[str, tuple] = {}
    by_range: dict[str, dict[str, dict]] = {}
    for key in sorted(context.partition_keys):
        t0 = time.perf_counter()
        tables = dict(
            zip(
                ("anomaly_scores", "transaction_clusters"),
                score_partition(store, key, models, labels),
                strict=True,
            )
        )
        store.write_all(key, {asset: tables[asset] for asset in selected})
        scores = tables["anomaly_scores"]
        run_id = log_scoring_run(
            key,
            {"anomaly_classifier": clf.version, "transaction_autoencoder": ae.version},
            {
                "rows": scores.num_rows,
                "above_threshold": int(
                    pc.sum(pc.greater_equal(scores["anomaly_score"], scores["threshold"])).as_py() or 0
                ),
                "seconds": time.perf_counter() - t0,
            },
        )
        context.log.info(f"{key}: scored {scores.num_rows} transactions (MLflow run {run_id})")
        for asset in selected:
            done[asset] = (key, tables[asset], time.perf_counter() - t0)
            by_range.setdefault(asset, {})[key] = _range_figures(tables[asset])
    for asset, (key, table, seconds) in done.items():
        meta = _scored(mlflow, [clf, ae], store, asset, key, table, seconds)
        yield dg.MaterializeResult(asset_key=asset, metadata={**meta, **_run_figures(by_range[asset])})


@dg.asset(
    deps=["address_features", LABELS_ASSET, "address_risk_model"],
    partitions_def=block_ranges,
    group_name="ml",
    kinds={"parquet", "keras"},
    op_tags=SCORING_TAGS,
    automation_condition=SCORING_CONDITION,
    freshness_policy=SCORES_FRESHNESS,
    description="Per-address risk score of the champion address_risk_model, ranked.",
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=10),
)
def address_risk_scores(context: dg.AssetExecutionContext, storage: StorageResource, mlflow: MlflowResource):
    """Score the ranges' address_features with the champion address model, loaded once per run (never trains)."""
    from blockanalytix_assets.ml import registry
    from blockanalytix_assets.ml.pipeline import read_labels
    from blockanalytix_assets.ml.scoring import score_addresses
    from blockanalytix_assets.ml.tracking import start_experiment

    store = storage.storage()
    start_experiment(mlflow.tracking_uri, mlflow.scoring_experiment_name)
    model = registry.load_champion(mlflow.address_model_name, "address_risk_model")
    labels = read_labels(store)
    by_range: dict[str, dict] = {}
    for key in sorted(context.partition_keys):
        t0 = time.perf_counter()
        table = score_addresses(store.read("address_features", key), model.model, model.aux, model.version, labels)
        store.write("address_risk_scores", key, table)
        by_range[key] = _range_figures(table)
        context.log.info(f"{key}: scored {table.num_rows} addresses")
    meta = _scored(mlflow, [model], store, "address_risk_scores", key, table, time.perf_counter() - t0)
    return dg.MaterializeResult(metadata={**meta, **_run_figures(by_range)})
