"""The ML assets end to end in Dagster against a real MLflow server: no-champion failure, train, score."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from blockanalytix_assets.ml.assets import score_transactions_asset
from blockanalytix_assets.ml.specs import model
from blockanalytix_assets.ml.synthetic import stored_world
from blockanalytix_assets.ml.training_assets import training_asset
from blockanalytix_assets.resources import MlflowResource, StorageResource
from blockanalytix_assets.storage import Storage

pytestmark = pytest.mark.integration
anomaly_classifier, transaction_autoencoder, address_risk_model = (
    training_asset(model(name)) for name in ("anomaly_classifier", "transaction_autoencoder", "address_risk_model")
)


def test_assets_train_then_score(tmp_path, mlflow_server):
    store, parts, _ = stored_world(str(tmp_path / "data"), n_partitions=3, rows_per_partition=1500, seed=4)
    resources = {
        "storage": StorageResource(root=store.root),
        "mlflow": MlflowResource(tracking_uri=mlflow_server, experiment_name="assets-test",
                                 scoring_experiment_name="assets-test-scoring",
                                 classifier_model_name="assets-clf", autoencoder_model_name="assets-ae"),
    }  # fmt: skip
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("block_ranges", sorted(parts))
    key = sorted(parts)[-1]

    failed = dg.materialize([score_transactions_asset], partition_key=key, resources=resources,
                            instance=instance, raise_on_error=False)  # fmt: skip
    assert not failed.success
    failure = next(e for e in failed.all_events if e.event_type_value == "STEP_FAILURE")
    assert "no champion for assets-clf: materialise anomaly_classifier first" in str(failure.event_specific_data)
    assert not store.exists("anomaly_scores", key)

    config = {"window_ranges": 3, "epochs": 1}  # the classifier's batch is set (above its 512 default), the AE's not
    trained = dg.materialize(
        [anomaly_classifier, transaction_autoencoder], resources=resources, instance=instance,
        run_config={"ops": {"anomaly_classifier": {"config": {**config, "batch_size": 1024}},
                            "transaction_autoencoder": {"config": config}}},
    )  # fmt: skip
    meta = trained.asset_materializations_for_node("anomaly_classifier")[0].metadata
    assert meta["model_version"].value == "1" and meta["champion_promoted"].value is True
    # The champion after the gate is the asset's data version: automation re-scores only when it changes.
    mat = trained.asset_materializations_for_node("anomaly_classifier")[0]
    assert meta["champion_version"].value == mat.tags["dagster/data_version"] == "champion-1"
    assert meta["mlflow_run"].value.startswith(mlflow_server) and "val_pr_auc" in meta

    scored = dg.materialize([score_transactions_asset], partition_key=key, resources=resources, instance=instance)
    assert scored.success
    table = store.read("anomaly_scores", key)
    assert table.num_rows == parts[key].num_rows == store.read("transaction_clusters", key).num_rows
    mats = {m.asset_key.to_user_string(): m for m in scored.asset_materializations_for_node(
        "score_transactions_asset")}  # fmt: skip
    assert mats["anomaly_scores"].metadata["assets-clf_version"].value == "1"
    assert mats["anomaly_scores"].metadata["rows"].value == table.num_rows

    # Each scored partition gets its own MLflow run (the range's report is later logged into it), in the scoring
    # experiment: the training experiment holds training runs only.
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=mlflow_server)
    experiment = client.get_experiment_by_name("assets-test")
    scoring = client.get_experiment_by_name("assets-test-scoring")
    kind = "mlflow.experimentKind"
    assert experiment.tags[kind] == scoring.tags[kind] == "custom_model_development"
    assert not client.search_runs([experiment.experiment_id], filter_string="tags.`blockanalytix.stage` = 'scoring'")
    runs = client.search_runs(
        [scoring.experiment_id],
        filter_string=f"tags.`blockanalytix.partition_key` = '{key}' and tags.`blockanalytix.stage` = 'scoring'",
    )
    assert len(runs) == 1
    assert runs[0].data.params["anomaly_classifier_version"] == "1"
    batches = {r.data.tags["model_kind"]: r.data.params.get("batch_size") for r in client.search_runs(
        [experiment.experiment_id], filter_string="tags.model_kind != ''")}  # fmt: skip
    assert batches["anomaly_classifier"] == "1024" and batches["transaction_autoencoder"] == "256"
    # Every training run names its input: the table's folder, the partitions, the feature spec and a digest.
    [clf_run] = client.search_runs([experiment.experiment_id], filter_string="tags.model_kind = 'anomaly_classifier'")
    inputs = {next(t.value for t in i.tags if t.key == "mlflow.data.context"): i.dataset
              for i in clf_run.inputs.dataset_inputs}  # fmt: skip
    source = json.loads(inputs["training"].source)
    assert source["uri"] == f"{store.root}/transaction_features" and source["partitions"] == sorted(parts)[:-1]
    assert json.loads(inputs["validation"].source)["partitions"] == [key]
    assert inputs["training"].name == "transaction_features spec=synthetic"  # synthetic_world's spec version
    assert runs[0].data.metrics["rows"] == table.num_rows
    anomalies = mats["anomaly_scores"].metadata["anomalies"].value
    assert anomalies == int((table["anomaly_score"].to_numpy() >= table["threshold"].to_numpy()).sum())
    assert mats["anomaly_scores"].metadata["by_range"].value == {key: {"rows": table.num_rows, "anomalies": anomalies}}

    # Drift against the real champion: its training window comes from the run's recorded partitions.
    from blockanalytix_assets.ml import range_drift

    champ, why = range_drift.load_champion(mlflow_server, "assets-clf")
    assert why is None and champ.label == "assets-clf/1" and champ.partitions == sorted(parts)  # train + validation
    drift = range_drift.range_drift(store, champ, key)
    assert drift.features is not None and drift.features.reference_rows == sum(
        parts[k].num_rows for k in champ.partitions
    )
    assert drift.score is not None and drift.score.reference_rows == table.num_rows  # only `key` is scored yet
    assert drift.score_psi == 0.0 and drift.notes == []  # the same rows on both sides


def test_address_scores_backfill_loads_the_champion_once_for_several_ranges(tmp_path, mlflow_server):
    import numpy as np
    import pyarrow as pa

    from blockanalytix_assets.features.address import ADDRESS_MODEL_COLUMNS
    from blockanalytix_assets.ml.assets import address_risk_scores

    rng = np.random.default_rng(5)
    store = Storage(str(tmp_path / "data"))
    keys = [f"{i * 100:09d}-{i * 100 + 99:09d}" for i in range(3)]
    for i, key in enumerate(keys):
        addresses = [f"0x{i:04x}{j:036x}" for j in range(200)]
        cols = {c: rng.lognormal(size=200) for c in ADDRESS_MODEL_COLUMNS}
        store.write("address_features", key, pa.table({"address": addresses, **cols}))
    labelled = [f"0x{i:04x}{j:036x}" for i in range(3) for j in range(0, 200, 9)]
    store.write("address_labels", "all", pa.table({"address": labelled, "label": ["phishing"] * len(labelled)}))
    resources = {
        "storage": StorageResource(root=store.root),
        "mlflow": MlflowResource(tracking_uri=mlflow_server, experiment_name="address-test",
                                 address_model_name="address-risk"),
    }  # fmt: skip
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("block_ranges", keys)
    config = {"ops": {"address_risk_model": {"config": {"window_ranges": 3, "epochs": 1, "batch_size": 64}}}}
    assert dg.materialize([address_risk_model], resources=resources, instance=instance, run_config=config).success

    scored = dg.materialize(
        [address_risk_scores], resources=resources, instance=instance,
        tags={"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[1]},
    )  # fmt: skip
    assert scored.success
    assert [store.exists("address_risk_scores", k) for k in keys] == [True, True, False]
    table = store.read("address_risk_scores", keys[1]).to_pandas()
    assert len(table) == 200 and sorted(table["rank"]) == list(range(1, 201)) and set(table["model_version"]) == {"1"}
    # Dagster copies a run's one materialization to each of its ranges: the per-range figures are in by_range.
    meta = scored.asset_materializations_for_node("address_risk_scores")[0].metadata
    assert meta["by_range"].value == {keys[0]: {"rows": 200}, keys[1]: {"rows": 200}}
    assert meta["rows"].value == 400 and meta["ranges_in_run"].value == 2
    logs = [e.user_message for e in instance.all_logs(scored.run_id)]
    assert sum("scored 200 addresses" in m for m in logs) == 2  # one run, one model load, both ranges
