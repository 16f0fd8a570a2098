"""The committed RPC recording is what the devnet answers today, so replayed tests test the real chain."""

import gzip

from blockanalytix_tests.plugins.replay import RECORDING
from blockanalytix_tests.record_rpc import record


def test_the_recording_matches_the_live_devnet(devnet):
    live = record(devnet.url).splitlines()
    stored = gzip.decompress(RECORDING.read_bytes()).splitlines()
    differ = [i for i, (a, b) in enumerate(zip(live, stored, strict=False)) if a != b]
    assert len(live) == len(stored) and not differ, (
        f"{RECORDING.name} line {differ[:1]} is not what the devnet answers: re-record it with `make record-rpc`"
    )
