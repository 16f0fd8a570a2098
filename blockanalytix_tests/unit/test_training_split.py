"""Training windows split by block order without leakage, and labels from address_labels."""

from __future__ import annotations

import numpy as np
import pytest

from blockanalytix_assets.ml.data import address_split, spec_version, transaction_split
from blockanalytix_assets.ml.synthetic import feature_columns, synthetic_world
from blockanalytix_assets.ml.training import split_keys, window_keys


def test_window_and_split_keys():
    keys = [f"{i:09d}-{i + 9:09d}" for i in range(0, 100, 10)]
    assert window_keys(list(reversed(keys)), 4) == keys[-4:]
    train, val = split_keys(keys[-4:], 0.25)
    assert train == keys[-4:-1] and val == keys[-1:]
    assert split_keys(keys[:1]) == (keys[:1], [])
    with pytest.raises(ValueError):
        window_keys(keys, 0)


def test_transaction_split_is_by_block_order_and_labels_touching_txs():
    parts, labels = synthetic_world(n_partitions=4, rows_per_partition=500, seed=3)
    split = transaction_split(parts, labels, feature_columns())
    keys = sorted(parts)
    assert split.train_keys == keys[:3] and split.val_keys == keys[3:]
    assert len(split.y_train) == 1500 and len(split.y_val) == 500
    illicit = set(labels.column("address").to_pylist())
    last = parts[keys[-1]].to_pandas()
    expected = (last["from_address"].isin(illicit) | last["to_address"].isin(illicit)).to_numpy()
    assert np.array_equal(split.y_val.astype(bool), expected) and expected.any()
    assert split.feature_spec_version == spec_version(parts) == "synthetic"


def test_single_partition_splits_on_later_blocks():
    parts, labels = synthetic_world(n_partitions=1, rows_per_partition=1000, seed=5)
    split = transaction_split(parts, labels, feature_columns(), val_fraction=0.2)
    assert 150 <= len(split.y_val) <= 250 and len(split.y_train) + len(split.y_val) == 1000


def test_address_split_marks_labelled_addresses():
    import pyarrow as pa

    cols = ["sent_tnx", "received_tnx"]
    parts = {
        f"{i * 10:09d}-{i * 10 + 9:09d}": pa.table(
            {
                "address": [f"0x{i}{j:039x}" for j in range(50)],
                "sent_tnx": np.arange(50.0),
                "received_tnx": np.ones(50),
            }
        )
        for i in range(3)
    }
    labels = pa.table({"address": ["0x2" + f"{7:039x}", "0x0" + f"{1:039x}"]})
    split = address_split(parts, labels, cols)
    assert int(split.y_val.sum()) == 1 and int(split.y_train.sum()) == 1 and split.x_val.shape == (50, 2)


def test_address_model_window_takes_internal_columns_and_reads_unknown_as_zero(tmp_path):
    import pyarrow as pa

    from blockanalytix_assets.features.address import ADDRESS_MODEL_COLUMNS
    from blockanalytix_assets.features.internal import INTERNAL_ADDRESS_FEATURE_COLUMNS
    from blockanalytix_assets.ml.pipeline import window_split
    from blockanalytix_assets.storage import Storage

    store = Storage(str(tmp_path))
    for i in range(2):
        cols = {c: pa.array(np.full(20, 2.0)) for c in ADDRESS_MODEL_COLUMNS}
        if i == 1:  # a range ingested without traces: internal_* unknown
            cols |= {c: pa.nulls(20, pa.float64()) for c in INTERNAL_ADDRESS_FEATURE_COLUMNS}
        store.write(
            "address_features",
            f"{i * 10:09d}-{i * 10 + 9:09d}",
            pa.table({"address": [f"0x{i}{j:039x}" for j in range(20)], **cols}),
        )
    store.write("address_labels", "all", pa.table({"address": ["0x0" + f"{3:039x}"], "label": ["mixer"]}))
    split = window_split(store, "address_features", 2, 0.5)
    assert split.feature_columns == ADDRESS_MODEL_COLUMNS
    internal = [ADDRESS_MODEL_COLUMNS.index(c) for c in INTERNAL_ADDRESS_FEATURE_COLUMNS]
    assert (split.x_train[:, internal] == 2.0).all() and (split.x_val[:, internal] == 0.0).all()
