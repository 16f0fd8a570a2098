"""`blockanalytix evaluate-accounts`: train and evaluate on a Kaggle-format labelled account table."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import click

from blockanalytix_assets.settings import Settings


def _local_mlflow_dir() -> Path:
    return Settings.from_env().home / "mlflow"


def default_tracking_uri() -> str:
    """MLFLOW_TRACKING_URI, else a local SQLite store under BLOCKANALYTIX_HOME/mlflow (MLflow 3 refuses ./mlruns)."""
    uri = Settings.from_env().mlflow_tracking_uri
    if uri:
        return uri
    folder = _local_mlflow_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}"


def default_artifact_location() -> str | None:
    """Artefacts beside the local SQLite store; None when a tracking server decides."""
    return None if Settings.from_env().mlflow_tracking_uri else (_local_mlflow_dir() / "artifacts").as_uri()


@click.command("evaluate-accounts")
@click.argument("csv", type=click.Path(exists=True, dir_okay=False))
@click.option("--label-column", default="FLAG", show_default=True, help="0/1 column marking illicit accounts.")
@click.option("--address-column", default="Address", show_default=True, help="Account address column.")
@click.option("--seeds", default=5, show_default=True, help="Seeds averaged in the Keras ensemble.")
@click.option("--epochs", default=40, show_default=True, help="Epochs per Keras model.")
@click.option("--folds", default=3, show_default=True, help="CV folds (training part only) for tuning.")
@click.option("--experiment", default="blockanalytix-accounts", show_default=True, help="MLflow experiment.")
def evaluate_accounts_command(
    csv: str, label_column: str, address_column: str, seeds: int, epochs: int, folds: int, experiment: str
) -> None:
    """Hold out accounts by sha256(address)[0] in c-f, train on the rest, print one JSON line per model."""
    from blockanalytix_assets.ml.accounts import evaluate_accounts, load_account_table
    from blockanalytix_assets.ml.tracking import start_experiment

    df = load_account_table(csv, label_column, address_column)
    # Keras and MLflow print progress bars to stdout; stdout carries only the JSON lines.
    with contextlib.redirect_stdout(sys.stderr):
        start_experiment(default_tracking_uri(), experiment, default_artifact_location())
        rows = evaluate_accounts(df, seeds=seeds, epochs=epochs, folds=folds)
    for row in rows:
        click.echo(json.dumps(row))


if __name__ == "__main__":
    evaluate_accounts_command()
