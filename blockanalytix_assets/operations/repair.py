"""Which block ranges need a (re)run: missing, failed, or with a failed check (plain Python)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def ranges_to_repair(
    registered: Iterable[str],
    materialized: Mapping[str, set[str]],
    failed_checks: Mapping[str, set[str]],
) -> list[str]:
    """Registered keys missing from any asset, or failing any check, in key (block) order."""
    keys = sorted(set(registered))
    broken = set()
    for key in keys:
        if any(key not in done for done in materialized.values()):
            broken.add(key)
        if any(key in bad for bad in failed_checks.values()):
            broken.add(key)
    return [k for k in keys if k in broken]


def keys_for_blocks(from_block: int, to_block: int, range_size: int) -> list[str]:
    """The aligned range keys covering blocks from_block..to_block inclusive."""
    from blockanalytix_assets.ranges import format_key

    if from_block < 0 or to_block < from_block:
        raise ValueError(f"--from-block {from_block} / --to-block {to_block}: need 0 <= from <= to")
    first = (from_block // range_size) * range_size
    keys = []
    while first <= to_block:
        keys.append(format_key(first, first + range_size - 1))
        first += range_size
    return keys
