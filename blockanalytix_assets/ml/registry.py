"""MLflow registry: register versions, move the `champion` alias only on a win, load the champion once."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from blockanalytix_assets.ingest.redact import redact_url
from blockanalytix_assets.ml.champions import CHAMPION, RegistryError, champion_version

AUX_ARTIFACT = "scoring_aux.json"


class NoChampionError(RuntimeError):
    """The registered model has no version under the `champion` alias."""


@dataclass
class LoadedModel:
    """A champion model loaded once per run, with its registry version and the aux data of its run."""

    name: str
    version: str
    run_id: str
    model: Any
    aux: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.name}/{self.version}"


def _client() -> MlflowClient:
    return MlflowClient(tracking_uri=mlflow.get_tracking_uri(), registry_uri=mlflow.get_registry_uri())


def register(model_uri: str, name: str) -> Any:
    """Register a logged model as a new version of `name`."""
    return mlflow.register_model(model_uri, name)


def promote_if_better(
    name: str,
    candidate_version: str,
    candidate_score: float,
    score_champion: Callable[[str], float],
    metric: str,
    higher_is_better: bool = True,
) -> dict[str, Any]:
    """Give `champion` to the candidate only if it beats the current champion on the same validation data.

    `score_champion(model_uri)` evaluates the current champion on the candidate run's validation set. The
    decision and both figures are logged to the active run (tags champion_decision, metrics
    candidate_<metric> and champion_<metric>).
    """
    client = _client()
    current = champion_version(name)
    champion_score = float("nan")
    if current is None:
        decision, promote = "promoted: no previous champion", True
    else:
        champion_score = float(score_champion(f"models:/{name}/{current.version}"))
        if not math.isfinite(candidate_score):
            promote = False
        elif not math.isfinite(champion_score):
            promote = True
        else:
            promote = candidate_score > champion_score if higher_is_better else candidate_score < champion_score
        verdict = "promoted" if promote else "kept"
        decision = (
            f"{verdict}: candidate {metric}={candidate_score:.6f} vs champion v{current.version} "
            f"{metric}={champion_score:.6f}"
        )
    if promote:
        client.set_registered_model_alias(name, CHAMPION, candidate_version)
    tags = {
        "champion_decision": decision,
        "champion_promoted": str(promote).lower(),
        "candidate_version": str(candidate_version),
        "previous_champion_version": "" if current is None else str(current.version),
    }
    if mlflow.active_run() is not None:
        mlflow.set_tags(tags)
        figures = {f"candidate_{metric}": candidate_score, f"champion_{metric}": champion_score}
        mlflow.log_metrics({k: v for k, v in figures.items() if math.isfinite(v)})
    client.set_model_version_tag(name, str(candidate_version), "champion_decision", decision)
    return {
        "promoted": promote,
        "decision": decision,
        "candidate": candidate_score,
        "champion": champion_score,
        "previous_version": None if current is None else str(current.version),
    }


def load_champion(name: str, asset_hint: str) -> LoadedModel:
    """Load `models:/<name>@champion` (resolved to one version) and its run's scoring_aux.json."""
    current = champion_version(name)
    if current is None:
        raise NoChampionError(f"no champion for {name}: materialise {asset_hint} first")
    uri = f"models:/{name}/{current.version}"
    try:
        model = mlflow.keras.load_model(uri) if _flavor(current) == "keras" else mlflow.sklearn.load_model(uri)
        aux = mlflow.artifacts.load_dict(f"runs:/{current.run_id}/{AUX_ARTIFACT}")
    except (MlflowException, OSError) as exc:
        raise RegistryError(
            f"cannot load {uri} (alias {CHAMPION}) from {redact_url(mlflow.get_tracking_uri())}: {exc}"
        ) from None
    return LoadedModel(name=name, version=str(current.version), run_id=current.run_id, model=model, aux=aux)


def _flavor(version: Any) -> str:
    return (version.tags or {}).get("flavor", "keras")
