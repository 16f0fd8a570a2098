"""Run-tree planning, pure: which nodes the present leaves imply, which stored nodes are still valid, the cover.

A level-k node i covers range indexes [i*F^k, (i+1)*F^k); leaves are level 0, keyed by their range key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache

from blockanalytix_assets.ranges import format_key, parse_key

Item = tuple[str, str, str]  # (token, first_key, last_key) of a leaf or node
Cover = tuple[int, int, str, str]  # (level, index, first_key, last_key) of a cover entry


@lru_cache(maxsize=1 << 16)
def range_index(key: str) -> int:
    """The index of an aligned, fixed-size range key."""
    r = parse_key(key)
    return r.first // r.size


def node_name(level: int, index: int) -> str:
    return f"L{level}/{index:09d}"


def node_token(children: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(children).encode()).hexdigest()


def plan_nodes(leaves: dict[str, str], fanout: int) -> dict[str, dict]:
    """The complete nodes (manifest entries without rows) implied by present leaves {key: token}."""
    level_items: dict[int, Item] = {}
    for key, token in leaves.items():
        i = range_index(key)
        if i in level_items:
            raise ValueError(f"Leaves {level_items[i][1]} and {key} have the same range index {i}: mixed range sizes.")
        level_items[i] = (token, key, key)
    nodes: dict[str, dict] = {}
    level = 1
    while True:
        counts: dict[int, int] = {}
        for i in level_items:
            counts[i // fanout] = counts.get(i // fanout, 0) + 1
        parents = sorted(p for p, n in counts.items() if n == fanout)
        if not parents:
            return nodes
        built: dict[int, Item] = {}
        for p in parents:
            entry = _entry(level, p, [level_items[p * fanout + j] for j in range(fanout)])
            nodes[node_name(level, p)] = entry
            built[p] = (entry["token"], entry["first_key"], entry["last_key"])
        level_items, level = built, level + 1


def _entry(level: int, index: int, kids: list[Item]) -> dict:
    tokens = [k[0] for k in kids]
    return {"level": level, "index": index, "first_key": kids[0][1], "last_key": kids[-1][2], "children": tokens,
            "token": node_token(tokens)}  # fmt: skip


def replan(nodes: dict[str, dict], leaves: dict[str, str], changed: set[str], fanout: int) -> dict[str, dict]:
    """plan_nodes(leaves) when `nodes` was the plan before the leaves in `changed` (keys) were added, rewritten
    or removed: only their ancestors are re-planned (O(changed x levels)), other entries are kept as they are.
    """
    if not changed:
        return dict(nodes)
    sample = next(iter(leaves), None)  # one present leaf: every leaf of a consistent plan has its size
    sizes = {parse_key(k).size for k in changed} | ({parse_key(sample).size} if sample else set())
    if len(sizes) > 1:
        raise ValueError(f"Leaves {sorted(changed)[:3]} and the present ones have mixed range sizes {sorted(sizes)}.")
    size, out = sizes.pop(), dict(nodes)

    def leaf(i: int) -> Item | None:
        key = format_key(i * size, (i + 1) * size - 1)
        return (leaves[key], key, key) if key in leaves else None

    def node(level: int, i: int) -> Item | None:
        e = out.get(node_name(level, i))
        return (e["token"], e["first_key"], e["last_key"]) if e is not None else None

    frontier, level = {range_index(k) for k in changed}, 1
    while frontier:
        parents, alive = {i // fanout for i in frontier}, set()
        for p in sorted(parents):
            kids = [leaf(i) if level == 1 else node(level - 1, i) for i in range(p * fanout, (p + 1) * fanout)]
            name = node_name(level, p)
            if all(k is not None for k in kids):
                out[name] = _entry(level, p, kids)  # type: ignore[arg-type]
                alive.add(p)
            elif out.pop(name, None) is not None:
                alive.add(p)  # removed: its ancestors go too
        frontier, level = alive, level + 1
    return out


def valid_nodes(manifest: dict, leaves: dict[str, str]) -> dict[str, dict]:
    """Manifest nodes whose children still carry the tokens they were built from (leaves from a fresh listing)."""
    fanout = manifest.get("fanout", 0)
    leaf_tokens = {range_index(k): t for k, t in leaves.items()}
    by_level: dict[int, list[dict]] = {}
    for entry in manifest.get("nodes", {}).values():
        by_level.setdefault(entry["level"], []).append(entry)
    valid: dict[str, dict] = {}
    current = leaf_tokens
    for level in sorted(by_level):
        nxt = {}
        for e in by_level[level]:
            kids = [current.get(e["index"] * fanout + j) for j in range(fanout)]
            if kids == e["children"]:
                valid[node_name(level, e["index"])] = e
                nxt[e["index"]] = e["token"]
        current = nxt
    return valid


def compute_cover(manifest: dict, leaves: dict[str, str], upto_key: str | None = None) -> list[Cover]:
    """(level, index, first_key, last_key) of the cover: maximal valid nodes plus loose leaves, in range order."""
    fanout = manifest.get("fanout", 0)
    valid = valid_nodes(manifest, leaves) if fanout else {}
    upto = range_index(upto_key) if upto_key is not None else None
    leaf_by_index = {range_index(k): k for k in leaves}
    out: list[Cover] = []

    def emit(level: int, index: int) -> None:
        lo, hi = index * fanout**level, (index + 1) * fanout**level - 1
        if upto is not None and lo > upto:
            return
        if level == 0:
            out.append((0, index, leaf_by_index[index], leaf_by_index[index]))
        elif upto is None or hi <= upto:
            e = valid[node_name(level, index)]
            out.append((level, index, e["first_key"], e["last_key"]))
        else:
            for j in range(fanout):
                emit(level - 1, index * fanout + j)

    covered: set[int] = set()
    tops = [e for e in valid.values() if node_name(e["level"] + 1, e["index"] // fanout) not in valid]
    for e in tops:
        emit(e["level"], e["index"])
        covered.update(range(e["index"] * fanout ** e["level"], (e["index"] + 1) * fanout ** e["level"]))
    for i in leaf_by_index:
        if i not in covered:
            emit(0, i)
    return sorted(out, key=lambda p: (range_index(p[2]), -p[0]))


class LeafKeys(dict):
    """index -> leaf key, computed on demand from the present leaves (a lookup never scans them all)."""

    def __init__(self, leaves: dict[str, str]):
        super().__init__()
        sample = next(iter(leaves), None)
        self._size = parse_key(sample).size if sample else 1

    def __missing__(self, index: int) -> str:
        return format_key(index * self._size, (index + 1) * self._size - 1)
