"""Local services bind 127.0.0.1 by default; the image and every pod run non-root, read-only where possible."""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from blockanalytix_tests.plugins.mlflow_server import free_port

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deployment"
LOOPBACK = "127.0.0.1"
# The chart's own webserver and daemon images are not proven on a read-only root (justified in values.yaml).
WRITABLE_ROOT_OK = {"dagsterWebserver", "dagsterDaemon"}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"}


def _demo_commands() -> list[list[str]]:
    """The service command lines of deployment/demo.sh (`launch NAME PORT CMD...`, continuations joined)."""
    text = (DEPLOY / "demo.sh").read_text().replace("\\\n", " ")
    found = re.findall(r"\blaunch (\w+ \d+ [^;}\n]+)", text)
    return [["launch", *shlex.split(cmd, comments=True)] for cmd in found]


def _host_of(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg in ("--host", "-h") and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--host="):
            return arg.split("=", 1)[1]
    return None


def test_demo_services_bind_loopback():
    commands = {argv[1]: argv[3:] for argv in _demo_commands()}
    assert {"mlflow", "dagster", "api"} <= set(commands), commands
    assert {name: _host_of(argv) for name, argv in commands.items()} == dict.fromkeys(commands, LOOPBACK)
    assert "0.0.0.0" not in (DEPLOY / "demo.sh").read_text()
    devnet = [line for line in (DEPLOY / "demo.sh").read_text().splitlines() if 'blockanalytix" devnet' in line]
    assert devnet and all("--host" not in line for line in devnet)  # so the devnet's default applies


def test_cli_defaults_are_loopback():
    from blockanalytix_assets.api.cli import serve_command
    from blockanalytix_assets.devnet.anvil import Anvil
    from blockanalytix_assets.devnet.cli import devnet_command

    for command in (serve_command, devnet_command):
        (host,) = [p for p in command.params if p.name == "host"]
        assert host.default == LOOPBACK, command.name
    assert Anvil().host == LOOPBACK


def _listening_addresses(port: int) -> set[str]:
    """Local IPv4/IPv6 addresses with a LISTEN socket on port, from /proc/net/tcp{,6}."""
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                out.add(socket.inet_ntoa(bytes.fromhex(addr)[::-1]) if len(addr) == 8 else addr)
    return out


def test_blockanalytix_serve_listens_on_loopback_only(tmp_path):
    port = free_port()
    exe = Path(sys.executable).with_name("blockanalytix")
    proc = subprocess.Popen(
        [str(exe), "serve", "--port", str(port), "--storage", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while not _listening_addresses(port):
            assert proc.poll() is None, "blockanalytix serve exited"
            assert time.monotonic() < deadline, "blockanalytix serve did not listen"
            time.sleep(0.3)
        assert _listening_addresses(port) == {LOOPBACK}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_dockerfile_runs_as_non_root_without_baked_secrets():
    lines = [line.strip() for line in (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ").splitlines()]
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users, "no USER directive: the image would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0") and (not user.isdigit() or int(user) >= 1000)
    secretish = re.compile(r"(KEY|SECRET|PASSWORD|TOKEN|RPC_URL)\w*\s*=\s*\S", re.I)
    assert not [x for x in lines if x.startswith(("ENV ", "ARG ")) and secretish.search(x)]


def _contexts(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], dict]]:
    """Every (path, dict) under a key naming a security context, anywhere in a YAML tree."""
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(k, str) and k.lower().replace("_", "") in ("securitycontext", "podsecuritycontext"):
                yield (*path, k), v or {}
            yield from _contexts(v, (*path, str(k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _contexts(v, (*path, str(i)))


def test_helm_values_pods_are_non_root_and_read_only_where_possible():
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    found = list(_contexts(values))
    assert len(found) >= 6
    for path, ctx in found:
        parent: Any = values
        for k in path[:-1]:
            parent = parent[int(k)] if isinstance(parent, list) else parent[k]
        effective = {**(parent.get("podSecurityContext") or {}), **ctx}  # a container inherits its pod's
        assert effective.get("runAsNonRoot") is True and effective.get("runAsUser", 1) != 0, path
        if path[-1] == "securityContext" and "podSpecConfig" not in path:  # a container's context
            assert ctx.get("allowPrivilegeEscalation") is False, path
            read_only = ctx.get("readOnlyRootFilesystem") is True
            assert read_only or path[0] in WRITABLE_ROOT_OK, f"{'.'.join(path)} has a writable root filesystem"
    # Our own image's pods (code server, runs, steps) are read-only.
    code = values["dagster-user-deployments"]["deployments"][0]["securityContext"]
    assert code["readOnlyRootFilesystem"] is True
    assert values["runLauncher"]["config"]["k8sRunLauncher"]["securityContext"]["readOnlyRootFilesystem"] is True


def test_k8s_workloads_are_non_root_and_read_only():
    workloads = [
        d for p in sorted((DEPLOY / "k8s").glob("*.yaml")) for d in yaml.safe_load_all(p.read_text())
        if d and d.get("kind") in WORKLOADS
    ]  # fmt: skip
    assert workloads
    for w in workloads:
        spec = w["spec"]
        spec = spec.get("jobTemplate", {}).get("spec", spec) if w["kind"] == "CronJob" else spec
        pod = spec.get("template", {}).get("spec", spec)
        pod_ctx = pod.get("securityContext") or {}
        for c in pod.get("initContainers", []) + pod["containers"]:
            ctx = {**pod_ctx, **(c.get("securityContext") or {})}
            where = f"{w['kind']}/{w['metadata']['name']}/{c['name']}"
            assert ctx.get("runAsNonRoot") is True and ctx.get("runAsUser", 1) != 0, where
            assert ctx.get("readOnlyRootFilesystem") is True, where
            assert ctx.get("allowPrivilegeEscalation") is False, where


def test_step_pods_from_k8s_config_are_non_root():
    from blockanalytix_assets.k8s_config import INGEST_K8S_CONFIG, training_k8s_config

    for config in (INGEST_K8S_CONFIG, training_k8s_config()):
        ctx = config["container_config"]["security_context"]
        assert ctx["run_as_non_root"] is True and ctx["allow_privilege_escalation"] is False
