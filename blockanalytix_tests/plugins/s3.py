"""Pytest fixtures: an S3 endpoint served by moto's standalone server, with a bucket and fake credentials.

moto stands in for S3 because no S3 server (MinIO, Ceph, LocalStack) installs here; `moto_server` speaks the
real S3 REST protocol over HTTP, so pyarrow's S3FileSystem and boto3 talk to it exactly as they would to AWS.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from blockanalytix_tests.plugins.integration import starts_processes
from blockanalytix_tests.plugins.processes import stop_group, wait_http

STARTUP_TIMEOUT_S = 60
BUCKET = "blockanalytix-test"
REGION = "us-east-1"
# moto enforces IAM authentication after this many requests: the fixture's setup calls (create the IAM user,
# its policy and its access key) run unauthenticated, every later request must be signed with that key.
SETUP_CALLS = 3
S3_POLICY = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}'


@dataclass(frozen=True)
class S3Server:
    """A running moto S3 server: endpoint URL, bucket and the credentials it accepts."""

    endpoint_url: str
    bucket: str
    credentials: dict[str, str]

    def client(self):  # noqa: ANN201 (boto3 client types are generated at run time)
        """A boto3 S3 client for this server."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.credentials["AWS_SECRET_ACCESS_KEY"],
            region_name=self.credentials["AWS_REGION"],
        )

    def get_bytes(self, key: str) -> bytes:
        """The bytes of one object in the bucket."""
        return self.client().get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def list_keys(self, prefix: str) -> list[str]:
        """Every object key under a prefix, sorted."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _moto_command(port: int) -> list[str]:
    exe = Path(sys.executable).with_name("moto_server")
    base = [str(exe)] if exe.exists() else [sys.executable, "-m", "moto.server"]
    return [*base, "-H", "127.0.0.1", "-p", str(port)]


def start_moto_server(workdir: Path) -> tuple[subprocess.Popen, str]:
    """Start `moto_server` in its own process group; returns (process, endpoint URL) once it answers."""
    port = _free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    log = open(workdir / "moto-server.log", "wb")  # noqa: SIM115 - kept open for the server's lifetime
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(SETUP_CALLS)}
    proc = subprocess.Popen(_moto_command(port), stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    wait_http(proc, f"{url}/moto-api/", STARTUP_TIMEOUT_S, "moto_server", workdir / "moto-server.log", 0.3)
    return proc, url


def stop_moto_server(proc: subprocess.Popen) -> None:
    """Stop the server's process group."""
    stop_group(proc, 10)


def _create_credentials(url: str) -> dict[str, str]:
    """An IAM user allowed s3:* and its fresh (fake, moto-issued) access key, as AWS_* env vars."""
    import boto3

    iam = boto3.client(
        "iam", endpoint_url=url, region_name=REGION, aws_access_key_id="setup", aws_secret_access_key="setup"
    )
    iam.create_user(UserName="blockanalytix")
    iam.put_user_policy(UserName="blockanalytix", PolicyName="s3", PolicyDocument=S3_POLICY)
    key = iam.create_access_key(UserName="blockanalytix")["AccessKey"]
    return {
        "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@pytest.fixture(scope="session")
@starts_processes
def moto_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A moto S3 server enforcing IAM auth, with one empty bucket and a key for it; stopped afterwards."""
    proc, url = start_moto_server(tmp_path_factory.mktemp("moto"))
    try:
        server = S3Server(url, BUCKET, _create_credentials(url))
        server.client().create_bucket(Bucket=BUCKET)
        yield server
    finally:
        stop_moto_server(proc)


@dataclass(frozen=True)
class S3Root:
    """A fresh s3://bucket/prefix for one test, on the moto server."""

    server: S3Server
    prefix: str

    @property
    def uri(self) -> str:
        return f"s3://{self.server.bucket}/{self.prefix}"

    @property
    def endpoint_url(self) -> str:
        return self.server.endpoint_url


@pytest.fixture
def s3_root(moto_s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Root:
    """A unique prefix in the moto bucket, with the access key exported as AWS_* env vars."""
    for name, value in moto_s3.credentials.items():
        monkeypatch.setenv(name, value)
    return S3Root(moto_s3, f"t-{uuid.uuid4().hex[:12]}")
