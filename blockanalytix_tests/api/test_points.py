"""PointReader: rows equal to a key in sorted files, one row group read, footers cached by token and bounded."""

import pyarrow as pa

from blockanalytix_assets.api.points import PointReader
from blockanalytix_assets.storage import Storage


def _table(keys: list[str], tag: int) -> pa.Table:
    return pa.table({"address": sorted(keys), "tag": [tag] * len(keys)})


def test_finds_every_row_of_a_key_and_none_for_absent(tmp_path):
    store = Storage(str(tmp_path))
    keys = [f"0x{i:040x}" for i in range(0, 5000, 2)]
    path = store.path("t", "a")
    store.write("t", "a", _table(keys + [keys[7]], 1), row_group_size=256)
    reader = PointReader(store)
    hit = reader.lookup(path, "v1", "address", keys[7])
    assert hit is not None and hit.column("address").to_pylist() == [keys[7], keys[7]]
    assert reader.lookup(path, "v1", "address", f"0x{3:040x}") is None  # inside the bounds, absent
    assert reader.lookup(path, "v1", "address", "0xz") is None  # outside every row group


def test_a_new_token_rereads_the_footer_and_the_cache_is_bounded(tmp_path):
    store = Storage(str(tmp_path))
    path = store.path("t", "a")
    store.write("t", "a", _table(["0x01", "0x02"], 1))
    reader = PointReader(store, max_bytes=1)
    assert reader.lookup(path, "v1", "address", "0x02").column("tag").to_pylist() == [1]
    store.write("t", "a", _table(["0x02", "0x03", "0x04"], 2))  # rebuilt in place: new token
    assert reader.lookup(path, "v2", "address", "0x02").column("tag").to_pylist() == [2]
    assert len(reader._cache) == 1  # one entry stays even above max_bytes; older ones are dropped
