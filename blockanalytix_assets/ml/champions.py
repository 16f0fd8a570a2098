"""The one look-up of a model's `champion` alias: MLflow's client only (no TensorFlow), so the sensor can use it."""

from __future__ import annotations

from typing import Any

from blockanalytix_assets.ingest.redact import redact_url

CHAMPION = "champion"
_NOT_FOUND = ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE")


class RegistryError(RuntimeError):
    """The tracking server or model URI cannot be used (unreachable, malformed, missing artefact)."""


def champion_version(name: str, tracking_uri: str | None = None) -> Any | None:
    """The ModelVersion under alias `champion` (active tracking URI unless given); None if model or alias is absent."""
    import mlflow
    from mlflow.exceptions import MlflowException

    uri = tracking_uri or mlflow.get_tracking_uri()
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=tracking_uri or mlflow.get_registry_uri())
    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException as exc:
        if exc.error_code in _NOT_FOUND:
            return None
        raise RegistryError(f"MLflow at {redact_url(uri)} failed: {exc.message}") from None
