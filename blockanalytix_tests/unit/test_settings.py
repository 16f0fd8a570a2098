"""Settings is the one reader of the environment, and README's Configuration table lists what it reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from blockanalytix_assets.settings import DEFAULT_MLFLOW_TRACKING_URI, DEFAULT_RPC_URL, Settings

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "blockanalytix_assets"
ENV_READ = re.compile(r"os\.environ\.get\(|os\.environ\[|os\.getenv\(|\benviron\.get\(")


def _configuration_table() -> str:
    readme = (REPO / "README.md").read_text()
    return readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]


def test_only_settings_reads_the_environment():
    readers = {
        str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if ENV_READ.search(p.read_text(encoding="utf-8"))
    }
    assert readers == {"settings.py"}


def test_readme_lists_every_variable_settings_reads():
    source = (PACKAGE / "settings.py").read_text()
    names = set(re.findall(r'_env\("([A-Z0-9_]+)"', source)) | set(re.findall(r'environ\.get\("([A-Z0-9_]+)"', source))
    assert {"BLOCKANALYTIX_RPC_URL", "BLOCKANALYTIX_RANGE_SIZE", "MLFLOW_TRACKING_URI", "AWS_ENDPOINT_URL"} <= names
    table = _configuration_table()
    assert {n for n in names if f"`{n}`" not in table} == set()


def test_defaults_when_nothing_is_set(monkeypatch: pytest.MonkeyPatch):
    for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", _configuration_table()):
        monkeypatch.delenv(name, raising=False)
    s = Settings.from_env()
    assert (s.rpc_url, s.chain_id, s.range_size, s.confirmations) == (DEFAULT_RPC_URL, 31337, 1000, 64)
    assert s.mlflow_tracking_uri is None and s.tracking_uri == DEFAULT_MLFLOW_TRACKING_URI
    assert (s.aws_endpoint_url, s.aws_region, s.anvil, s.git_commit, s.gpu_image) == (
        None,
        "us-east-1",
        None,
        None,
        None,
    )


def test_values_come_from_the_environment_and_secrets_stay_out_of_repr(monkeypatch: pytest.MonkeyPatch):
    env = {
        "MLFLOW_TRACKING_URI": "http://mlflow:5000",
        "AWS_ENDPOINT_URL": "http://minio:9000",
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "s3cret/value",
        "BLOCKANALYTIX_ANVIL": "/opt/anvil",
        "BLOCKANALYTIX_GIT_COMMIT": "abc123",
        "BLOCKANALYTIX_GPU_IMAGE": "registry/gpu:1",
        "BROWSER_PATH": "/usr/bin/chromium",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    s = Settings.from_env()
    assert s.tracking_uri == "http://mlflow:5000" and s.aws_endpoint_url == "http://minio:9000"
    assert (s.aws_region, s.anvil, s.git_commit, s.gpu_image) == ("eu-west-1", "/opt/anvil", "abc123", "registry/gpu:1")
    assert s.browser_path == "/usr/bin/chromium" and s.aws_secret_access_key == "s3cret/value"
    assert "s3cret" not in repr(s) and "AKIAEXAMPLE" not in repr(s)


def test_duckdb_secret_from_settings(monkeypatch: pytest.MonkeyPatch):
    from blockanalytix_assets.api.engine import s3_secret_sql

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "it's")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://minio:9000")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    sql = s3_secret_sql()
    assert "KEY_ID 'AKIAEXAMPLE'" in sql and "SECRET 'it''s'" in sql
    assert "ENDPOINT 'minio:9000'" in sql and "USE_SSL false" in sql and "SESSION_TOKEN" not in sql


def test_pipeline_knobs_parse_and_refuse_nonsense(monkeypatch: pytest.MonkeyPatch):
    for name in ("BLOCKANALYTIX_INGEST_RANGES_PER_RUN", "BLOCKANALYTIX_AUTOMATION_INTERVAL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("BLOCKANALYTIX_REPORT_PNG", raising=False)
    s = Settings.from_env()
    assert (s.ingest_ranges_per_run, s.automation_interval_s, s.report_png) == (1, 15, True)
    monkeypatch.setenv("BLOCKANALYTIX_INGEST_RANGES_PER_RUN", "10")
    monkeypatch.setenv("BLOCKANALYTIX_AUTOMATION_INTERVAL_SECONDS", "5")
    monkeypatch.setenv("BLOCKANALYTIX_REPORT_PNG", "0")
    s = Settings.from_env()
    assert (s.ingest_ranges_per_run, s.automation_interval_s, s.report_png) == (10, 5, False)
    monkeypatch.setenv("BLOCKANALYTIX_REPORT_PNG", "maybe")
    with pytest.raises(ValueError, match="BLOCKANALYTIX_REPORT_PNG='maybe' is not a boolean"):
        Settings.from_env()
    monkeypatch.setenv("BLOCKANALYTIX_REPORT_PNG", "1")
    monkeypatch.setenv("BLOCKANALYTIX_INGEST_RANGES_PER_RUN", "0")
    with pytest.raises(ValueError, match="BLOCKANALYTIX_INGEST_RANGES_PER_RUN must be positive, got 0"):
        Settings.from_env()
