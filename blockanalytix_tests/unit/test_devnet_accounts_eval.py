"""The devnet account evaluation's pure parts: labels as of a range, the before/after column sets, the table."""

import numpy as np
import pandas as pd

from blockanalytix_assets.features.address import ADDRESS_FEATURE_COLUMNS
from blockanalytix_tests.evaluation.devnet_accounts import feature_sets, markdown, per_typology, typologies_of

A, B, C = ("0x" + c * 40 for c in "abc")


def test_rows_take_labels_from_their_first_block_on(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text(f"address,typology,first_block\n{A},mixer,150\n{A},peel_chain,20\n{B},mixer,250\n")
    rows = pd.DataFrame({"address": [A, A, B, B, C], "last_block": [99, 199, 199, 299, 299]})
    assert typologies_of(rows, labels).tolist() == ["peel_chain", "mixer,peel_chain", None, "mixer", ""]


def test_after_adds_only_the_new_prefixed_numeric_columns():
    kaggle = [c for c in ADDRESS_FEATURE_COLUMNS if not c.startswith(("internal_", "delegation_"))]
    extra = {"internal_ether_received": [1.0], "delegation_authorizations": [2], "internal_note": ["x"], "other": [3]}
    df = pd.DataFrame({c: [0.0] for c in kaggle} | extra)
    before, after = feature_sets(df)
    assert before == kaggle and len(kaggle) >= 40
    assert after == [*kaggle, "internal_ether_received", "delegation_authorizations"]


def test_per_typology_counts_other_typologies_as_neither_class():
    typ_test = pd.Series(["mixer", "", "", "peel_chain", "mixer"])
    typ_train = pd.Series(["mixer", "", "peel_chain"])
    perfect = np.array([0.9, 0.1, 0.2, 0.0, 0.8])  # peel_chain scored lowest: ranks below negatives, yet ignored
    scores = {w: {"keras": perfect, "tree": 1 - perfect} for w in ("before", "after")}
    rows = per_typology(typ_train, typ_test, scores, ["all", "mixer"])
    assert rows["mixer"]["positives"] == 2 and rows["mixer"]["train_positives"] == 1
    assert rows["mixer"]["keras"]["before"] == {"pr_auc": 1.0, "recall_at_1pct_fpr": 1.0}
    assert rows["mixer"]["tree"]["after"]["recall_at_1pct_fpr"] == 0.0
    assert rows["all"]["keras"]["before"]["pr_auc"] < 1.0
    table = markdown({"typologies": rows, "new_columns": [], "commit": "abc"})
    assert "| mixer | 2 / 1 | 1.000 / 1.000 |" in table and "after = before" in table
