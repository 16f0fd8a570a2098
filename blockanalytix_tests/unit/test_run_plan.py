"""Run-tree planning: re-planning only the changed leaves' ancestors gives exactly the full plan."""

from __future__ import annotations

import random

import pytest

from blockanalytix_assets.index.plan import plan_nodes, replan
from blockanalytix_assets.ranges import format_key


def key(i: int, size: int = 100) -> str:
    return format_key(i * size, (i + 1) * size - 1)


@pytest.mark.parametrize("fanout", [2, 3, 8])
def test_replan_after_random_adds_rewrites_and_removals_equals_the_full_plan(fanout):
    rng = random.Random(fanout)
    leaves: dict[str, str] = {}
    nodes: dict[str, dict] = {}
    top = removed = 0
    for step in range(800):
        changed = {key(rng.randrange(fanout**2 + 3)) for _ in range(rng.choice([1, 1, 1, 3]))}
        for k in changed:  # rewrites and adds first; removals too after step 400
            if k in leaves and step > 400 and rng.random() < 0.3:
                del leaves[k]
                removed += 1
            else:
                leaves[k] = f"{step}:{rng.random()}"
        nodes = replan(nodes, leaves, changed, fanout)
        assert nodes == plan_nodes(leaves, fanout), step
        top = max([top, *(e["level"] for e in nodes.values())])
    assert top == 2 and removed > 10


def test_replan_keeps_untouched_entries_as_they_are():
    leaves = {key(i): f"t{i}" for i in range(16)}
    nodes = plan_nodes(leaves, 4)
    nodes["L1/000000003"]["rows"] = 7  # what update() adds after building a node
    leaves[key(1)] = "new"
    out = replan(nodes, leaves, {key(1)}, 4)
    assert out["L1/000000003"] is nodes["L1/000000003"]
    assert (
        out["L1/000000000"] is not nodes["L1/000000000"]
        and out["L2/000000000"]["token"] != nodes["L2/000000000"]["token"]
    )


def test_replan_refuses_a_key_of_another_range_size():
    leaves = {key(i): "t" for i in range(4)}
    with pytest.raises(ValueError, match="mixed range sizes"):
        replan(plan_nodes(leaves, 2), {**leaves, key(9, 1000): "t"}, {key(9, 1000)}, 2)
