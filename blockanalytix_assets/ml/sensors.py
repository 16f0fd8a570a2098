"""A champion moved by hand in the MLflow UI becomes the training asset's new data version, so scores follow it."""

from collections.abc import Sequence

import dagster as dg

from blockanalytix_assets.ml.drift_reference import tracking_reachable
from blockanalytix_assets.ml.specs import MODELS, ModelSpec, model_assets
from blockanalytix_assets.resources import MlflowResource

DATA_VERSION_TAG = "dagster/data_version"


def _moved(
    context: dg.SensorEvaluationContext, asset: str, model_name: str, number: str
) -> dg.AssetMaterialization | None:
    """The runless materialisation recording champion `number` as the asset's data version; None if Dagster has it."""
    version = f"champion-{number}"
    latest = context.instance.get_latest_materialization_event(dg.AssetKey(asset))
    mat = latest.asset_materialization if latest else None
    recorded = (mat.tags or {}).get(DATA_VERSION_TAG) if mat else None
    if recorded == version:
        return None
    context.log.info(f"{asset}: champion of {model_name} is version {number} (Dagster had {recorded})")
    return dg.AssetMaterialization(
        asset_key=asset,
        description="The `champion` alias was moved outside Dagster; scoring follows it.",
        metadata={
            "champion_version": dg.MetadataValue.text(version),
            "previous_data_version": dg.MetadataValue.text(str(recorded)),
            "registered_model": dg.MetadataValue.text(model_name),
        },
        tags={DATA_VERSION_TAG: version},
    )


def champion_sensor(models: Sequence[ModelSpec] = MODELS) -> dg.SensorDefinition:
    """champion_alias_sensor over the training assets of `models` (the registry by default)."""

    @dg.sensor(
        name="champion_alias_sensor",
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Records a `champion` alias moved outside Dagster (MLflow UI) as the model asset's data version.",
        metadata={"model_assets": dg.MetadataValue.json(model_assets(models))},
    )
    def champion_alias_sensor(
        context: dg.SensorEvaluationContext, mlflow: MlflowResource
    ) -> dg.SkipReason | dg.SensorResult:
        """Compare each registry champion with the data version Dagster last recorded for its training asset."""
        from blockanalytix_assets.ingest.redact import redact_url
        from blockanalytix_assets.ml.champions import champion_version

        where = redact_url(mlflow.tracking_uri)
        if not tracking_reachable(mlflow.tracking_uri):  # MLflow's client retries for minutes: a tick must not hang
            return dg.SkipReason(f"MLflow at {where} is not answering; the champions are checked again next tick")
        events = []
        for spec in models:
            model_name = mlflow.registered_name(spec)
            try:
                current = champion_version(model_name, mlflow.tracking_uri)
            except Exception as exc:  # noqa: BLE001 (any registry failure only skips this tick)
                return dg.SkipReason(f"MLflow at {where} failed: {type(exc).__name__}")
            event = None if current is None else _moved(context, spec.asset, model_name, str(current.version))
            if event is not None:
                events.append(event)
        if not events:
            return dg.SkipReason("every champion is the data version Dagster last recorded")
        return dg.SensorResult(asset_events=events)

    return champion_alias_sensor


champion_alias_sensor = champion_sensor()
