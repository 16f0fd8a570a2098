"""A fixture that starts processes marks every test using it `integration`; a fast run refuses to start it."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONFTEST = """
import pytest

from blockanalytix_tests.plugins.integration import starts_processes

pytest_plugins = ["blockanalytix_tests.plugins.integration"]


@pytest.fixture(scope="session")
@starts_processes
def node():
    yield "started"


@pytest.fixture
def wraps_node(node):
    return node
"""
TESTS = """
def test_direct(node): pass
def test_indirect(wraps_node): pass
def test_dynamic(request): request.getfixturevalue("node")
def test_plain(): pass
"""


def test_process_fixtures_mark_their_tests_and_fast_runs_start_none(pytester: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # schemathesis & co. cost seconds per run
    pytester.makeini("[pytest]\nmarkers = integration: starts processes")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_marks=TESTS)
    fast = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-m", "not integration")
    fast.assert_outcomes(passed=1, failed=1, deselected=2)  # collection cannot see a dynamic request
    fast.stdout.fnmatch_lines(["*fixture 'node' starts processes*test_dynamic*replay*"])
    marked = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-m", "integration", "--collect-only", "-q")
    marked.stdout.fnmatch_lines(["test_marks.py::test_direct", "test_marks.py::test_indirect", "2/4 tests collected*"])
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=4)
