"""Pytest fixture: a real `mlflow server --workers 1` (SQLite backend, local artefacts) on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from blockanalytix_tests.plugins.integration import starts_processes
from blockanalytix_tests.plugins.processes import stop_group, wait_http

STARTUP_TIMEOUT_S = 120


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mlflow_executable() -> list[str]:
    exe = Path(sys.executable).with_name("mlflow")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "mlflow"]


def start_mlflow_server(workdir: Path, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """Start the server in its own process group; returns (process, tracking URI) once /health answers."""
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    log = open(workdir / "mlflow-server.log", "wb")  # noqa: SIM115 - kept open for the server's lifetime
    cmd = [
        *_mlflow_executable(), "server",
        "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}",
        "--artifacts-destination", str(workdir / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    # No huey job consumers (GenAI jobs): they are ~8 extra processes competing for 2 cores.
    env = {**os.environ, "MLFLOW_TRACKING_URI": "", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    wait_http(proc, f"{uri}/health", STARTUP_TIMEOUT_S, "mlflow server", workdir / "mlflow-server.log")
    return proc, uri


def stop_mlflow_server(proc: subprocess.Popen) -> None:
    """Stop the server's process group (gunicorn/uvicorn workers included)."""
    stop_group(proc, 15)


@pytest.fixture(scope="session")
@starts_processes
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Tracking URI of a real MLflow server for the test session; stopped afterwards."""
    proc, uri = start_mlflow_server(tmp_path_factory.mktemp("mlflow"))
    try:
        yield uri
    finally:
        stop_mlflow_server(proc)
