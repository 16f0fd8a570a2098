"""The run shape a BackfillPolicy.multi_run backfill launches (a partition range, checks included) passes."""

from __future__ import annotations

import dagster as dg

from blockanalytix_tests.reliability.support import CHECKS, error_text, ingest, keys_of, resources

RANGE = 10


def test_ranged_run_with_checks_succeeds(replay_rpc, tmp_path):
    keys = keys_of(0, 3, RANGE)
    res = resources(replay_rpc.resource(), str(tmp_path), RANGE)
    result = ingest(keys, dg.DagsterInstance.ephemeral(), res, checks=True)
    assert result.success, error_text(result)[:3000]
    evaluations = result.get_asset_check_evaluations()
    # One evaluation per check and range: the nightly repair finds a failing range of a multi-range run.
    assert len(evaluations) == len(keys) * sum(len(c.check_specs) for c in CHECKS)
    assert {e.partition for e in evaluations} == set(keys)
    assert all(e.passed for e in evaluations), [e.check_name for e in evaluations if not e.passed]
