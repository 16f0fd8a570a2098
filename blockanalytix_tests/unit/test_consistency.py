"""`blockanalytix consistency`: what still disagrees between the overview report, the API and Dagster."""

from blockanalytix_assets.operations.consistency import Views, problems

KEYS = ["000000000-000000099", "000000100-000000199"]


def _views(**changes) -> Views:
    v = Views(2, scores={KEYS[0]: 3, KEYS[1]: 0}, api={KEYS[0]: 3, KEYS[1]: 0}, overview={KEYS[0]: 3, KEYS[1]: 0})
    v.last_score_at, v.overview_at = 100.0, 101.0
    for k, value in changes.items():
        setattr(v, k, value)
    return v


def test_everything_agrees():
    assert problems(_views()) == []


def test_an_overview_rendered_before_the_last_score_is_not_up():
    assert problems(_views(overview_at=99.0)) == [
        "overview report: rendered before the last score, waiting for the re-render"
    ]
    assert problems(_views(overview_at=None)) == ["overview report: not rendered yet"]


def test_counts_that_differ_are_named_with_an_example():
    (msg,) = problems(_views(api={KEYS[0]: 3, KEYS[1]: 5}))
    assert msg == f"API /ranges: 1 ranges differ from Dagster, e.g. {KEYS[1]} 5 vs 0"
    (msg,) = problems(_views(overview={KEYS[0]: 0}))  # the stale overview showed no anomalies
    assert msg.startswith("overview report: 2 ranges differ from Dagster")


def test_missing_scores_come_first():
    found = problems(_views(scores={KEYS[0]: 3}, expected_ranges=2))
    assert found[0] == "scoring: 1/2 ranges scored"
