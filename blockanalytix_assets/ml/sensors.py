"""A champion moved by hand in the MLflow UI becomes the training asset's new data version, so scores follow it."""

import dagster as dg

from blockanalytix_assets.ml.drift_reference import tracking_reachable
from blockanalytix_assets.resources import MlflowResource

DATA_VERSION_TAG = "dagster/data_version"


def _model_names(mlflow: MlflowResource) -> dict[str, str]:
    return {
        "anomaly_classifier": mlflow.classifier_model_name,
        "transaction_autoencoder": mlflow.autoencoder_model_name,
        "address_risk_model": mlflow.address_model_name,
    }


def _champion(tracking_uri: str, model_name: str):  # noqa: ANN202 (an mlflow ModelVersion or None)
    """The ModelVersion under `champion`, or None (the import stays light: no TensorFlow in the code server)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        return MlflowClient(tracking_uri=tracking_uri).get_model_version_by_alias(model_name, "champion")
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"):
            return None
        raise


@dg.sensor(
    name="champion_alias_sensor",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records a `champion` alias moved outside Dagster (MLflow UI) as the model asset's data version.",
)
def champion_alias_sensor(context: dg.SensorEvaluationContext, mlflow: MlflowResource):
    """Compare each registry champion with the data version Dagster last recorded for its training asset."""
    from blockanalytix_assets.ingest.redact import redact_url

    where = redact_url(mlflow.tracking_uri)
    if not tracking_reachable(mlflow.tracking_uri):  # MLflow's own client retries for minutes: a tick must not hang
        return dg.SkipReason(f"MLflow at {where} is not answering; the champions are checked again next tick")
    events = []
    for asset, model_name in _model_names(mlflow).items():
        try:
            current = _champion(mlflow.tracking_uri, model_name)
        except Exception as exc:  # noqa: BLE001 (any registry failure only skips this tick)
            return dg.SkipReason(f"MLflow at {where} failed: {type(exc).__name__}")
        if current is None:
            continue
        version = f"champion-{current.version}"
        latest = context.instance.get_latest_materialization_event(dg.AssetKey(asset))
        recorded = latest.asset_materialization.tags.get(DATA_VERSION_TAG) if latest else None
        if recorded == version:
            continue
        context.log.info(f"{asset}: champion of {model_name} is version {current.version} (Dagster had {recorded})")
        events.append(
            dg.AssetMaterialization(
                asset_key=asset,
                description="The `champion` alias was moved outside Dagster; scoring follows it.",
                metadata={
                    "champion_version": dg.MetadataValue.text(version),
                    "previous_data_version": dg.MetadataValue.text(str(recorded)),
                    "registered_model": dg.MetadataValue.text(model_name),
                },
                tags={DATA_VERSION_TAG: version},
            )
        )
    if not events:
        return dg.SkipReason("every champion is the data version Dagster last recorded")
    return dg.SensorResult(asset_events=events)
