"""Locate, start, wait for and stop an anvil node (Foundry's local Ethereum devnode)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

from blockanalytix_assets.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
NPM_ANVIL = REPO_ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
GENESIS_TIMESTAMP = 1_700_000_000
DEFAULT_CHAIN_ID = 31337
HARDFORK = "prague"  # EIP-7702 (type-4 transactions); pinned so a newer anvil's default cannot change the chain


class AnvilNotFoundError(FileNotFoundError):
    """No anvil binary in BLOCKANALYTIX_ANVIL, node_modules or PATH."""


class AnvilStartError(RuntimeError):
    """anvil exited or did not answer eth_chainId in time."""


def find_anvil() -> str:
    """Return the anvil binary: $BLOCKANALYTIX_ANVIL, else the npm package's, else `anvil` on PATH."""
    env = Settings.from_env().anvil
    if env:
        if Path(env).is_file() and os.access(env, os.X_OK):
            return env
        raise AnvilNotFoundError(f"BLOCKANALYTIX_ANVIL={env} is not an executable file")
    if NPM_ANVIL.is_file() and os.access(NPM_ANVIL, os.X_OK):
        return str(NPM_ANVIL)
    on_path = shutil.which("anvil")
    if on_path:
        return on_path
    raise AnvilNotFoundError(
        "anvil not found: run `make setup` (installs npm package @foundry-rs/anvil-linux-amd64), "
        "or set BLOCKANALYTIX_ANVIL to an anvil binary"
    )


def anvil_version(binary: str | None = None) -> str:
    """Return the first line of `anvil --version`."""
    out = subprocess.run([binary or find_anvil(), "--version"], capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[0]


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, chain_id: int, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    """Poll eth_chainId until the node answers with chain_id; raise AnvilStartError otherwise."""
    deadline = time.monotonic() + timeout
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AnvilStartError(f"anvil exited with code {proc.returncode} before answering on {url}")
        try:
            got = requests.post(url, json=body, timeout=2).json()["result"]
        except (requests.RequestException, ValueError, KeyError):
            time.sleep(0.05)
            continue
        if int(got, 16) != chain_id:
            raise AnvilStartError(f"node on {url} has chain id {int(got, 16)}, expected {chain_id}")
        return
    raise AnvilStartError(f"anvil did not answer eth_chainId on {url} within {timeout:.0f}s")


class Anvil:
    """One anvil process: start() it, use .url, stop() it (also a context manager)."""

    def __init__(
        self,
        port: int | None = None,
        host: str = "127.0.0.1",
        chain_id: int = DEFAULT_CHAIN_ID,
        timestamp: int = GENESIS_TIMESTAMP,
        load_state: str | Path | None = None,
        dump_state: str | Path | None = None,
        auto_mine: bool = False,
        log_path: str | Path | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.port = port or free_port()
        self.host = host
        self.chain_id = chain_id
        self.timestamp = timestamp
        self.load_state = Path(load_state) if load_state else None
        self.dump_state = Path(dump_state) if dump_state else None
        self.auto_mine = auto_mine
        self.log_path = Path(log_path) if log_path else None
        self.extra_args = extra_args
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def command(self) -> list[str]:
        """Return the anvil command line for this configuration."""
        cmd = [
            find_anvil(),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--chain-id",
            str(self.chain_id),
            "--timestamp",
            str(self.timestamp),
            "--hardfork",
            HARDFORK,
            "--auto-impersonate",
            "--silent",
        ]
        if not self.auto_mine:
            cmd.append("--no-mining")
        if self.load_state:
            cmd += ["--load-state", str(self.load_state)]
        if self.dump_state:
            cmd += ["--dump-state", str(self.dump_state)]
        return cmd + list(self.extra_args)

    def start(self, timeout: float = 60.0, detach: bool = False) -> Anvil:
        """Start anvil and wait until it answers; detach=True puts it in its own session (outlives us)."""
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError(f"anvil already runs on {self.url} (pid {self.proc.pid}): stop it before starting again")
        if self.load_state and not self.load_state.is_file():
            raise FileNotFoundError(f"state file {self.load_state} does not exist")
        log = None
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            log = open(self.log_path, "ab")  # handed to the child, closed below
        try:
            self.proc = subprocess.Popen(
                self.command(),
                stdout=subprocess.DEVNULL if log is None else log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=detach,
            )
        finally:
            if log is not None:
                log.close()
        try:
            wait_ready(self.url, self.chain_id, timeout, self.proc)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop anvil (SIGTERM, then SIGKILL after timeout) and reap it."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        self.proc = None

    def __enter__(self) -> Anvil:
        return self if self.proc else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def pid_alive(pid: int, name: str | None = None) -> bool:
    """Return whether pid runs (zombies do not), and (when name is given) its command line contains name."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    proc = Path(f"/proc/{pid}")
    try:
        if proc.joinpath("stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
        cmdline = proc.joinpath("cmdline").read_bytes().decode(errors="replace")
    except (OSError, IndexError):
        return True
    # An empty command line (a process caught mid-exec) cannot be told apart: assume it matches.
    return name is None or not cmdline or name in cmdline


def stop_pid(pid: int, name: str | None = None, timeout: float = 10.0) -> bool:
    """Stop a process we started earlier by its PID (checked against name); return whether it was running."""
    if not pid_alive(pid, name):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True


def write_pid_file(path: Path, info: dict) -> None:
    """Write the detached devnet's pids, port and url as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info, indent=1))
    tmp.replace(path)


def read_pid_file(path: Path) -> dict | None:
    """Return the pid file's content, or None when there is none."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
