"""Assemble training splits from per-partition feature tables and address_labels (pure, no storage)."""

from __future__ import annotations

from typing import TypeAlias

import pandas as pd
import pyarrow as pa

from blockanalytix_assets.ml.training import Split, split_frame, split_keys, touches

SPEC_KEY = b"blockanalytix.feature_spec_version"
Tables: TypeAlias = dict[str, pa.Table]  # partition key -> one feature table
Labels: TypeAlias = pa.Table | pd.DataFrame | None  # address_labels (None before it is materialised)


def _concat(tables: Tables, columns: list[str]) -> pd.DataFrame:
    frames = [t.select(columns).to_pandas().assign(_key=k) for k, t in sorted(tables.items()) if t.num_rows]
    if not frames:
        raise ValueError("the training window holds no rows: materialise the feature assets for some ranges first")
    return pd.concat(frames, ignore_index=True)


def spec_version(tables: Tables) -> str | None:
    """The feature-spec version stored in the tables' schema metadata (one value, or an error)."""
    stored = ((t.schema.metadata or {}).get(SPEC_KEY, b"").decode() for t in tables.values())
    found: set[str] = {v for v in stored if v}
    if len(found) > 1:
        raise ValueError(f"the window mixes feature spec versions {sorted(found)}: re-materialise the older ranges")
    return next(iter(found), None)


def labelled_set(labels: Labels) -> set[str]:
    """Lower-case addresses of address_labels."""
    if labels is None:
        return set()
    col = labels.column("address").to_pylist() if isinstance(labels, pa.Table) else labels["address"].tolist()
    return {str(a).lower() for a in col if a}


def transaction_split(tables: Tables, labels: Labels, feature_columns: list[str], val_fraction: float = 0.25) -> Split:
    """transaction_features of a window: earlier ranges train, later validate; positive = touches a label."""
    keys = ["hash", "block_number", "from_address", "to_address"]
    df = _concat(tables, keys + feature_columns).drop_duplicates("hash", keep="last")
    y = touches(df["from_address"], df["to_address"].fillna(""), labelled_set(labels)).astype("int32")
    train_keys, val_keys = split_keys(list(tables), val_fraction)
    return split_frame(
        df, feature_columns, y, train_keys, val_keys, val_fraction=val_fraction, spec=spec_version(tables)
    )


def address_split(tables: Tables, labels: Labels, feature_columns: list[str], val_fraction: float = 0.25) -> Split:
    """address_features over a window; an address in address_labels is positive; split by partition order."""
    # Lifetime features: an address active in several ranges has a snapshot in each; its newest one is kept, so
    # one account is one example (never in train and validation at once).
    df = _concat(tables, ["address", *feature_columns]).drop_duplicates("address", keep="last")
    df[feature_columns] = df[feature_columns].astype("float32").fillna(0.0)
    y = df["address"].str.lower().isin(labelled_set(labels)).to_numpy().astype("int32")
    train_keys, val_keys = split_keys(list(tables), val_fraction)
    if not val_keys:
        # One partition: no block order within address rows, so hold out a stable hash-based fifth.
        df["_key"] = "train"
        df.loc[pd.util.hash_pandas_object(df["address"], index=False) % 5 == 0, "_key"] = "val"
        train_keys, val_keys = [next(iter(tables))], ["val"]
        split = split_frame(df, feature_columns, y, train_keys, ["val"], val_fraction=val_fraction)
        split.val_keys = []
        return split
    return split_frame(df, feature_columns, y, train_keys, val_keys, val_fraction=val_fraction)
