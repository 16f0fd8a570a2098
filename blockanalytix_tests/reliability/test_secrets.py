"""An RPC URL with an API key and S3 credentials never show up in logs, events, metadata or stored files."""

from __future__ import annotations

import logging
from pathlib import Path

import dagster as dg
import pytest
from dagster._serdes import serialize_value

from blockanalytix_assets.resources import RpcResource, local_resources
from blockanalytix_tests.faultproxy import FaultProxy
from blockanalytix_tests.plugins.mlflow_server import free_port
from blockanalytix_tests.reliability.support import CHECKS, error_text, ingest, keys_of, record

API_KEY = "SECRETKEY0123456789abcdef"
QUERY_KEY = "qsecretQ0123456789zyxw"
AWS_KEY_ID = "AKIARELIABILITY0TEST"
AWS_SECRET = "reliabilityS3cretAccessKey/0123456789+ABCD"
SECRETS = (API_KEY, QUERY_KEY, AWS_KEY_ID, AWS_SECRET)
RANGE = 10
KEYS = keys_of(40, 2, RANGE)


def leaks(text: str | bytes) -> list[str]:
    """The secrets found in text."""
    data = text.encode() if isinstance(text, str) else text
    return [s for s in SECRETS if s.encode() in data]


def _files(*roots: Path) -> dict[str, list[str]]:
    return {str(p): found for r in roots for p in r.rglob("*") if p.is_file() and (found := leaks(p.read_bytes()))}


def _events(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult) -> list[str]:
    """Every event record, the run record and the materialisation metadata of a run, serialised."""
    texts = [serialize_value(e) for e in instance.all_logs(result.run_id)]
    texts.append(serialize_value(instance.get_run_by_id(result.run_id)))
    for m in result.get_asset_materialization_events():
        texts += [f"{k}={v.value}" for k, v in m.materialization.metadata.items()]
    return texts


@pytest.fixture
def env(tmp_path, monkeypatch):
    """BLOCKANALYTIX_* env of a local deployment plus S3 credentials; DAGSTER_HOME in tmp_path."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    for k, v in {
        "DAGSTER_HOME": str(home),
        "BLOCKANALYTIX_STORAGE": str(tmp_path / "storage"),
        "BLOCKANALYTIX_HOME": str(tmp_path / "home"),
        "BLOCKANALYTIX_RANGE_SIZE": str(RANGE),
        "BLOCKANALYTIX_CONFIRMATIONS": "0",
        "BLOCKANALYTIX_CHAIN_ID": "31337",
        "AWS_ACCESS_KEY_ID": AWS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
    }.items():
        monkeypatch.setenv(k, v)
    return tmp_path


def test_leak_detector_finds_a_planted_secret(tmp_path):
    (tmp_path / "x.log").write_bytes(b"prefix " + AWS_SECRET.encode() + b" suffix")
    assert _files(tmp_path) == {str(tmp_path / "x.log"): [AWS_SECRET]}


def test_no_secret_in_logs_events_metadata_or_files(devnet, env, monkeypatch, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    # Faults make the client retry and log warnings (with the URL) before each success.
    script = ["429", None, "500", "truncate", None, "drop", None, "garbage"]
    with FaultProxy(devnet.url, script=script, retry_after=0.1) as proxy:
        monkeypatch.setenv("BLOCKANALYTIX_RPC_URL", f"{proxy.url}/v3/{API_KEY}?apikey={QUERY_KEY}")
        with dg.DagsterInstance.get() as instance:
            ok = ingest(KEYS[:1], instance, local_resources(), checks=True)
            ok_range = ingest(KEYS, instance, local_resources())
            monkeypatch.setenv("BLOCKANALYTIX_CHAIN_ID", "1")
            wrong_chain = ingest(KEYS[:1], instance, local_resources(), retries=False)
            closed = f"http://user:{QUERY_KEY}@127.0.0.1:{free_port()}/v3/{API_KEY}"
            monkeypatch.setenv("BLOCKANALYTIX_RPC_URL", closed)
            res = {**local_resources(), "rpc": RpcResource(url=dg.EnvVar("BLOCKANALYTIX_RPC_URL"), chain_id=1,
                                                           max_retries=1)}  # fmt: skip
            unreachable = ingest(KEYS[:1], instance, res, retries=False)
            events = [t for r in (ok, ok_range, wrong_chain, unreachable) for t in _events(instance, r)]
    assert ok.success and ok_range.success and not wrong_chain.success and not unreachable.success
    assert len(ok.get_asset_check_evaluations()) == len(CHECKS)  # every raw-table check ran once, for the range
    assert sum(proxy.injected.values()) == len([f for f in script if f]) and proxy.forwarded > 0
    errors = error_text(wrong_chain) + error_text(unreachable)
    assert "serves chain id 31337" in errors and "Nothing answers there" in errors
    assert "/v3/***" in errors and "/v3/***" in caplog.text  # retry warnings name the URL, redacted
    out, err = capfd.readouterr()
    assert "retry" in caplog.text and ok.run_id in err
    found = {
        "captured logging": leaks(caplog.text),
        "stdout/stderr": leaks(out + err),
        "step errors": leaks(errors),
        "event log, run records, metadata": sorted({s for t in events for s in leaks(t)}),
        "files under DAGSTER_HOME and storage": _files(env / "dagster_home", env / "storage"),
    }
    scanned = {
        "log_bytes": len(caplog.text) + len(out) + len(err),
        "events": len(events),
        "files": sum(1 for r in ("dagster_home", "storage") for p in (env / r).rglob("*") if p.is_file()),
    }
    record("secrets", {"scanned": scanned, "leaks": found})
    print(f"\nsecrets: scanned {scanned}; leaks {found}")
    assert not any(found.values()), found
