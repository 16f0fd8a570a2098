"""Tests whose fixtures start a node or server are marked `integration`; a run deselecting it may start none."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

import pytest

F = TypeVar("F", bound=Callable)
PROCESS_FIXTURES: set[str] = set()
_NOT_INTEGRATION = re.compile(r"\bnot\s+integration\b")


def starts_processes(fixture_function: F) -> F:
    """Register a fixture that starts processes (anvil, MLflow, Postgres, ...): its tests become `integration`."""
    PROCESS_FIXTURES.add(fixture_function.__name__)
    return fixture_function


def fast_run(config: pytest.Config) -> bool:
    """Whether this run deselects integration tests (`make test-fast`), so that nothing may start a node."""
    return bool(_NOT_INTEGRATION.search(config.getoption("markexpr", "") or ""))


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if PROCESS_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest) -> None:
    # Catches what collection cannot see: a fixture requested with request.getfixturevalue().
    if fixturedef.argname in PROCESS_FIXTURES and fast_run(request.config):
        test = getattr(request, "_pyfuncitem", request.node).nodeid  # a session fixture's node is the session
        raise RuntimeError(
            f"fixture {fixturedef.argname!r} starts processes, but this run deselects integration tests: "
            f"{test} must use the replay RPC (`replay_rpc`) or request the fixture as an argument"
        )
