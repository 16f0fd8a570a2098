"""`devnet` command end to end: detach, refuse a second start, stop, fast reload from the dump."""

import json
import subprocess
import sys

import pytest

from blockanalytix_assets.devnet.anvil import free_port, pid_alive
from blockanalytix_assets.devnet.rpc import DevnetRpc
from blockanalytix_assets.devnet.scenario import read_labels

pytestmark = pytest.mark.integration


def _run(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "blockanalytix_assets.devnet", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _devnet(home, *args: str) -> subprocess.CompletedProcess:
    return _run("--home", str(home), *args)


def test_detach_stop_and_reload(tmp_path):
    port = str(free_port())
    opts = ("--port", port, "--blocks", "30", "--txs-per-block", "8", "--accounts", "50")
    first = _devnet(tmp_path, *opts, "--detach")
    assert first.returncode == 0, first.stderr
    assert "generated" in first.stdout
    info = json.loads((tmp_path / "devnet" / "anvil.pid").read_text())
    try:
        rpc = DevnetRpc(f"http://127.0.0.1:{port}")
        assert int(rpc.call("eth_blockNumber"), 16) == 30
        manifest = json.loads((tmp_path / "devnet" / "manifest.json").read_text())
        assert manifest["head"]["hash"] == rpc.call("eth_getBlockByNumber", "latest", False)["hash"]
        assert read_labels(tmp_path / "devnet" / "labels.csv")
        rpc.close()
        again = _devnet(tmp_path, *opts, "--detach")
        assert again.returncode != 0 and "already running" in again.stderr
    finally:
        stopped = _run("stop", "--home", str(tmp_path))  # the form deployment/demo.sh uses
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert not pid_alive(info["pid"], "anvil")
    assert not (tmp_path / "devnet" / "anvil.pid").exists()

    second = _devnet(tmp_path, *opts, "--detach")
    try:
        assert second.returncode == 0, second.stderr
        assert "reloaded" in second.stdout and "generated" not in second.stdout
        rpc = DevnetRpc(f"http://127.0.0.1:{port}")
        assert rpc.call("eth_getBlockByNumber", "latest", False)["hash"] == manifest["head"]["hash"]
        rpc.close()
    finally:
        assert _devnet(tmp_path, "--stop").returncode == 0
    status = _devnet(tmp_path, "status")
    assert status.returncode == 1 and "not running" in status.stdout
