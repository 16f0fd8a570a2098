"""Typed Dagster resources: the RPC endpoint, the storage root and the MLflow server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import Field

from blockanalytix_assets.ingest.replay import REPLAY_URL, replay_session
from blockanalytix_assets.ml.specs import ModelSpec, model
from blockanalytix_assets.settings import DEFAULT_RPC_URL, Settings
from blockanalytix_assets.storage import Storage

if TYPE_CHECKING:
    import requests

    from blockanalytix_assets.ingest.rpc import RpcClient


class RpcResource(dg.ConfigurableResource):
    """An Ethereum JSON-RPC endpoint; the URL may hold an API key and is never logged unredacted."""

    url: str = Field(description="JSON-RPC URL (secret: set it with BLOCKANALYTIX_RPC_URL).")
    chain_id: int = Field(description="Expected eth_chainId; a node on another chain is refused.")
    batch_size: int = Field(default=100, description="JSON-RPC calls per HTTP batch.")
    max_workers: int = Field(default=4, description="Concurrent HTTP requests per step.")
    max_retries: int = Field(default=8, description="Retries per batch before the step fails.")
    timeout_s: float = Field(default=30.0, description="Per-request timeout in seconds.")
    traces: str = Field(
        default="auto",
        description="raw_traces source (BLOCKANALYTIX_TRACES): auto (probe the node), parity (trace_block), geth "
        "(debug_traceBlockByNumber, callTracer) or off.",
    )

    def client(self) -> RpcClient:
        """A client checked against the configured chain id."""
        from blockanalytix_assets.ingest.rpc import RpcClient

        client = RpcClient(
            self.url,
            batch_size=self.batch_size,
            max_workers=self.max_workers,
            max_retries=self.max_retries,
            timeout=self.timeout_s,
            session=self.http_session(),
        )
        client.check_chain_id(self.chain_id)
        return client

    def http_session(self) -> requests.Session | None:
        """The session every request goes through; None gives each worker thread its own HTTP session."""
        return None


class ReplayRpcResource(RpcResource):
    """RpcResource answered from recorded JSON-RPC responses, not a node (tests); unrecorded requests raise."""

    url: str = Field(default=REPLAY_URL, description="Not a node: the recording answers.")
    recording: str = Field(description="JSON-lines file (.jsonl or .jsonl.gz) of recorded requests and answers.")

    def http_session(self) -> requests.Session:
        return replay_session(self.recording)


class StorageResource(dg.ConfigurableResource):
    """Where Parquet tables and artefacts live: a local folder or s3://bucket/prefix."""

    root: str = Field(description="Local path or s3://bucket/prefix (BLOCKANALYTIX_STORAGE).")
    s3_endpoint_url: str | None = Field(
        default=None, description="S3-compatible endpoint (MinIO, moto); None means AWS."
    )

    def storage(self) -> Storage:
        return Storage(self.root, s3_endpoint_url=self.s3_endpoint_url)


# The per-model registry-name fields users already set in their configs; models added later have none and are
# registered under their spec's registered_name.
NAME_FIELDS = {
    "anomaly_classifier": "classifier_model_name",
    "transaction_autoencoder": "autoencoder_model_name",
    "address_risk_model": "address_model_name",
    "activity_forecaster": "forecaster_model_name",
}


def _name_field(asset: str) -> Any:
    return Field(default=model(asset).registered_name, description=f"Registry name of {asset}.")


class MlflowResource(dg.ConfigurableResource):
    """An MLflow tracking server and the names the pipeline registers models under."""

    tracking_uri: str = Field(description="MLflow tracking URI (MLFLOW_TRACKING_URI).")
    experiment_name: str = Field(default="blockanalytix", description="Experiment holding every training run.")
    scoring_experiment_name: str = Field(
        default="blockanalytix-scoring",
        description="Experiment holding the per-range scoring runs (and each range's report), apart from training.",
    )
    classifier_model_name: str = _name_field("anomaly_classifier")
    autoencoder_model_name: str = _name_field("transaction_autoencoder")
    address_model_name: str = _name_field("address_risk_model")
    forecaster_model_name: str = _name_field("activity_forecaster")

    def registered_name(self, spec: ModelSpec) -> str:
        """The registry name of a model: its *_model_name field where it has one, else the spec's."""
        field = NAME_FIELDS.get(spec.asset)
        return getattr(self, field) if field else spec.registered_name


class PipelineSettings(dg.ConfigurableResource):
    """Range size and confirmations used by the sensor, the schedules and key validation."""

    range_size: int = Field(description="Blocks per partition (BLOCKANALYTIX_RANGE_SIZE).")
    confirmations: int = Field(description="Blocks behind head before a range is final.")
    home: str = Field(description="Folder for devnet state, MLflow data and reports (BLOCKANALYTIX_HOME).")
    start_block: int = Field(default=0, description="First block to register (BLOCKANALYTIX_START_BLOCK).")
    ingest_ranges_per_run: int = Field(
        default=1,
        ge=1,
        description="New ranges chain_head_sensor puts in one run (BLOCKANALYTIX_INGEST_RANGES_PER_RUN): 1 is a run "
        "per range; more makes a catch-up catch_up_job runs that also compute the ranges' per-range features.",
    )


def _pipeline_settings(s: Settings) -> PipelineSettings:
    return PipelineSettings(
        range_size=s.range_size,
        confirmations=s.confirmations,
        home=str(s.home),
        start_block=s.start_block,
        ingest_ranges_per_run=s.ingest_ranges_per_run,
    )


def _rpc_url(s: Settings) -> str | dg.EnvVar:
    # EnvVar keeps a configured URL (it may hold an API key) out of the UI's resource config; the default is not secret.
    return DEFAULT_RPC_URL if s.rpc_url == DEFAULT_RPC_URL else dg.EnvVar("BLOCKANALYTIX_RPC_URL")


def local_resources() -> dict[str, object]:
    """Resources for one machine: values from BLOCKANALYTIX_* env vars with devnet defaults."""
    s = Settings.from_env()
    return {
        "rpc": RpcResource(url=_rpc_url(s), chain_id=s.chain_id, traces=s.traces),
        "storage": StorageResource(root=s.storage, s3_endpoint_url=s.aws_endpoint_url),
        "mlflow": MlflowResource(tracking_uri=s.tracking_uri),
        "settings": _pipeline_settings(s),
    }


def k8s_resources() -> dict[str, object]:
    """Resources for Kubernetes: every endpoint comes from the pod's env (Secrets and ConfigMaps)."""
    s = Settings.from_env()
    return {
        "rpc": RpcResource(url=dg.EnvVar("BLOCKANALYTIX_RPC_URL"), chain_id=s.chain_id, traces=s.traces),
        "storage": StorageResource(root=s.storage, s3_endpoint_url=s.aws_endpoint_url),
        "mlflow": MlflowResource(tracking_uri=dg.EnvVar("MLFLOW_TRACKING_URI")),
        "settings": _pipeline_settings(s),
    }
