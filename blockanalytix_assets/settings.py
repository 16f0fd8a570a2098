"""Environment settings shared by the assets, the CLI, the API and the devnet (plain Python, no Dagster).

Every environment variable the package reads is read here; README's Configuration table lists them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_RPC_URL = "http://127.0.0.1:8545"
DEFAULT_MLFLOW_TRACKING_URI = "http://127.0.0.1:5000"
DEFAULT_AWS_REGION = "us-east-1"
DEVNET_CHAIN_ID = 31337
TRACE_MODES = ("auto", "parity", "geth", "off")  # BLOCKANALYTIX_TRACES


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not an integer; set it to a whole number, e.g. {name}={default}") from None


def _positive_env(name: str, default: int) -> int:
    value = _int_env(name, default)
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return value


def _bool_env(name: str, default: bool) -> bool:
    raw = (os.environ.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}={raw!r} is not a boolean; set it to 1 or 0")


def _str_env(name: str) -> str | None:
    """The variable's value, None when unset or blank."""
    return (os.environ.get(name) or "").strip() or None


@dataclass(frozen=True)
class Settings:
    """The environment, read once: BLOCKANALYTIX_*, MLflow's tracking URI, S3 and the browser for PNGs."""

    rpc_url: str
    chain_id: int
    storage: str
    range_size: int
    confirmations: int
    home: Path
    deployment: str
    start_block: int = 0
    api_memory_limit: str = "512MB"
    ingest_ranges_per_run: int = 1  # adjacent new ranges chain_head_sensor puts in one (catch-up) run
    automation_interval_s: int = 15  # between evaluations of blockanalytix_automation_sensor
    report_png: bool = True  # the report assets' default: PNG copies of the figures too
    mlflow_tracking_uri: str | None = None  # None: the pipeline uses DEFAULT_MLFLOW_TRACKING_URI
    aws_endpoint_url: str | None = None  # None: AWS itself
    aws_region: str = DEFAULT_AWS_REGION
    # Credentials only the API's DuckDB needs spelled out (pyarrow and boto3 read them themselves).
    aws_access_key_id: str | None = field(default=None, repr=False)
    aws_secret_access_key: str | None = field(default=None, repr=False)
    aws_session_token: str | None = field(default=None, repr=False)
    anvil: str | None = None  # an anvil binary; None: node_modules', then PATH's
    git_commit: str | None = None  # recorded on training runs where the image has no .git
    gpu_image: str | None = None  # the CUDA image training steps run in on Kubernetes
    browser_path: str | None = None  # the Chrome/Chromium kaleido drives for report PNGs
    traces: str = "auto"  # BLOCKANALYTIX_TRACES: auto | parity | geth | off

    @property
    def tracking_uri(self) -> str:
        """The MLflow tracking server the pipeline logs to."""
        return self.mlflow_tracking_uri or DEFAULT_MLFLOW_TRACKING_URI

    @classmethod
    def from_env(cls) -> Settings:
        range_size = _positive_env("BLOCKANALYTIX_RANGE_SIZE", 1000)
        confirmations = _int_env("BLOCKANALYTIX_CONFIRMATIONS", 64)
        if confirmations < 0:
            raise ValueError(f"BLOCKANALYTIX_CONFIRMATIONS must be >= 0, got {confirmations}")
        deployment = os.environ.get("BLOCKANALYTIX_DEPLOYMENT", "local").strip() or "local"
        if deployment not in ("local", "k8s"):
            raise ValueError(f"BLOCKANALYTIX_DEPLOYMENT={deployment!r}: expected 'local' or 'k8s'")
        traces = (os.environ.get("BLOCKANALYTIX_TRACES") or "auto").strip().lower()
        if traces not in TRACE_MODES:
            raise ValueError(f"BLOCKANALYTIX_TRACES={traces!r}: expected one of {', '.join(TRACE_MODES)}")
        return cls(
            rpc_url=os.environ.get("BLOCKANALYTIX_RPC_URL") or DEFAULT_RPC_URL,
            chain_id=_int_env("BLOCKANALYTIX_CHAIN_ID", DEVNET_CHAIN_ID),
            storage=os.environ.get("BLOCKANALYTIX_STORAGE") or "./data",
            range_size=range_size,
            confirmations=confirmations,
            home=Path(os.environ.get("BLOCKANALYTIX_HOME") or ".blockanalytix").resolve(),
            deployment=deployment,
            start_block=_int_env("BLOCKANALYTIX_START_BLOCK", 0),
            api_memory_limit=os.environ.get("BLOCKANALYTIX_API_MEMORY_LIMIT", "").strip() or "512MB",
            ingest_ranges_per_run=_positive_env("BLOCKANALYTIX_INGEST_RANGES_PER_RUN", 1),
            automation_interval_s=_positive_env("BLOCKANALYTIX_AUTOMATION_INTERVAL_SECONDS", 15),
            report_png=_bool_env("BLOCKANALYTIX_REPORT_PNG", True),
            mlflow_tracking_uri=_str_env("MLFLOW_TRACKING_URI"),
            aws_endpoint_url=_str_env("AWS_ENDPOINT_URL"),
            aws_region=_str_env("AWS_REGION") or DEFAULT_AWS_REGION,
            aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID") or None,
            aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY") or None,
            aws_session_token=os.environ.get("AWS_SESSION_TOKEN") or None,
            anvil=_str_env("BLOCKANALYTIX_ANVIL"),
            git_commit=_str_env("BLOCKANALYTIX_GIT_COMMIT"),
            gpu_image=_str_env("BLOCKANALYTIX_GPU_IMAGE"),
            browser_path=_str_env("BROWSER_PATH"),
            traces=traces,
        )
