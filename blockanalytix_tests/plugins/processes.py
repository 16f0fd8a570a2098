"""Server processes for test fixtures: wait until one answers over HTTP, stop its whole process group."""

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path


def wait_http(proc: subprocess.Popen, url: str, timeout_s: float, name: str, log: Path, poll_s: float = 0.5) -> None:
    """Return once url answers 200; raise (after stopping proc) if it exits or stays silent too long."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited ({proc.returncode}); see {log}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(poll_s)
    stop_group(proc)
    raise RuntimeError(f"{name} did not answer on {url} in {timeout_s}s; see {log}")


def stop_group(proc: subprocess.Popen, term_timeout_s: float = 15) -> None:
    """SIGTERM the process group (workers included), SIGKILL what is left."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=term_timeout_s)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)
