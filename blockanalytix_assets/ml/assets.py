"""Scoring assets: per-range scores by the champions (training assets: ml/training_assets.py, one per spec)."""

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import dagster as dg
import pyarrow as pa

from blockanalytix_assets import table_names as tn
from blockanalytix_assets.k8s_config import SCORING_K8S_CONFIG
from blockanalytix_assets.ml.specs import LABELS_ASSET, model, model_assets
from blockanalytix_assets.partitions import RANGE_BATCHES, block_ranges, run_figures
from blockanalytix_assets.preview import markdown_preview
from blockanalytix_assets.resources import MlflowResource, StorageResource
from blockanalytix_assets.storage import Storage

if TYPE_CHECKING:  # Keras and MLflow load when a run scores
    from blockanalytix_assets.ml.registry import LoadedModel
    from blockanalytix_assets.ml.scoring import ScoringModels

SCORING_TAGS = {"dagster-k8s/config": SCORING_K8S_CONFIG}
SCORED_TRANSACTIONS = (tn.ANOMALY_SCORES, tn.TRANSACTION_CLUSTERS)  # score_partition's two tables, in its order
SCORE_PREVIEW = [
    "hash",
    "anomaly_score",
    "rank",
    "classifier_probability",
    "top_feature_1",
    "label",
    "risk_score",
]


def _champions(mlflow: MlflowResource, *assets: str) -> list["LoadedModel"]:
    """Make the scoring experiment active and load the champions of these model assets (once per run)."""
    from blockanalytix_assets.ml import registry
    from blockanalytix_assets.ml.tracking import start_experiment

    start_experiment(mlflow.tracking_uri, mlflow.scoring_experiment_name)
    return [registry.load_champion(mlflow.registered_name(model(asset)), asset) for asset in assets]


def _scored(
    mlflow: MlflowResource,
    loaded: list["LoadedModel"],
    store: Storage,
    asset: str,
    key: str,
    table: pa.Table,
    seconds: float,
) -> dict[str, dg.MetadataValue]:
    import mlflow as mlf

    from blockanalytix_assets.ml.tracking import run_url

    meta: dict[str, dg.MetadataValue] = {
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


def _range_figures(table: pa.Table) -> dict[str, int]:
    """One range's row count (and anomalies, for scores) for the run's `by_range` metadata."""
    from blockanalytix_assets.api.summaries import score_summary

    out = {"rows": table.num_rows}
    if "threshold" in table.column_names:
        out["anomalies"] = int(score_summary(table)["anomalies"] or 0)
    return out


# Deps that are not per range: a new materialisation of them re-scores every range, so only a new data version
# counts (the training assets report the champion version; address_labels a hash of its contents).
MODEL_WIDE_DEPS = dg.AssetSelection.assets(*model_assets(), LABELS_ASSET)


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


def _scores_spec(name: str, description: str, deps: list[str]) -> dg.AssetSpec:
    """A per-range table of the champions' scores: re-scored on new ranges and new champions."""
    return dg.AssetSpec(
        name,
        description=description,
        group_name="ml",
        kinds={"parquet", "keras"},
        automation_condition=SCORING_CONDITION,
        freshness_policy=SCORES_FRESHNESS,
        deps=deps,
    )


def _scoring_op(*specs: dg.AssetSpec, can_subset: bool = False) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """The decorator of a scoring op: per range, in scoring-sized pods, ten ranges a run in a backfill."""
    return dg.multi_asset(
        specs=list(specs),
        partitions_def=block_ranges,
        can_subset=can_subset,
        op_tags=SCORING_TAGS,
        backfill_policy=RANGE_BATCHES,
    )


@_scoring_op(
    _scores_spec(
        tn.ANOMALY_SCORES,
        "Per-tx champion scores, rank, cluster, top-3 features.",
        [
            tn.TRANSACTION_FEATURES,
            tn.CLEANED_TRANSACTIONS,
            LABELS_ASSET,
            "anomaly_classifier",
            "transaction_autoencoder",
        ],
    ),
    _scores_spec(
        tn.TRANSACTION_CLUSTERS,
        "k-means cluster and 2-D embedding of each tx.",
        [tn.TRANSACTION_FEATURES, LABELS_ASSET, "transaction_autoencoder"],
    ),
    can_subset=True,
)
def score_transactions_asset(
    context: dg.AssetExecutionContext, storage: StorageResource, mlflow: MlflowResource
) -> Iterator[dg.MaterializeResult]:
    """Score every transaction of the ranges with the champions, loaded once per run (never trains)."""
    from blockanalytix_assets.ml.pipeline import read_labels
    from blockanalytix_assets.ml.scoring import ScoringModels

    store = storage.storage()
    clf, ae = _champions(mlflow, "anomaly_classifier", "transaction_autoencoder")
    models = ScoringModels(clf.model, clf.version, clf.aux, ae.model, ae.version, ae.aux)
    labels, selected = read_labels(store), {k.to_user_string() for k in context.selected_asset_keys}
    versions = {"anomaly_classifier": clf.version, "transaction_autoencoder": ae.version}
    done: dict[str, tuple[str, pa.Table, float]] = {}
    by_range: dict[str, dict[str, dict[str, int]]] = {}
    for key in sorted(context.partition_keys):
        t0 = time.perf_counter()
        tables, run_id = _score_range(store, key, models, labels, selected, versions)
        context.log.info(f"{key}: scored {tables['anomaly_scores'].num_rows} transactions (MLflow run {run_id})")
        for asset in selected:
            done[asset] = (key, tables[asset], time.perf_counter() - t0)
            by_range.setdefault(asset, {})[key] = _range_figures(tables[asset])
    for asset, (key, table, seconds) in done.items():
        meta = _scored(mlflow, [clf, ae], store, asset, key, table, seconds)
        yield dg.MaterializeResult(asset_key=asset, metadata={**meta, **run_figures(by_range[asset])})


def _score_range(
    store: Storage,
    key: str,
    models: "ScoringModels",
    labels: pa.Table | None,
    selected: set[str],
    versions: dict[str, str],
) -> tuple[dict[str, pa.Table], str]:
    """Score one range, write the selected tables and log the range's MLflow scoring run; (tables, run id)."""
    import pyarrow.compute as pc

    from blockanalytix_assets.ml.pipeline import score_partition
    from blockanalytix_assets.ml.tracking import log_scoring_run

    t0 = time.perf_counter()
    tables = dict(zip(SCORED_TRANSACTIONS, score_partition(store, key, models, labels), strict=True))
    store.write_all(key, {asset: tables[asset] for asset in selected})
    scores = tables[tn.ANOMALY_SCORES]
    above = int(pc.sum(pc.greater_equal(scores["anomaly_score"], scores["threshold"])).as_py() or 0)
    metrics = {"rows": scores.num_rows, "above_threshold": above, "seconds": time.perf_counter() - t0}
    return tables, log_scoring_run(key, versions, metrics)


@_scoring_op(
    _scores_spec(
        tn.ADDRESS_RISK_SCORES,
        "Per-address risk score of the champion address_risk_model, ranked.",
        [tn.ADDRESS_FEATURES, LABELS_ASSET, "address_risk_model"],
    )
)
def address_risk_scores(
    context: dg.AssetExecutionContext, storage: StorageResource, mlflow: MlflowResource
) -> dg.MaterializeResult:
    """Score the ranges' address_features with the champion address model, loaded once per run (never trains)."""
    from blockanalytix_assets.ml.pipeline import read_labels
    from blockanalytix_assets.ml.scoring import score_addresses

    store = storage.storage()
    (champ,) = _champions(mlflow, "address_risk_model")
    labels = read_labels(store)
    by_range: dict[str, dict[str, int]] = {}
    for key in sorted(context.partition_keys):
        t0 = time.perf_counter()
        table = score_addresses(store.read(tn.ADDRESS_FEATURES, key), champ.model, champ.aux, champ.version, labels)
        store.write(tn.ADDRESS_RISK_SCORES, key, table)
        by_range[key] = _range_figures(table)
        context.log.info(f"{key}: scored {table.num_rows} addresses")
    meta = _scored(mlflow, [champ], store, tn.ADDRESS_RISK_SCORES, key, table, time.perf_counter() - t0)
    return dg.MaterializeResult(metadata={**meta, **run_figures(by_range)})
