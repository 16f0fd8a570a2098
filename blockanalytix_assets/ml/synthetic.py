"""Synthetic transaction_features / address_labels tables shaped like the contracts (tests and benchmarks)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from blockanalytix_assets import table_names as tn
from blockanalytix_assets.ranges import format_key
from blockanalytix_assets.storage import Storage


def feature_columns() -> list[str]:
    """The real FEATURE_COLUMNS when the features module exists, else 27 placeholder names."""
    try:
        from blockanalytix_assets.features.transaction import FEATURE_COLUMNS

        return list(FEATURE_COLUMNS)
    except ImportError:
        return [f"f{i:02d}" for i in range(27)]


def _addresses(rng: np.random.Generator, n: int) -> np.ndarray:
    raw = rng.integers(0, 2**63, size=(n, 3), dtype=np.int64)
    return np.array([f"0x{a:016x}{b:016x}{c:08x}"[:42] for a, b, c in raw], dtype=object)


def synthetic_partition(
    first_block: int,
    n_rows: int,
    illicit: np.ndarray,
    population: np.ndarray,
    seed: int = 0,
    positive_rate: float = 0.03,
    range_size: int = 1000,
    shift: float = 4.0,
) -> tuple[str, pa.Table]:
    """One partition of transaction_features; rows touching `illicit` addresses get shifted features."""
    rng = np.random.default_rng(seed)
    cols = feature_columns()
    pos = rng.random(n_rows) < positive_rate
    frm = population[rng.integers(0, len(population), n_rows)]
    to = population[rng.integers(0, len(population), n_rows)]
    frm[pos] = illicit[rng.integers(0, len(illicit), int(pos.sum()))]
    x = rng.normal(size=(n_rows, len(cols))).astype(np.float32)
    direction = np.linspace(1.0, -1.0, len(cols)).astype(np.float32)
    x[pos] += shift * direction * (0.5 + 0.5 * rng.random((int(pos.sum()), 1))).astype(np.float32)
    blocks = np.sort(rng.integers(first_block, first_block + range_size, n_rows))
    hashes = np.array([f"0x{seed:08x}{i:056x}" for i in range(n_rows)], dtype=object)
    arrays = {
        "hash": pa.array(hashes, pa.string()),
        "block_number": pa.array(blocks, pa.int64()),
        "block_timestamp": pa.array(1_700_000_000 + blocks * 12, pa.int64()),
        "from_address": pa.array(frm, pa.string()),
        "to_address": pa.array(to, pa.string()),
        **{c: pa.array(x[:, j]) for j, c in enumerate(cols)},
    }
    table = pa.table(arrays).replace_schema_metadata({b"blockanalytix.feature_spec_version": b"synthetic"})
    return format_key(first_block, first_block + range_size - 1), table


def synthetic_world(
    n_partitions: int = 3,
    rows_per_partition: int = 4000,
    seed: int = 0,
    n_illicit: int = 20,
    range_size: int = 1000,
) -> tuple[dict[str, pa.Table], pa.Table]:
    """Several consecutive partitions and the address_labels table of their illicit addresses."""
    rng = np.random.default_rng(seed)
    population = _addresses(rng, 2000)
    illicit = _addresses(rng, n_illicit)
    parts = dict(
        synthetic_partition(
            i * range_size, rows_per_partition, illicit, population, seed=seed + i, range_size=range_size
        )
        for i in range(n_partitions)
    )
    labels = pa.table(
        {
            "address": pa.array(illicit, pa.string()),
            "label": pa.array(["phishing_drain"] * n_illicit, pa.string()),
            "category": pa.array(["devnet_typology"] * n_illicit, pa.string()),
            "source": pa.array(["devnet"] * n_illicit, pa.string()),
            "first_seen": pa.array([None] * n_illicit, pa.int64()),
        }
    )
    return parts, labels


def stored_world(root: str, **world: int) -> tuple[Storage, dict[str, pa.Table], pa.Table]:
    """synthetic_world(**world) written where the assets read it: transaction_features ranges and address_labels."""
    from blockanalytix_assets.ml.pipeline import LABELS_ASSET, LABELS_KEY

    store, (parts, labels) = Storage(root), synthetic_world(**world)
    for key, table in parts.items():
        store.write(tn.TRANSACTION_FEATURES, key, table)
    store.write(LABELS_ASSET, LABELS_KEY, labels)
    return store, parts, labels
