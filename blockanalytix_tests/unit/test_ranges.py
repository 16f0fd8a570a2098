"""Block-range keys: formatting, validation, complete ranges below the head."""

import pytest

from blockanalytix_assets.operations.repair import keys_for_blocks, ranges_to_repair
from blockanalytix_assets.ranges import (
    BlockRange,
    PartitionKeyError,
    complete_ranges,
    consecutive_batches,
    format_key,
    parse_key,
    previous_key,
)


def test_format_and_parse_round_trip():
    key = format_key(18_000_000, 18_000_999)
    assert key == "018000000-018000999"
    assert parse_key(key, 1000) == BlockRange(18_000_000, 18_000_999)
    assert parse_key(key).size == 1000


@pytest.mark.parametrize(
    "bad", ["", "18000000-18000999", "000000100-000000099", "abc", "000000000_000000099", "000000000-000000099x"]
)
def test_malformed_keys_say_what_is_expected(bad):
    with pytest.raises(PartitionKeyError, match="FIRST-LAST|before first"):
        parse_key(bad)


def test_key_must_match_range_size():
    with pytest.raises(PartitionKeyError, match="BLOCKANALYTIX_RANGE_SIZE=1000"):
        parse_key("000000000-000000099", 1000)
    with pytest.raises(PartitionKeyError, match="aligned"):
        parse_key("000000050-000000149", 100)


def test_complete_ranges_respect_confirmations():
    assert [r.key for r in complete_ranges(head=299, confirmations=0, range_size=100)] == [
        "000000000-000000099",
        "000000100-000000199",
        "000000200-000000299",
    ]
    # 64 confirmations hold back the range whose last block is within 64 of the head
    assert len(complete_ranges(head=299, confirmations=64, range_size=100)) == 2
    assert complete_ranges(head=98, confirmations=0, range_size=100) == []
    assert [r.first for r in complete_ranges(head=450, confirmations=0, range_size=100, start_block=250)] == [
        200,
        300,
    ]


def test_previous_key():
    assert previous_key("000000100-000000199") == "000000000-000000099"
    assert previous_key("000000000-000000099") is None


def test_consecutive_batches_cut_at_the_size_and_at_gaps():
    keys = [format_key(f, f + 99) for f in (500, 0, 100, 200, 300, 700, 800)]  # unsorted; 400 and 600 missing
    assert consecutive_batches(keys, 2) == [
        [format_key(0, 99), format_key(100, 199)],
        [format_key(200, 299), format_key(300, 399)],
        [format_key(500, 599)],
        [format_key(700, 799), format_key(800, 899)],
    ]
    assert consecutive_batches(keys, 1) == [[k] for k in sorted(keys)]
    assert consecutive_batches([], 10) == []
    with pytest.raises(ValueError):
        consecutive_batches(keys, 0)


def test_keys_for_blocks_cover_the_span():
    assert keys_for_blocks(150, 320, 100) == ["000000100-000000199", "000000200-000000299", "000000300-000000399"]
    with pytest.raises(ValueError):
        keys_for_blocks(10, 5, 100)


def test_ranges_to_repair_finds_missing_and_failed_checks():
    registered = ["000000000-000000099", "000000100-000000199", "000000200-000000299"]
    materialized = {"raw_blocks": set(registered), "raw_transactions": set(registered[:2])}
    failed = {"raw_blocks:raw_blocks_canonical": {"000000000-000000099"}}
    assert ranges_to_repair(registered, materialized, failed) == ["000000000-000000099", "000000200-000000299"]
    assert ranges_to_repair(registered, {"raw_blocks": set(registered)}, {}) == []
