"""Training assets, one per ModelSpec (ml/specs.py): tracked in MLflow, not partitioned, champion as data version."""

from collections.abc import Sequence
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from blockanalytix_assets.k8s_config import SCORING_K8S_CONFIG, TRAINING_K8S_CONFIG
from blockanalytix_assets.ml.specs import MODELS, ModelSpec
from blockanalytix_assets.resources import MlflowResource, StorageResource

if TYPE_CHECKING:
    from blockanalytix_assets.ml.tracked_run import RunResult  # Keras and MLflow load when a run starts

GPU_TAGS = {"dagster-k8s/config": TRAINING_K8S_CONFIG}
CPU_TAGS = {"dagster-k8s/config": SCORING_K8S_CONFIG}  # a model without GPU needs trains in a scoring-sized pod
_BATCHES = ", ".join(f"{s.asset} {s.batch_size}" for s in MODELS if s.config == "training")


class TrainingConfig(dg.Config):
    """Which partitions a training run uses and for how long it trains."""

    window_ranges: int = Field(default=8, description="Latest ranges used; the later quarter validates.")
    epochs: int = Field(default=20, description="Maximum epochs (early stopping may end sooner).")
    val_fraction: float = Field(default=0.25, description="Share of the window's ranges used to validate.")
    batch_size: int | None = Field(
        default=None,
        description=f"Training batch size; unset: the model's own ({_BATCHES}). On a GPU pod raise it (4096+): at "
        "512 each step is launch-bound.",
    )


class ForecasterConfig(dg.Config):
    """Window and bucket size of the activity forecaster."""

    window_ranges: int = Field(default=64, description="Latest raw_blocks ranges aggregated into the series.")
    epochs: int = Field(default=50, description="Training epochs.")
    bucket_blocks: int = Field(default=10, description="Blocks per time step (short steps train on a short history).")
    window: int = Field(default=8, description="Steps of history per forecast.")


CONFIGS: dict[str, type[dg.Config]] = {"training": TrainingConfig, "forecaster": ForecasterConfig}


def _champion_data_version(model_name: str) -> dg.DataVersion:
    """The registry version under alias `champion` after the gate ran: what scoring uses next."""
    from blockanalytix_assets.ml.champions import champion_version

    current = champion_version(model_name)
    return dg.DataVersion(f"champion-{current.version}" if current is not None else "no-champion")


def _figures(report: dict[str, float], prefix: str) -> dict[str, dg.MetadataValue]:
    """A run's figures as float metadata named <prefix><name>, NaN dropped."""
    return {f"{prefix}{k}": dg.MetadataValue.float(float(v)) for k, v in report.items() if v == v}


def _result(mlflow: MlflowResource, model_name: str, result: "RunResult") -> dg.MaterializeResult:
    from blockanalytix_assets.ml.tracking import experiment_url, run_url

    meta: dict[str, dg.MetadataValue] = {
        "mlflow_run_id": dg.MetadataValue.text(result.run_id),
        "model_version": dg.MetadataValue.text(str(result.version)),
        "champion_promoted": dg.MetadataValue.bool(bool(result.promoted)),
        "champion_decision": dg.MetadataValue.text(result.decision),
        "train_seconds": dg.MetadataValue.float(round(result.seconds, 3)),
        **_figures(result.metrics, "val_"),
        **_figures(result.baseline_metrics, "baseline_val_"),
    }
    links = {
        "mlflow_run": run_url(mlflow.tracking_uri, result.experiment_id, result.run_id),
        "mlflow_training_runs": experiment_url(mlflow.tracking_uri, result.experiment_id),
    }
    meta |= {name: dg.MetadataValue.url(url) for name, url in links.items() if url}
    version = _champion_data_version(model_name)
    meta["champion_version"] = dg.MetadataValue.text(version.value)
    # The data version is the champion, not the run: a retrain the gate rejects leaves it unchanged, so the
    # scoring assets (which react to data-version changes of the models) are not re-run.
    return dg.MaterializeResult(metadata=meta, data_version=version)


def training_asset(spec: ModelSpec) -> dg.AssetsDefinition:
    """The asset of one model: train on the latest window, register, gate; code_version from the spec."""
    config_type = CONFIGS[spec.config]

    @dg.asset(
        name=spec.asset,
        deps=list(spec.deps),
        description=spec.description,
        group_name="ml",
        kinds={"keras", "mlflow"},
        op_tags=GPU_TAGS if spec.gpu else CPU_TAGS,
        code_version=spec.code_version,
    )
    def train(config: config_type, storage: StorageResource, mlflow: MlflowResource) -> dg.MaterializeResult:  # type: ignore[valid-type]
        """Train on the latest ranges (earlier train, later validate), register, and move `champion` on a win."""
        from blockanalytix_assets.ml.tracking import start_experiment

        start_experiment(mlflow.tracking_uri, mlflow.experiment_name)
        model_name = mlflow.registered_name(spec)
        run: dg.Config = config  # a config_type instance: mypy cannot take that variable as a type
        return _result(mlflow, model_name, spec.trainer(storage.storage(), spec, model_name, **run.model_dump()))

    return train


def training_assets(models: Sequence[ModelSpec] = MODELS) -> list[dg.AssetsDefinition]:
    """One training asset per spec."""
    return [training_asset(spec) for spec in models]
