"""Pytest fixture: a real `mlflow server --workers 1` (SQLite backend, local artefacts) on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

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
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"mlflow server exited ({proc.returncode}); see {workdir / 'mlflow-server.log'}"
            )
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as r:
                if r.status == 200:
                    return proc, uri
        except OSError:
            time.sleep(0.5)
    stop_mlflow_server(proc)
    raise RuntimeError(f"mlflow server did not answer on {uri} in {STARTUP_TIMEOUT_S}s")


def stop_mlflow_server(proc: subprocess.Popen) -> None:
    """Stop the server's process group (gunicorn/uvicorn workers included)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Tracking URI of a real MLflow server for the test session; stopped afterwards."""
    proc, uri = start_mlflow_server(tmp_path_factory.mktemp("mlflow"))
    try:
        yield uri
    finally:
        stop_mlflow_server(proc)
