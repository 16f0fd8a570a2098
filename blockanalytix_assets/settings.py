"""Environment settings shared by the assets, the CLI and the devnet (plain Python, no Dagster)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_RPC_URL = "http://127.0.0.1:8545"
DEVNET_CHAIN_ID = 31337


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not an integer; set it to a whole number, e.g. {name}={default}") from None


@dataclass(frozen=True)
class Settings:
    """The BLOCKANALYTIX_* environment, read once."""

    rpc_url: str
    chain_id: int
    storage: str
    range_size: int
    confirmations: int
    home: Path
    deployment: str
    start_block: int = 0
    api_memory_limit: str = "512MB"

    @classmethod
    def from_env(cls) -> Settings:
        range_size = _int_env("BLOCKANALYTIX_RANGE_SIZE", 1000)
        if range_size <= 0:
            raise ValueError(f"BLOCKANALYTIX_RANGE_SIZE must be positive, got {range_size}")
        confirmations = _int_env("BLOCKANALYTIX_CONFIRMATIONS", 64)
        if confirmations < 0:
            raise ValueError(f"BLOCKANALYTIX_CONFIRMATIONS must be >= 0, got {confirmations}")
        deployment = os.environ.get("BLOCKANALYTIX_DEPLOYMENT", "local").strip() or "local"
        if deployment not in ("local", "k8s"):
            raise ValueError(f"BLOCKANALYTIX_DEPLOYMENT={deployment!r}: expected 'local' or 'k8s'")
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
        )
