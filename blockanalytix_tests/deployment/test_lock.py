"""uv.lock: the stack `make setup` and the image install, consistent with pyproject.toml, every pin used."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
LOCK = tomllib.loads((REPO / "uv.lock").read_text())
LOCKED = {p["name"]: p.get("version") for p in LOCK["package"]}
# Runtime dependencies no module imports: each is used by configuration, a CLI or another package.
USED_WITHOUT_IMPORT = {
    "dagster-webserver": "the UI (`dagster dev`, the Helm chart's webserver)",
    "dagster-postgres": "the production instance (deployment/dagster.prod.yaml)",
    "dagster-aws": "S3ComputeLogManager for step logs (deployment/helm/values.yaml)",
    "psycopg2-binary": "the Postgres driver of the instance and of MLflow's backend store",
    "sqlalchemy": "a version bound for Dagster's and MLflow's storage",
    "boto3": "MLflow's S3 artefact store (deployment/k8s/mlflow.yaml)",
    "tensorflow-cpu": "the default Keras backend",
    "duckdb-ext-httpfs": "DuckDB's httpfs extension, loaded from the wheel (api/engine.py)",
    "coincurve": "eth_keys' libsecp256k1 backend when importable (EIP-7702 authorities: ingest/authorization.py)",
}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_dagster_and_its_integrations_are_pinned_together() -> None:
    dagster = {n: v for n, v in LOCKED.items() if n.startswith("dagster")}
    core = {
        n: v for n, v in dagster.items() if n in ("dagster", "dagster-webserver", "dagster-graphql", "dagster-pipes")
    }
    integrations = {n: v for n, v in dagster.items() if n in ("dagster-aws", "dagster-k8s", "dagster-postgres")}
    assert set(core.values()) == {"1.13.27"} and len(core) == 4
    assert set(integrations.values()) == {"0.29.27"} and len(integrations) == 3
    assert {"dagster==1.13.27", "dagster-aws==0.29.27", "dagster-k8s==0.29.27"} <= set(
        PYPROJECT["project"]["dependencies"]
    )


def test_every_runtime_dependency_is_imported_or_says_where_it_is_used() -> None:
    imported: set[str] = set()
    for path in (REPO / "blockanalytix_assets").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    distributions = packages_distributions()
    used = {d.lower().replace("_", "-") for module in imported for d in distributions.get(module, [])}
    declared = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    assert declared - used == set(USED_WITHOUT_IMPORT)
    assert "web3" in declared and "web3" in LOCKED  # the user's package list: web3 is the contract layer


def test_the_image_export_has_the_runtime_stack_only() -> None:
    uv = Path(sys.executable).parent / "uv"
    out = subprocess.run(
        [str(uv), "export", "--frozen", "--no-emit-project", "--no-header"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    pins = dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==(\S+)", out, re.M))
    assert pins["dagster"] == "1.13.27" and pins["tensorflow-cpu"] == LOCKED["tensorflow-cpu"]
    assert not {"pytest", "mypy", "ruff", "jax", "moto"} & pins.keys()  # dev extras stay out of the image
    assert "--hash=sha256:" in out
