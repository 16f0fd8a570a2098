"""An address's queries start from the newest cover parts and answer exactly as from the whole profile."""

from __future__ import annotations

import pytest

from blockanalytix_assets.api.addresses import NO_POSITION, RECENT_RANGES, AddressLookup
from blockanalytix_assets.api.queries import Queries
from blockanalytix_assets.api.rows import decode_cursor
from blockanalytix_tests.api.dataset import build_dataset
from blockanalytix_tests.api.test_api_lookups import _busy_address


@pytest.fixture(scope="module")
def queries(tmp_path_factory):
    ds = build_dataset(str(tmp_path_factory.mktemp("api-pipeline")), ranges=60, txs_per_range=120, seed=5)
    q = Queries(ds.root, refresh_s=None)
    yield ds, q
    q.close()


def test_pipelined_answers_equal_the_whole_profile_s_on_every_page(queries, monkeypatch):
    ds, q = queries
    address = _busy_address(ds)
    lookup = AddressLookup(q.storage, q.engine, q.snap, q.points, q.pool, q.query_pool)
    profile, active = lookup.profile(address)
    assert len(active) > RECENT_RANGES  # else nothing could start early
    started: list[int] = []
    original = AddressLookup._dependents
    monkeypatch.setattr(
        AddressLookup,
        "_dependents",
        lambda self, a, act, *rest: started.append(len(act)) or original(self, a, act, *rest),
    )
    for limit in (5, 20):  # page edges fall at different places inside ranges (both failed a counting bug)
        position, pages = None, 0
        while True:
            got = lookup.answer(address, limit, position)
            txs, _ = lookup.transactions(address, active, limit, position or NO_POSITION)
            assert got["profile"] == profile and got["transactions"] == txs
            assert got["risk"] == lookup.risk(address, active)
            assert got["anomalous_transactions"] == lookup.anomalous(address, active)
            pages += 1
            if got["next_cursor"] is None:
                break
            position = decode_cursor(got["next_cursor"], 2)
        assert pages > 2
    assert min(started) < len(active)  # a page's queries started before the oldest parts were read
    assert started[-1] == len(active)  # the last page needs the oldest ranges: it waits for every part
