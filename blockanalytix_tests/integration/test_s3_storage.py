"""Storage and raw ingest on s3:// roots against a real S3 protocol server (moto), byte-compared with local."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest

from blockanalytix_assets.ingest.assets import raw_ingest
from blockanalytix_assets.ingest.extract import extract_range
from blockanalytix_assets.ingest.rpc import RpcClient
from blockanalytix_assets.ingest.tables import RAW_ASSETS, TRACE_ASSETS
from blockanalytix_assets.ranges import format_key
from blockanalytix_assets.resources import PipelineSettings, RpcResource, StorageResource
from blockanalytix_assets.storage import CorruptTableError, Storage

pytestmark = pytest.mark.integration

RANGE = 100
KEY = format_key(100, 199)


@pytest.fixture(scope="module")
def raw_tables(devnet) -> dict[str, pa.Table]:
    """The four raw tables of blocks 0..49 of the devnet, as the ingest produces them."""
    with RpcClient(devnet.url) as client:
        return extract_range(client, 0, 49)


def _object_key(root_prefix: str, asset: str, key: str) -> str:
    return f"{root_prefix}/{asset}/{key}.parquet"


def test_write_read_back_and_bytes_match_local(s3_root, raw_tables, tmp_path: Path) -> None:
    s3 = Storage(s3_root.uri, s3_endpoint_url=s3_root.endpoint_url)
    local = Storage(str(tmp_path))
    key = format_key(0, 49)
    for name, table in raw_tables.items():
        assert table.num_rows > 0, name
        location = s3.write(name, key, table)
        assert location == f"{s3_root.uri}/{name}/{key}.parquet"
        local.write(name, key, table)
        assert s3.exists(name, key)
        assert s3.read(name, key).equals(table), name
        s3_bytes = s3_root.server.get_bytes(_object_key(s3_root.prefix, name, key))
        assert s3_bytes[:4] == b"PAR1"
        assert s3_bytes == (tmp_path / name / f"{key}.parquet").read_bytes(), name
    # Column projection is pushed down to the S3 read as well.
    assert s3.read("raw_transactions", key, columns=["hash"]).column_names == ["hash"]


def test_keys_listing_and_missing_or_corrupt_objects(s3_root, raw_tables) -> None:
    s3 = Storage(s3_root.uri, s3_endpoint_url=s3_root.endpoint_url)
    assert s3.keys("raw_blocks") == []
    keys = [format_key(200, 299), format_key(0, 99), format_key(100, 199)]
    for key in keys:
        s3.write("raw_blocks", key, raw_tables["raw_blocks"])
    assert s3.keys("raw_blocks") == sorted(keys)
    assert s3.keys("raw_logs") == []
    listed = s3_root.server.list_keys(f"{s3_root.prefix}/raw_blocks/")
    assert [k.rsplit("/", 1)[1] for k in listed if k.endswith(".parquet")] == [f"{k}.parquet" for k in sorted(keys)]
    with pytest.raises(FileNotFoundError, match="materialise raw_logs"):
        s3.read("raw_logs", keys[0])
    s3_root.server.client().put_object(
        Bucket=s3_root.server.bucket, Key=_object_key(s3_root.prefix, "raw_logs", keys[0]), Body=b"PAR1garbage"
    )
    with pytest.raises(CorruptTableError, match="re-materialise raw_logs"):
        s3.read("raw_logs", keys[0])


def test_credentials_come_from_env(s3_root, raw_tables, monkeypatch: pytest.MonkeyPatch) -> None:
    s3 = Storage(s3_root.uri, s3_endpoint_url=s3_root.endpoint_url)
    s3.write("raw_blocks", KEY, raw_tables["raw_blocks"])
    # The server enforces IAM signatures: the same read with a wrong secret in the env is refused.
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    with pytest.raises(OSError, match="(?i)signature|denied|forbidden"):
        Storage(s3_root.uri, s3_endpoint_url=s3_root.endpoint_url).read("raw_blocks", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_root.server.credentials["AWS_SECRET_ACCESS_KEY"])
    assert Storage(s3_root.uri, s3_endpoint_url=s3_root.endpoint_url).read("raw_blocks", KEY).num_rows == 50


def _materialize(devnet, root: str, endpoint: str | None) -> dg.ExecuteInProcessResult:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("block_ranges", [KEY])
    return dg.materialize(
        [raw_ingest],
        partition_key=KEY,
        instance=instance,
        resources={
            "rpc": RpcResource(url=devnet.url, chain_id=devnet.chain_id),
            "storage": StorageResource(root=root, s3_endpoint_url=endpoint),
            "settings": PipelineSettings(range_size=RANGE, confirmations=0, home=root),
        },
    )


def test_raw_ingest_to_s3_matches_local_ingest_byte_for_byte(devnet, s3_root, tmp_path: Path) -> None:
    s3_result = _materialize(devnet, s3_root.uri, s3_root.endpoint_url)
    local_result = _materialize(devnet, str(tmp_path), None)
    assert s3_result.success and local_result.success
    paths = {
        m.asset_key.to_user_string(): m.materialization.metadata["path"].value
        for m in s3_result.get_asset_materialization_events()
    }
    written = (*RAW_ASSETS, *TRACE_ASSETS)  # anvil serves traces
    assert paths == {name: f"{s3_root.uri}/{name}/{KEY}.parquet" for name in written}
    objects = s3_root.server.list_keys(s3_root.prefix + "/")
    assert sorted(o for o in objects if o.endswith(".parquet")) == sorted(
        _object_key(s3_root.prefix, name, KEY) for name in written
    )
    for name in written:
        remote = s3_root.server.get_bytes(_object_key(s3_root.prefix, name, KEY))
        assert remote == (tmp_path / name / f"{KEY}.parquet").read_bytes(), name
    blocks = Storage(s3_root.uri, s3_endpoint_url=s3_root.endpoint_url).read("raw_blocks", KEY)
    assert blocks.column("number").to_pylist() == list(range(100, 200))
