"""Unit tests of locating the anvil binary and the pid-file helpers."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from blockanalytix_assets.devnet import anvil as anvil_mod
from blockanalytix_assets.devnet.anvil import (
    Anvil,
    AnvilNotFoundError,
    find_anvil,
    pid_alive,
    read_pid_file,
    stop_pid,
    write_pid_file,
)


def test_env_var_wins_and_must_be_executable(tmp_path, monkeypatch):
    fake = tmp_path / "anvil"
    fake.write_text("#!/bin/sh\n")
    monkeypatch.setenv("BLOCKANALYTIX_ANVIL", str(fake))
    with pytest.raises(AnvilNotFoundError, match="not an executable"):
        find_anvil()
    fake.chmod(0o755)
    assert find_anvil() == str(fake)


def test_missing_anvil_says_run_make_setup(tmp_path, monkeypatch):
    monkeypatch.delenv("BLOCKANALYTIX_ANVIL", raising=False)
    monkeypatch.setattr(anvil_mod, "NPM_ANVIL", tmp_path / "nope")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(AnvilNotFoundError, match="make setup"):
        find_anvil()


def test_command_line_carries_the_options(tmp_path):
    cmd = Anvil(port=1234, load_state=tmp_path / "s.json", auto_mine=False).command()
    assert cmd[cmd.index("--port") + 1] == "1234"
    assert cmd[cmd.index("--load-state") + 1] == str(tmp_path / "s.json")
    assert "--no-mining" in cmd and "--auto-impersonate" in cmd
    assert cmd[cmd.index("--hardfork") + 1] == "prague"  # EIP-7702 type-4 transactions
    assert "--no-mining" not in Anvil(auto_mine=True).command()


def test_stop_pid_checks_the_name_and_stops(tmp_path):
    proc = subprocess.Popen(["sleep", "30"], start_new_session=True)
    cmdline = Path(f"/proc/{proc.pid}/cmdline")
    deadline = time.monotonic() + 5
    while b"sleep" not in cmdline.read_bytes() and time.monotonic() < deadline:  # until exec has happened:
        time.sleep(0.01)  # a process caught mid-exec has no command line and counts as a match
    try:
        assert not stop_pid(proc.pid, "anvil")  # not ours to stop: name differs
        assert pid_alive(proc.pid)
        assert stop_pid(proc.pid, "sleep")
        assert proc.wait(5) != 0
    finally:
        if proc.poll() is None:
            proc.kill()
    path = tmp_path / "d" / "anvil.pid"
    assert read_pid_file(path) is None
    write_pid_file(path, {"pid": os.getpid()})
    assert read_pid_file(path) == {"pid": os.getpid()}


def test_a_second_start_refuses_instead_of_leaking_the_first():
    node = Anvil()
    node.proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with pytest.raises(RuntimeError, match="already runs"):
            node.start()
    finally:
        node.proc.kill()
        node.proc.wait()
