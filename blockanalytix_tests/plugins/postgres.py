"""Pytest fixture: a private PostgreSQL 15 cluster (initdb + pg_ctl) on a free port, stopped after the session.

PostgreSQL refuses to run as root, so as root the server runs as the unprivileged `nobody` user (CI runs as
root too); its data and unix socket live in a fresh folder under /tmp that only that user and root can reach.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from blockanalytix_tests.plugins.integration import starts_processes

PG_BIN = Path(os.environ.get("BLOCKANALYTIX_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_RUN_AS = "nobody"  # used only when the tests run as root
SUPERUSER = "dagster"
STARTUP_TIMEOUT_S = 60


@dataclass(frozen=True)
class PostgresServer:
    """Connection details of the private cluster (password authentication over TCP)."""

    host: str
    port: int
    user: str
    password: str
    socket_dir: Path
    data_dir: Path

    def url(self, db: str) -> str:
        """A SQLAlchemy/psycopg2 URL for one database."""
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{db}"

    def create_database(self, name: str) -> str:
        """Create an empty database and return its name."""
        import psycopg2

        conn = psycopg2.connect(
            host=self.host, port=self.port, user=self.user, password=self.password, dbname="postgres"
        )
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return name

    def dagster_env(self, db: str) -> dict[str, str]:
        """The DAGSTER_PG_* variables deployment/dagster.prod.yaml reads, pointing at one database."""
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USER": self.user,
            "DAGSTER_PG_PASSWORD": self.password,
            "DAGSTER_PG_DB": db,
        }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_pg_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", PG_RUN_AS, "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(_as_pg_user(cmd), capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:2])} failed ({proc.returncode}): {proc.stderr[-2000:]}")


def start_postgres() -> PostgresServer:
    """initdb a fresh cluster and start it on a free port; returns once it accepts connections."""
    if not (PG_BIN / "initdb").exists():
        raise RuntimeError(f"{PG_BIN}/initdb not found: install PostgreSQL 15 (`make test-deps`)")
    base = Path(tempfile.mkdtemp(prefix="blockanalytix-pg-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam(PG_RUN_AS)
        os.chown(base, owner.pw_uid, owner.pw_gid)
    data, sock = base / "data", base / "sock"
    password = os.urandom(12).hex()
    pwfile = base / "pwfile"
    pwfile.write_text(password + "\n")
    if os.geteuid() == 0:
        os.chown(pwfile, owner.pw_uid, owner.pw_gid)
    _run(
        [
            str(PG_BIN / "initdb"),
            "-D",
            str(data),
            "-U",
            SUPERUSER,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ]
    )
    pwfile.unlink()
    (sock).mkdir()
    if os.geteuid() == 0:
        os.chown(sock, owner.pw_uid, owner.pw_gid)
    port = _free_port()
    opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    _run(
        [
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(base / "server.log"),
            "-o",
            opts,
            "-w",
            "-t",
            str(STARTUP_TIMEOUT_S),
            "start",
        ]
    )
    return PostgresServer("127.0.0.1", port, SUPERUSER, password, sock, data)


def stop_postgres(server: PostgresServer) -> None:
    """Stop the cluster (fast shutdown) and delete its folder."""
    try:
        _run([str(PG_BIN / "pg_ctl"), "-D", str(server.data_dir), "-m", "fast", "-w", "stop"])
    finally:
        shutil.rmtree(server.data_dir.parent, ignore_errors=True)


@pytest.fixture(scope="session")
@starts_processes
def postgres() -> Iterator[PostgresServer]:
    """A private PostgreSQL 15 server for the test session."""
    server = start_postgres()
    try:
        yield server
    finally:
        stop_postgres(server)


@pytest.fixture
def postgres_db(postgres: PostgresServer) -> str:
    """A fresh, empty database on the session's server, for one test."""
    return postgres.create_database(f"t_{time.time_ns()}")
