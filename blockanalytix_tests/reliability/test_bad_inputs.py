"""Bad inputs end in a clear error that says what to fix, and leave the stored data byte-for-byte unchanged."""

from __future__ import annotations

import io
import shutil

import dagster as dg
import pyarrow.parquet as pq
import pytest

from blockanalytix_assets.ranges import format_key
from blockanalytix_assets.resources import PipelineSettings, StorageResource
from blockanalytix_assets.transform.assets import cleaned_transactions
from blockanalytix_tests.reliability.support import (
    TamperingNode,
    clean_ingest,
    error_text,
    ingest,
    keys_of,
    resources,
    snapshot,
)

RANGE = 10
KEYS = keys_of(0, 2, RANGE)


@pytest.fixture(scope="module")
def stored(replay_rpc, tmp_path_factory):
    """A storage folder already holding two ingested ranges (of the recorded devnet)."""
    root = tmp_path_factory.mktemp("stored")
    clean_ingest(replay_rpc.resource(), str(root), KEYS)
    return root


def _fails_without_change(root, run, *expected: str) -> str:
    before = snapshot(root)
    result = run()
    assert not result.success
    message = error_text(result)
    for text in expected:
        assert text in message, message[:2000]
    assert snapshot(root) == before
    return message


def _ingest_fails(root, key: str, res: dict, *expected: str) -> str:
    """Ingest key (no step retries) into root: it must fail, mention expected, and change nothing."""
    return _fails_without_change(
        root, lambda: ingest([key], dg.DagsterInstance.ephemeral(), res, retries=False), *expected
    )


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("18000000", "FIRST-LAST"),
        (format_key(20, 9), "is before first block"),
        (format_key(5, 14), f"BLOCKANALYTIX_RANGE_SIZE={RANGE}"),
        ("000000020-000000029; rm -rf /", "FIRST-LAST"),
    ],
)
def test_malformed_partition_keys(replay_rpc, stored, key, expected):
    res = resources(replay_rpc.resource(), str(stored), RANGE)
    _ingest_fails(stored, key, res, expected)


def test_range_beyond_the_head(replay_rpc, stored):
    key = format_key(1_000_000, 1_000_009)
    res = resources(replay_rpc.resource(), str(stored), RANGE)
    msg = _ingest_fails(stored, key, res, "beyond the head", "its head is")
    assert "BLOCKANALYTIX_CONFIRMATIONS" in msg


def test_wrong_chain_id(replay_rpc, stored):
    res = resources(replay_rpc.resource(chain_id=1), str(stored), RANGE)
    _ingest_fails(stored, KEYS[0], res, "serves chain id 31337", "BLOCKANALYTIX_CHAIN_ID=31337")


def _drop_parent_hash(method: str, result: object) -> object:
    if method == "eth_getBlockByNumber" and isinstance(result, dict) and result.get("number") == hex(15):
        return {k: v for k, v in result.items() if k != "parentHash"}
    return result


def test_node_returning_blocks_without_a_field(devnet, stored):
    with TamperingNode(devnet.url, _drop_parent_hash) as node:
        res = resources(node.url, str(stored), RANGE, max_retries=1)
        msg = _ingest_fails(stored, KEYS[1], res, "parentHash")
        assert node.edited >= 1
    assert "block 0xf" in msg, msg[:2000]  # which record is bad, not just a KeyError


def _truncate(data: bytes, table) -> bytes:
    return data[: len(data) // 2]


def _flip_bytes(data: bytes, table) -> bytes:
    """The first 16-byte flip after the header that plain pyarrow reads back as different rows, silently."""
    for off in range(len(data) // 4, len(data) - 16, 97):
        bad = data[:off] + bytes(b ^ 0xFF for b in data[off : off + 16]) + data[off + 16 :]
        try:
            if not pq.read_table(io.BytesIO(bad)).equals(table):
                return bad
        except Exception:  # a detected corruption: look for a silent one
            continue
    raise AssertionError("no silent corruption found")


@pytest.mark.parametrize(
    "corrupt",
    [
        _truncate,
        _flip_bytes,
    ],
    ids=["truncated", "bit_flips"],
)
def test_corrupt_upstream_parquet_is_detected_not_propagated(stored, tmp_path, corrupt):
    root = tmp_path / "storage"
    shutil.copytree(stored, root)
    path = root / "raw_transactions" / f"{KEYS[0]}.parquet"
    path.write_bytes(corrupt(path.read_bytes(), pq.read_table(path)))
    res = {"storage": StorageResource(root=str(root)),
           "settings": PipelineSettings(range_size=RANGE, confirmations=0, home=str(root))}  # fmt: skip
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("block_ranges", [KEYS[0]])

    def run() -> dg.ExecuteInProcessResult:
        return dg.materialize(
            [cleaned_transactions], partition_key=KEYS[0], instance=instance, resources=res,
            raise_on_error=False,
        )  # fmt: skip

    _fails_without_change(root, run, str(path), "re-materialise raw_transactions", KEYS[0])
    assert not (root / "cleaned_transactions").exists() and not (root / "quarantined_transactions").exists()


@pytest.fixture
def tracking(mlflow_server):
    """The MLflow server set as the process's tracking URI (as ml.tracking does), restored afterwards."""
    import mlflow

    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(mlflow_server)
    yield mlflow_server
    mlflow.set_tracking_uri(previous)


def test_invalid_model_uri(tracking):
    from mlflow.tracking import MlflowClient

    from blockanalytix_assets.ml import registry

    client = MlflowClient(tracking_uri=tracking, registry_uri=tracking)
    before = [m.name for m in client.search_registered_models()]
    with pytest.raises(registry.NoChampionError, match=r"no champion for nope: materialise anomaly_classifier"):
        registry.load_champion("nope", "anomaly_classifier")
    assert registry.champion_version("nope") is None
    assert [m.name for m in client.search_registered_models()] == before
