"""Commands that promise JSON lines print only JSON lines on stdout; logs and progress go to stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).with_name("blockanalytix"))
HEAD = 1234
ANSWERS = {"eth_chainId": hex(31337), "eth_blockNumber": hex(HEAD)}


class _Node(BaseHTTPRequestHandler):
    """A JSON-RPC stub answering the two calls `ranges sync` makes (single or batched)."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        calls = body if isinstance(body, list) else [body]
        out = [{"jsonrpc": "2.0", "id": c["id"], "result": ANSWERS[c["method"]]} for c in calls]
        data = json.dumps(out if isinstance(body, list) else out[0]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def node_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Node)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v3/SECRETKEY0123456789abcdef"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def cli_env(tmp_path: Path, node_url: str) -> dict[str, str]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "BLOCKANALYTIX_RPC_URL": node_url,
        "BLOCKANALYTIX_CHAIN_ID": "31337",
        "BLOCKANALYTIX_RANGE_SIZE": "100",
        "BLOCKANALYTIX_CONFIRMATIONS": "0",
        "BLOCKANALYTIX_STORAGE": str(tmp_path / "data"),
        "BLOCKANALYTIX_HOME": str(tmp_path / "ba_home"),
        "PYTHONWARNINGS": "always",  # warnings must land on stderr too, not in the JSON
    }


def json_lines(stdout: str) -> list[dict]:
    """Every stdout line parsed as JSON (a line that is not JSON fails the test with the line shown)."""
    lines = stdout.splitlines()
    assert lines, "no output on stdout"
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"stdout line is not JSON: {line!r}\nstdout:\n{stdout}")
    return out


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=180)


def test_ranges_sync_prints_one_json_line(cli_env: dict[str, str]) -> None:
    proc = _cli(cli_env, "ranges", "sync", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    [line] = json_lines(proc.stdout)
    assert line["head"] == HEAD and line["added"] == (HEAD + 1) // 100 and line["dry_run"] is True
    assert "SECRETKEY" not in proc.stdout + proc.stderr


def test_backfill_prints_one_json_line(cli_env: dict[str, str]) -> None:
    proc = _cli(cli_env, "backfill", "--from-block", "0", "--to-block", "199")
    assert proc.returncode == 0, proc.stderr
    [line] = json_lines(proc.stdout)
    assert line["ranges"] == 2 and line["first"] == "000000000-000000099" and line["backfill_id"]
