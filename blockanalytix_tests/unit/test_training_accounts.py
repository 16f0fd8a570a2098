"""Account evaluation helpers: Kaggle column renaming, dedupe, the sha256 hold-out rule, CV selection."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pandas as pd
import pytest

from blockanalytix_assets.ml.accounts import account_feature_columns, feature_matrix, is_held_out, load_account_table

KAGGLE_CSV = os.environ.get("BLOCKANALYTIX_KAGGLE_CSV", "")


def _table(tmp_path, n: int = 40):
    rng = np.random.default_rng(0)
    addrs = [f"0x{rng.integers(0, 2**62):040x}" for _ in range(n)]
    df = pd.DataFrame({"Address": addrs + [addrs[0].upper().replace("0X", "0x")], "FLAG": [i % 2 for i in range(n + 1)],
                       "Sent tnx": rng.integers(0, 9, n + 1), " Total ERC20 tnxs": [np.nan] * (n + 1)})  # fmt: skip
    path = tmp_path / "accounts.csv"
    df.to_csv(path, index=True)
    return path, addrs


def test_load_renames_lowercases_and_dedupes(tmp_path):
    path, addrs = _table(tmp_path)
    df = load_account_table(str(path))
    assert len(df) == len(addrs) and df["address"].str.match(r"^0x[0-9a-f]{40}$").all()
    cols = account_feature_columns(df)
    assert cols == ["sent_tnx", "total_erc20_tnxs"]
    assert feature_matrix(df, cols)[:, 1].tolist() == [0.0] * len(df)  # missing ERC-20 figures become 0
    with pytest.raises(ValueError, match="--label-column"):
        load_account_table(str(path), label_column="is_fraud")


def test_hold_out_rule():
    addrs = pd.Series([f"0x{i:040x}" for i in range(400)])
    held = is_held_out(addrs)
    expected = [hashlib.sha256(a.encode()).hexdigest()[0] in "cdef" for a in addrs]
    assert held.tolist() == expected and 0.15 < held.mean() < 0.35
    assert is_held_out(pd.Series([addrs[0].upper()])).tolist() == [expected[0]]


@pytest.mark.skipif(not os.path.exists(KAGGLE_CSV), reason="set BLOCKANALYTIX_KAGGLE_CSV to the Kaggle table")
def test_kaggle_split_and_tree_baseline():
    from blockanalytix_assets.ml.accounts import fit_tree_baseline
    from blockanalytix_assets.ml.evaluation import roc_auc

    df = load_account_table(KAGGLE_CSV)
    held = is_held_out(df["address"])
    assert len(df) == 9816 and 0.2 < held.mean() < 0.3
    x, y = feature_matrix(df, account_feature_columns(df)), df["label"].to_numpy()
    tree = fit_tree_baseline(x[~held], y[~held])
    assert roc_auc(y[held], tree.predict_proba(x[held])[:, 1]) > 0.98


def test_fit_address_model_takes_fit_settings_from_the_config():
    from blockanalytix_assets.ml.accounts import fit_address_model

    x = np.random.default_rng(4).random((40, 3)).astype(np.float32)
    y = (x[:, 1] > 0.5).astype("int32")
    config = {"n_bins": 4, "hidden": (4,), "zscore": False, "epochs": 2, "balanced": False, "batch_size": 16}
    model = fit_address_model(x, y, config, seed=0, epochs=99)
    assert len(model.history.history["loss"]) == 2 and "normalize" not in {layer.name for layer in model.layers}


def test_fit_address_model_cosine_decay_ends_at_zero():
    from blockanalytix_assets.ml.accounts import fit_address_model

    x = np.random.default_rng(6).random((40, 3)).astype(np.float32)
    y = (x[:, 0] > 0.5).astype("int32")
    config = {"n_bins": 4, "hidden": (4,), "zscore": False, "epochs": 2, "balanced": False, "cosine": True}
    model = fit_address_model(x, y, config, seed=0, batch_size=16)
    assert int(model.optimizer.iterations.numpy()) == 6 and float(model.optimizer.learning_rate.numpy()) == 0.0
