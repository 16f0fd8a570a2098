"""deployment/: Kubernetes manifests, Helm values and the Dockerfile, checked by real validators."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from referencing import Registry, Resource

from blockanalytix_assets.settings import TRACE_MODES

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deployment"
K8S_VERSION = "1.30.0"
NAMESPACE = "blockanalytix"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CHART_SCHEMA = FIXTURES / "dagster_chart" / "values.subset.schema.json"
MANIFEST_FILES = sorted((DEPLOY / "k8s").glob("*.yaml"))
VALUES = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
CHECKOV_HINT = (
    "checkov is not installed: python3 -m venv .venv-checkov && "
    ".venv/bin/uv pip install --python .venv-checkov/bin/python checkov (or set CHECKOV_BIN)"
)


def _docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _resources() -> list[dict[str, Any]]:
    return [doc for path in MANIFEST_FILES for doc in _docs(path)]


def _find(kind: str, name: str) -> dict[str, Any]:
    (found,) = [r for r in _resources() if r["kind"] == kind and r["metadata"]["name"] == name]
    return found


@pytest.mark.parametrize("path", MANIFEST_FILES, ids=lambda p: p.name)
def test_manifest_valid_for_kubernetes_1_30(path: Path) -> None:
    docs = _docs(path)
    assert docs
    for doc in docs:
        # strict: unknown fields (typos) fail too, not just wrong types.
        assert kubernetes_validate.validate(doc, K8S_VERSION, strict=True) == "1.30"


def test_manifests_cover_the_deployment() -> None:
    kinds = {(r["kind"], r["metadata"]["name"]) for r in _resources()}
    assert {
        ("Namespace", NAMESPACE),
        ("Secret", "blockanalytix-secrets"),
        ("Secret", "dagster-postgresql-secret"),
        ("Secret", "mlflow-secrets"),
        ("ConfigMap", "blockanalytix-config"),
        ("Deployment", "mlflow"),
        ("Service", "mlflow"),
    } <= kinds
    for resource in _resources():
        if resource["kind"] != "Namespace":
            assert resource["metadata"]["namespace"] == NAMESPACE, resource["metadata"]["name"]


def test_secret_template_holds_placeholders_only() -> None:
    secrets = [r for r in _resources() if r["kind"] == "Secret"]
    assert len(secrets) == 3
    for secret in secrets:
        assert "data" not in secret, "base64 `data` would hide real values; use stringData placeholders"
        for key, value in secret["stringData"].items():
            assert "REPLACE" in value, f"{secret['metadata']['name']}.{key} is not a placeholder"
    keys = set(_find("Secret", "blockanalytix-secrets")["stringData"])
    assert {"BLOCKANALYTIX_RPC_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= keys
    assert "postgresql-password" in _find("Secret", "dagster-postgresql-secret")["stringData"]


def test_configmap_holds_the_non_secret_contract() -> None:
    data = _find("ConfigMap", "blockanalytix-config")["data"]
    assert data["BLOCKANALYTIX_DEPLOYMENT"] == "k8s"
    assert data["BLOCKANALYTIX_STORAGE"].startswith("s3://")
    assert int(data["BLOCKANALYTIX_RANGE_SIZE"]) > 0
    assert data["BLOCKANALYTIX_TRACES"] in TRACE_MODES
    assert not any(re.search(r"SECRET|PASSWORD|TOKEN|RPC_URL", key) for key in data)
    service = _find("Service", "mlflow")
    port = service["spec"]["ports"][0]["port"]
    assert data["MLFLOW_TRACKING_URI"] == f"http://mlflow.{NAMESPACE}.svc.cluster.local:{port}"


def test_mlflow_server_is_hardened_and_wired() -> None:
    spec = _find("Deployment", "mlflow")["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["automountServiceAccountToken"] is False
    (container,) = spec["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["command"][:2] == ["mlflow", "server"]
    assert any(a.startswith("--artifacts-destination=s3://") for a in container["args"])
    store = {e["name"]: e for e in container["env"]}["MLFLOW_BACKEND_STORE_URI"]
    assert store["valueFrom"]["secretKeyRef"]["name"] == "mlflow-secrets"
    assert _find("Secret", "mlflow-secrets")["stringData"]["MLFLOW_BACKEND_STORE_URI"].startswith("postgresql://")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/health"
    assert set(container["resources"]) == {"requests", "limits"}
    image = VALUES["dagster-user-deployments"]["deployments"][0]["image"]
    assert container["image"] == f"{image['repository']}:{image['tag']}"


def test_helm_values_match_the_chart_schema() -> None:
    schema = json.loads(CHART_SCHEMA.read_text())
    k8s_defs = kubernetes_validate.utils.schema_contents(
        "kubernetes-json-schema/v1.30.0-local-strict/_definitions.json", K8S_VERSION
    )
    registry = Registry().with_resource(k8s_defs["$id"], Resource.from_contents(k8s_defs))
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    errors = sorted(validator.iter_errors(VALUES), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)
    # The schema really rejects what the chart rejects (guards against a vacuous schema).
    bad = json.loads(json.dumps(VALUES))
    bad["concurrency"]["pools"]["defaultLimt"] = 3
    bad["dagsterDaemon"]["runCoordinator"]["type"] = "QueueRunCoordinator"
    assert len(list(validator.iter_errors(bad))) == 2


def test_helm_values_semantics() -> None:
    assert VALUES["runLauncher"]["type"] == "K8sRunLauncher"
    coordinator = VALUES["dagsterDaemon"]["runCoordinator"]
    assert coordinator["enabled"] and coordinator["type"] == "QueuedRunCoordinator"
    concurrency = VALUES["concurrency"]
    assert concurrency["enabled"] and concurrency["pools"]["defaultLimit"] > 0
    assert concurrency["runs"]["maxConcurrentRuns"] > concurrency["pools"]["defaultLimit"]
    # The chart template fails (and Dagster refuses the instance) if run limits are set twice.
    queued = coordinator["config"]["queuedRunCoordinator"]
    assert not {"maxConcurrentRuns", "tagConcurrencyLimits", "blockOpConcurrencyLimitedRuns"} & set(queued)
    gpu = _find("ResourceQuota", "blockanalytix-gpu")["spec"]["hard"]["requests.nvidia.com/gpu"]
    gpu_limit = [t for t in concurrency["runs"]["tagConcurrencyLimits"] if t["key"] == "blockanalytix/gpu"]
    assert gpu_limit and gpu_limit[0]["limit"] == int(gpu)
    assert VALUES["generatePostgresqlPasswordSecret"] is False
    assert VALUES["global"]["postgresqlSecretName"] == "dagster-postgresql-secret"
    (deployment,) = VALUES["dagster-user-deployments"]["deployments"]
    assert deployment["codeServerArgs"] == ["-m", "blockanalytix_assets.definitions"]
    assert {"name": "blockanalytix-secrets"} in deployment["envSecrets"]
    assert {"name": "blockanalytix-config"} in deployment["envConfigMaps"]
    assert deployment["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"name": "tmp", "mountPath": "/tmp"} in deployment["volumeMounts"]
    for pod in (VALUES["dagsterWebserver"], VALUES["dagsterDaemon"], deployment):
        assert pod["podSecurityContext"]["runAsNonRoot"] is True
    assert VALUES["runLauncher"]["config"]["k8sRunLauncher"]["securityContext"]["runAsNonRoot"] is True


SECRET_PATTERNS = [
    re.compile(r"AKIA[0-9A-Z]{16}"),  # AWS access key id
    re.compile(r"(?i)(infura\.io|alchemy\.com|quiknode\.pro)/\S*[0-9a-f]{16,}"),  # RPC URL with key
    re.compile(r"postgres(ql)?://[^:\s]+:(?!REPLACE)[^@\s]+@"),  # inline Postgres password
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
]


def test_no_secret_values_in_deployment_files() -> None:
    # demo.sh (the lead's local demo) may hold throwaway local credentials; the rest ships to clusters.
    files = [p for p in DEPLOY.rglob("*") if p.is_file() and p.name != "demo.sh"]
    assert len(files) >= 7
    for path in files:
        text = path.read_text()
        for pattern in SECRET_PATTERNS:
            assert not pattern.search(text), f"{path.relative_to(REPO)} matches {pattern.pattern}"


def _checkov() -> str | None:
    candidates = [os.environ.get("CHECKOV_BIN"), str(REPO / ".venv-checkov" / "bin" / "checkov")]
    found = [c for c in candidates if c and Path(c).is_file()]
    return found[0] if found else shutil.which("checkov")


def _skip_comment_ids() -> set[str]:
    text = "\n".join(p.read_text() for p in DEPLOY.rglob("*") if p.is_file())
    inline = re.findall(r"checkov:skip=(CKV\w+):\s*\S.{10,}", text)
    annotated = re.findall(r"checkov\.io/skip\d+:\s*\"?(CKV\w+)=\S.{10,}", text)
    return set(inline) | set(annotated)


def test_checkov_finds_nothing_unjustified() -> None:
    checkov = _checkov()
    if checkov is None:
        pytest.skip(CHECKOV_HINT)
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    proc = subprocess.run(
        [
            checkov,
            "-d",
            str(DEPLOY),
            "--framework",
            "kubernetes",
            "dockerfile",
            "secrets",
            "--output",
            "json",
            "--skip-download",
            "--compact",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    by_type = {r["check_type"]: r for r in reports if "results" in r}
    assert {"kubernetes", "dockerfile"} <= set(by_type), proc.stderr[-2000:]
    failed = [(t, c["check_id"], c["file_path"]) for t, r in by_type.items() for c in r["results"]["failed_checks"]]
    assert not failed, failed
    assert sum(r["summary"]["passed"] for r in by_type.values()) > 50
    justified = _skip_comment_ids()
    for report in by_type.values():
        for check in report["results"]["skipped_checks"]:
            assert check["check_id"] in justified, f"{check['check_id']} skipped without a justification"
