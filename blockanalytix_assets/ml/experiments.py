"""MLflow experiments of the pipeline: created on first use and marked as model-development experiments."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

# MLflow 3 opens an experiment by its kind: without one it shows the GenAI overview (traces, token usage);
# with this one it opens on the runs list ("Training runs").
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
CUSTOM_MODEL_DEVELOPMENT = "custom_model_development"
# The UI stores a guess (e.g. `genai_development_inferred`) on an experiment it opens without a kind: not a choice.
GUESSED_KINDS = ("", "no_inferred_type")


def needs_kind(kind: str | None) -> bool:
    """True when the experiment has no kind chosen by a person (missing, empty or one the UI inferred)."""
    return kind is None or kind in GUESSED_KINDS or kind.endswith("_inferred")


def ensure_experiment(client: MlflowClient, name: str, artifact_location: str | None = None) -> str:
    """The experiment's id, created if missing, with the model-development kind tag set if it lacks it."""
    exp = client.get_experiment_by_name(name)
    if exp is None:
        tags = {EXPERIMENT_KIND_TAG: CUSTOM_MODEL_DEVELOPMENT}
        try:
            return client.create_experiment(name, artifact_location=artifact_location, tags=tags)
        except Exception:  # created by a concurrent step meanwhile: use that one
            exp = client.get_experiment_by_name(name)
            if exp is None:
                raise
    if needs_kind(exp.tags.get(EXPERIMENT_KIND_TAG)):
        client.set_experiment_tag(exp.experiment_id, EXPERIMENT_KIND_TAG, CUSTOM_MODEL_DEVELOPMENT)
    return exp.experiment_id
