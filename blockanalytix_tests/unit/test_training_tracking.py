"""Tracking helpers never leak credentials and tag the git commit."""

from __future__ import annotations

import re

from blockanalytix_assets.ingest.redact import redact_url
from blockanalytix_assets.ml.tracking import experiment_url, git_commit, run_url, standard_tags


def test_tracking_urls_hide_credentials_and_query():
    # The one redaction rule of ingest/redact.py, which the RPC client uses too.
    assert redact_url("https://user:s3cret@mlflow.example.com:8443/base?token=abc") == (
        "https://***@mlflow.example.com:8443/base?***"
    )
    assert redact_url("sqlite:///tmp/mlflow.db") == "sqlite:///tmp/mlflow.db"
    assert run_url("http://127.0.0.1:5000", "3", "abc") == "http://127.0.0.1:5000/#/experiments/3/runs/abc"
    url = run_url("https://u:s3cret@host/", "3", "abc")
    assert url == "https://***@host/#/experiments/3/runs/abc" and "s3cret" not in url
    assert run_url("sqlite:///tmp/mlflow.db", "1", "x") is None
    # MLflow 3.17 opens experiments in GenAI mode unless the link asks for model training.
    assert experiment_url("https://host/", "3") == "https://host/#/experiments/3/runs?workflowType=machine_learning"
    assert experiment_url("sqlite:///tmp/mlflow.db", "1") is None


def test_standard_tags(monkeypatch):
    monkeypatch.setenv("BLOCKANALYTIX_RPC_URL", "https://mainnet.example/v3/SECRETKEY")
    tags = standard_tags("anomaly_classifier", "1", ["000000000-000000999", "000001000-000001999"])
    assert tags["feature_spec_version"] == "1" and tags["partition_span"].startswith("000000000-000000999..")
    assert not any("SECRETKEY" in v for v in tags.values())
    commit = git_commit()
    assert commit == "unknown" or re.fullmatch(r"[0-9a-f]{40}", commit)
    monkeypatch.setenv("BLOCKANALYTIX_GIT_COMMIT", "abc123")
    assert git_commit() == "abc123"
