"""Atomic, deterministic Parquet storage."""

import os

import pyarrow as pa
import pytest

from blockanalytix_assets.storage import CorruptTableError, Storage


def _table(n: int = 100) -> pa.Table:
    return pa.table({"number": pa.array(range(n), pa.int64()), "hash": [f"0x{i:064x}" for i in range(n)]})


def test_write_read_and_identical_bytes(tmp_path):
    s = Storage(str(tmp_path))
    p1 = s.write("raw_blocks", "000000000-000000099", _table())
    b1 = (tmp_path / "raw_blocks" / "000000000-000000099.parquet").read_bytes()
    s.write("raw_blocks", "000000000-000000099", _table())
    b2 = (tmp_path / "raw_blocks" / "000000000-000000099.parquet").read_bytes()
    assert b1 == b2
    assert p1.endswith("raw_blocks/000000000-000000099.parquet")
    assert s.read("raw_blocks", "000000000-000000099").equals(_table())
    assert s.keys("raw_blocks") == ["000000000-000000099"]
    assert not [f for f in os.listdir(tmp_path / "raw_blocks") if f.endswith(".tmp")]


def test_missing_and_corrupt_files_say_how_to_fix(tmp_path):
    s = Storage(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="materialise raw_blocks"):
        s.read("raw_blocks", "000000000-000000099")
    (tmp_path / "raw_blocks").mkdir()
    (tmp_path / "raw_blocks" / "000000000-000000099.parquet").write_bytes(b"PAR1garbage")
    with pytest.raises(CorruptTableError, match="re-materialise raw_blocks"):
        s.read("raw_blocks", "000000000-000000099")


def test_failed_write_leaves_previous_file(tmp_path, monkeypatch):
    s = Storage(str(tmp_path))
    s.write("raw_blocks", "k", _table())
    before = (tmp_path / "raw_blocks" / "k.parquet").read_bytes()
    import pyarrow.parquet as pq

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", boom)
    with pytest.raises(OSError):
        s.write("raw_blocks", "k", _table(5))
    assert (tmp_path / "raw_blocks" / "k.parquet").read_bytes() == before
    assert os.listdir(tmp_path / "raw_blocks") == ["k.parquet"]
