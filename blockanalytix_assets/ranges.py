"""Block-range partition keys: `{first:09d}-{last:09d}`, pure functions shared by every stage."""

import re
from dataclasses import dataclass

KEY_RE = re.compile(r"^(\d{9,})-(\d{9,})$")


class PartitionKeyError(ValueError):
    """A block-range partition key that is malformed or inconsistent with the range size."""


@dataclass(frozen=True, order=True)
class BlockRange:
    """An inclusive range of block numbers."""

    first: int
    last: int

    @property
    def key(self) -> str:
        return format_key(self.first, self.last)

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def blocks(self) -> range:
        return range(self.first, self.last + 1)


def format_key(first: int, last: int) -> str:
    """The partition key of blocks first..last inclusive."""
    return f"{first:09d}-{last:09d}"


def parse_key(key: str, range_size: int | None = None) -> BlockRange:
    """Parse and validate a partition key; with range_size, also check it is an aligned full range."""
    m = KEY_RE.match(key or "")
    if not m:
        raise PartitionKeyError(
            f"Partition key {key!r} is not a block range; expected FIRST-LAST with 9-digit zero-padded "
            f"block numbers, e.g. '000018000-000018999'. Run `blockanalytix ranges sync` and pick a key "
            f"from `blockanalytix ranges list`."
        )
    first, last = int(m.group(1)), int(m.group(2))
    if last < first:
        raise PartitionKeyError(f"Partition key {key!r}: last block {last} is before first block {first}.")
    if range_size is not None and (first % range_size != 0 or last - first + 1 != range_size):
        raise PartitionKeyError(
            f"Partition key {key!r} does not match BLOCKANALYTIX_RANGE_SIZE={range_size}: keys are "
            f"aligned ranges of {range_size} blocks, e.g. {format_key(0, range_size - 1)!r}."
        )
    return BlockRange(first, last)


def complete_ranges(head: int, confirmations: int, range_size: int, start_block: int = 0) -> list[BlockRange]:
    """Every aligned, full range whose last block is at or below head - confirmations."""
    if range_size <= 0:
        raise ValueError("range_size must be positive")
    safe = head - confirmations
    first = (start_block // range_size) * range_size
    out = []
    while first + range_size - 1 <= safe:
        out.append(BlockRange(first, first + range_size - 1))
        first += range_size
    return out


def previous_key(key: str) -> str | None:
    """The key of the range just before this one, or None for the first range."""
    r = parse_key(key)
    if r.first == 0:
        return None
    return format_key(r.first - r.size, r.first - 1)


def range_keys(first_key: str, last_key: str) -> list[str]:
    """Every key from first_key to last_key inclusive, in steps of first_key's range size."""
    a, b = parse_key(first_key), parse_key(last_key)
    return [format_key(f, f + a.size - 1) for f in range(a.first, b.first + 1, a.size)]


def consecutive_batches(keys: list[str], size: int) -> list[list[str]]:
    """Keys in block order cut into batches of at most size adjacent ranges (a gap starts a new batch)."""
    if size <= 0:
        raise ValueError("size must be positive")
    batches: list[list[str]] = []
    for key in sorted(keys, key=parse_key):
        last = batches[-1][-1] if batches else None
        if last is not None and len(batches[-1]) < size and parse_key(last).last + 1 == parse_key(key).first:
            batches[-1].append(key)
        else:
            batches.append([key])
    return batches
