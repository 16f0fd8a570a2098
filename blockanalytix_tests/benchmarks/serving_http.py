"""HTTP side of the serving benchmark: a real `blockanalytix serve` subprocess measured with httpx."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np

CONCURRENT_CLIENTS, REQUESTS_PER_CLIENT = 20, 50
START_TIMEOUT_S = 120
WARM_BUDGET_S, MIN_WARM = 30.0, 20  # per endpoint: stop short of `requests` after this long (n is reported)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_command(root: str, port: int) -> list[str]:
    """The console script beside this interpreter, else the CLI module."""
    script = Path(sys.executable).parent / "blockanalytix"
    head = [str(script)] if script.exists() else [sys.executable, "-m", "blockanalytix_assets.cli"]
    return [*head, "serve", "--storage", root, "--host", "127.0.0.1", "--port", str(port)]


def rss_mb(pid: int) -> dict:
    """Current and peak resident memory of a process, from /proc."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {k: round(int(fields[k].split()[0]) / 1024, 1) for k in ("VmRSS", "VmHWM")}


def endpoints(lookups: dict) -> dict[str, tuple[str, int]]:
    """name -> (path, expected status)."""
    out = {
        "health": ("/health", 200),
        "ranges": ("/ranges", 200),
        "anomalies_newest": (f"/ranges/{lookups['newest_key']}/anomalies", 200),
        "tx_oldest": (f"/transactions/{lookups['tx_oldest']}", 200),
        "tx_newest": (f"/transactions/{lookups['tx_newest']}", 200),
        "tx_unknown": (f"/transactions/{lookups['tx_unknown']}", 404),
    }
    for tier in ("heavy", "median", "rare"):
        out[f"address_{tier}"] = (f"/addresses/{lookups[f'address_{tier}']}", 200)
    return out


def _stats(ms: list[float]) -> dict:
    a = np.array(ms)
    return {"n": len(a), "p50_ms": round(float(np.percentile(a, 50)), 2),
            "p95_ms": round(float(np.percentile(a, 95)), 2), "max_ms": round(float(a.max()), 2)}  # fmt: skip


def _get(client: httpx.Client, path: str) -> tuple[float, httpx.Response]:
    t0 = time.perf_counter()
    r = client.get(path)
    return (time.perf_counter() - t0) * 1000, r


def _concurrent(base: str, paths: list[tuple[str, int]], clients: int, per_client: int) -> dict:
    """`clients` threads, each with its own connection, `per_client` mixed requests."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client(c: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            for j in range(per_client):
                path, status = paths[(c + j) % len(paths)]
                try:
                    ms, r = _get(http, path)
                    ok = r.status_code == status
                except httpx.HTTPError as exc:
                    ms, ok, r = 0.0, False, exc
                with lock:
                    latencies.append(ms)
                    if not ok:
                        errors.append(f"{path}: {getattr(r, 'status_code', r)}")

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"clients": clients, "requests": len(latencies), "errors": len(errors),
            "error_samples": errors[:5], "wall_s": round(wall, 2),
            "requests_per_s": round(len(latencies) / wall, 1), **_stats(latencies)}  # fmt: skip


def _summary(name: str, r: httpx.Response) -> dict:
    """A few fields that show the answer is the right one."""
    out = {"status": r.status_code, "bytes": len(r.content)}
    if r.status_code != 200:
        return out
    body = r.json()
    if name == "ranges":
        out["items"] = len(body) if isinstance(body, list) else len(body.get("ranges", body.get("items", [])))
    elif name.startswith("address_"):
        profile = body.get("profile") or {}
        out |= {k: profile.get(k) for k in ("active_ranges", "sent_count", "received_count")}
        out["transactions_page"] = len(body.get("transactions") or [])
        out["next_cursor"] = body.get("next_cursor")
    elif name.startswith("tx_"):
        out["hash_matches"] = body.get("hash") == r.request.url.path.rsplit("/", 1)[-1]
    return out


def measure_api(
    root: str,
    lookups: dict,
    requests: int = 200,
    clients: int = CONCURRENT_CLIENTS,
    per_client: int = REQUESTS_PER_CLIENT,
) -> dict:
    """Start the API on root, measure it, stop it; then time the first /ranges of a restart (footer cache)."""
    home = tempfile.mkdtemp(prefix="bench_serving_home_")  # a fresh API cache: the first start is cold
    env = os.environ | {"PYTHONUNBUFFERED": "1", "BLOCKANALYTIX_HOME": home}
    try:
        out = _measure(root, lookups, requests, clients, per_client, env)
        out["restart"] = _restart(root, env)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return out


def _await_health(http: httpx.Client, proc: subprocess.Popen, t0: float, failure: Callable[[], str]) -> None:
    """Poll /health until it answers 200; raise with failure() when the server exits or START_TIMEOUT_S passes."""
    while True:
        try:
            if http.get("/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.perf_counter() - t0 > START_TIMEOUT_S:
            raise RuntimeError(failure())
        time.sleep(0.05)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def _restart(root: str, env: dict) -> dict:
    """Start again with the cache the first run left: start-up and the first /ranges, which need no footer read."""
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen(serve_command(root, port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
            _await_health(http, proc, t0, lambda: "API did not restart")
            startup = time.perf_counter() - t0
            ms, r = _get(http, "/ranges")
            return {"startup_s": round(startup, 2), "first_ranges_ms": round(ms, 2), "status": r.status_code}
    finally:
        _stop(proc)


def _measure(root: str, lookups: dict, requests: int, clients: int, per_client: int, env: dict) -> dict:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    paths = endpoints(lookups)
    log = tempfile.NamedTemporaryFile("w+", prefix="bench_serving_api_", suffix=".log", delete=False)
    t0 = time.perf_counter()
    proc = subprocess.Popen(serve_command(root, port), stdout=log, stderr=subprocess.STDOUT, env=env)
    out: dict = {"errors": 0}
    try:
        with httpx.Client(base_url=base, timeout=60) as http:
            _await_health(http, proc, t0, lambda: f"API did not start: {Path(log.name).read_text()[-2000:]}")
            out["startup_s"] = round(time.perf_counter() - t0, 2)
            out["rss_after_start_mb"] = rss_mb(proc.pid)["VmRSS"]
            out["cold"], out["answers"] = {}, {}
            for name, (path, status) in paths.items():
                ms, r = _get(http, path)
                out["cold"][name] = {"ms": round(ms, 2), "status": r.status_code}
                out["answers"][name] = _summary(name, r)
                out["errors"] += r.status_code != status
            cursor = out["answers"]["address_heavy"].get("next_cursor")
            if cursor:
                paths["address_heavy_page2"] = (f"{paths['address_heavy'][0]}?cursor={cursor}", 200)
            out["warm"] = {}
            for name, (path, status) in paths.items():
                ms_list, t_end = [], time.perf_counter() + WARM_BUDGET_S
                while len(ms_list) < requests and (len(ms_list) < MIN_WARM or time.perf_counter() < t_end):
                    ms, r = _get(http, path)
                    ms_list.append(ms)
                    out["errors"] += r.status_code != status
                out["warm"][name] = _stats(ms_list)
        out["server_rss_mb"] = rss_mb(proc.pid)["VmRSS"]
        out["concurrent"] = _concurrent(base, list(paths.values()), clients, per_client)
        mem = rss_mb(proc.pid)
        out["server_rss_after_concurrent_mb"], out["server_peak_rss_mb"] = mem["VmRSS"], mem["VmHWM"]
    finally:
        _stop(proc)
        log.close()
        out["server_log_tail"] = Path(log.name).read_text()[-1500:].splitlines()[-8:]
        os.unlink(log.name)
    return out
