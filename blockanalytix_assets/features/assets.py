"""Feature assets: transaction_features (with lookback), address_activity and lifetime address_features per range,
and address_labels."""

import time
from collections.abc import Callable

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from blockanalytix_assets import table_names as tn
from blockanalytix_assets.features.activity import ACTIVITY_TX_COLUMNS, address_activity
from blockanalytix_assets.features.address import ADDRESS_FEATURE_COLUMNS, ADDRESS_FEATURE_SPEC_VERSION, TOKEN_COLUMNS
from blockanalytix_assets.features.history import with_history
from blockanalytix_assets.features.internal import INTERNAL_COLUMNS
from blockanalytix_assets.features.labels import LabelSource, LoadedLabels, default_sources, load_labels
from blockanalytix_assets.features.profiles import merge_activity, profile_features
from blockanalytix_assets.features.transaction import (
    ACTIVITY_COLUMNS,
    FEATURE_COLUMNS,
    FEATURE_SPEC_VERSION,
    lookback_keys,
    transaction_features,
)
from blockanalytix_assets.index.runs import RunTree
from blockanalytix_assets.index.spec import Part
from blockanalytix_assets.index.trees import PROFILE_TREE
from blockanalytix_assets.ingest.schema import read_internal_transfers, read_token_transfers
from blockanalytix_assets.metadata import seconds_since, table_metadata
from blockanalytix_assets.partitions import RANGE_BATCHES, block_ranges, partition_ranges, run_figures
from blockanalytix_assets.ranges import BlockRange, range_keys
from blockanalytix_assets.resources import PipelineSettings, StorageResource
from blockanalytix_assets.storage import CorruptTableError, Storage

RangeMetadata = dict[str, dg.MetadataValue]
ADDRESS_LABELS_KEY = "all"  # address_labels is not partitioned: stored at <root>/address_labels/all.parquet


class LookbackConfig(dg.Config):
    """How many earlier block ranges the sender/receiver history looks back over."""

    lookback_ranges: int = Field(
        default=3,
        ge=0,
        description="Earlier ranges (those already in cleaned_transactions) included in the window; "
        "0 means only the partition's own range.",
    )


class LabelSourceConfig(dg.Config):
    """One label list: path or http(s) URL ('{home}' expands to BLOCKANALYTIX_HOME) and its format."""

    location: str = Field(description="Path or URL of the list; '{home}' is replaced by the settings' home.")
    format: str = Field(description="devnet_csv, ofac_txt, ofac_json, forta_csv or mew_darklist_json.")
    name: str | None = Field(default=None, description="The `source` value of its rows (default: the format).")


class AddressLabelsConfig(dg.Config):
    """Which label lists address_labels loads; empty means the demo defaults."""

    sources: list[LabelSourceConfig] = Field(
        default_factory=list,
        description="Label sources; empty = devnet ground truth at {home}/devnet/labels.csv plus the small "
        "OFAC / Forta / MyEtherWallet lists shipped in blockanalytix_assets/features/label_data.",
    )


def _window(
    store: Storage, asset: str, key: str, lookback: int, columns: list[str]
) -> tuple[list[pa.Table], list[str]]:
    """Earlier partitions of an asset inside the lookback (oldest first) and their keys."""
    keys = lookback_keys(key, lookback, store.keys(asset))
    return [store.read(asset, k, columns=columns) for k in keys], keys


def _per_range(
    context: dg.AssetExecutionContext, settings: PipelineSettings, compute: Callable[[BlockRange], RangeMetadata]
) -> dg.MaterializeResult:
    """compute() every range of the run in block order, each written as a run of it alone would write it; the last
    range's metadata with the run's totals (over several ranges, RANGE_BATCHES: counts are totals, by_range has each
    range's, first_block is the first range's; path, preview and lookback are the last range's)."""
    t0, ranges, by_range = time.perf_counter(), partition_ranges(context, settings.range_size), {}
    for r in ranges:
        meta = compute(r)
        by_range[r.key] = {"rows": meta["rows"].value}
    meta |= run_figures(by_range)
    meta |= {"first_block": dg.MetadataValue.int(ranges[0].first), "seconds": seconds_since(t0)}
    return dg.MaterializeResult(metadata=meta)


def _common(r: BlockRange, t0: float, table: pa.Table, path: str, preview: list[str]) -> RangeMetadata:
    """A range's feature table metadata: table_metadata plus the seconds it took."""
    return {**table_metadata(table, preview=preview, path=path, span=(r.first, r.last)), "seconds": seconds_since(t0)}


@dg.asset(
    name=tn.TRANSACTION_FEATURES,
    deps=[tn.CLEANED_TRANSACTIONS],
    code_version=FEATURE_SPEC_VERSION,
    partitions_def=block_ranges,
    backfill_policy=RANGE_BATCHES,
    group_name="features",
    kinds={"parquet", "numpy"},
    automation_condition=dg.AutomationCondition.eager(),
    description=f"Per-transaction model features (float32, fixed order, spec v{FEATURE_SPEC_VERSION}) with "
    "sender/receiver activity in the range and in a lookback of earlier ranges; internal_* columns from the "
    "range's internal_transfers where stored (null without traces).",
)
def transaction_features_asset(
    context: dg.AssetExecutionContext,
    config: LookbackConfig,
    storage: StorageResource,
    settings: PipelineSettings,
) -> dg.MaterializeResult:
    """Compute transaction_features for each range from cleaned_transactions and its lookback."""
    store = storage.storage()

    def compute(r: BlockRange) -> RangeMetadata:
        t0 = time.perf_counter()
        current = store.read(tn.CLEANED_TRANSACTIONS, r.key)
        earlier, keys = _window(store, tn.CLEANED_TRANSACTIONS, r.key, config.lookback_ranges, ACTIVITY_COLUMNS)
        table = transaction_features(current, earlier, read_internal_transfers(store, r.key, INTERNAL_COLUMNS))
        path = store.write(tn.TRANSACTION_FEATURES, r.key, table)
        meta = _common(r, t0, table, path, ["hash", *FEATURE_COLUMNS[:5]])
        meta["lookback_partitions"] = dg.MetadataValue.json(keys)
        meta["feature_spec_version"] = dg.MetadataValue.text(FEATURE_SPEC_VERSION)
        meta["feature_columns"] = dg.MetadataValue.json(FEATURE_COLUMNS)
        return meta

    return _per_range(context, settings, compute)


# A range's table and the metadata particular to it (added to _common's).
Computed = tuple[pa.Table, dict[str, dg.MetadataValue]]
# The lifetime assets' compute functions by asset name (the devnet evaluation calls them as the assets do).
LIFETIME_COMPUTES: dict[str, Callable[[Storage, BlockRange], Computed]] = {}


def lifetime_asset(
    name: str, deps: list[str], kinds: set[str], preview: list[str], description: str
) -> Callable[[Callable[[Storage, BlockRange], Computed]], dg.AssetsDefinition]:
    """A per-range asset of the lifetime address features (ADDRESS_FEATURE_SPEC_VERSION) over a compute function."""

    def build(compute: Callable[[Storage, BlockRange], Computed]) -> dg.AssetsDefinition:
        LIFETIME_COMPUTES[name] = compute

        @dg.asset(
            name=name,
            deps=deps,
            code_version=ADDRESS_FEATURE_SPEC_VERSION,
            partitions_def=block_ranges,
            backfill_policy=RANGE_BATCHES,
            group_name="features",
            kinds=kinds,
            automation_condition=dg.AutomationCondition.eager(),
            description=description,
        )
        def _asset(
            context: dg.AssetExecutionContext, storage: StorageResource, settings: PipelineSettings
        ) -> dg.MaterializeResult:
            store = storage.storage()

            def one(r: BlockRange) -> RangeMetadata:
                t0 = time.perf_counter()
                table, extra = compute(store, r)
                return {**_common(r, t0, table, store.write(name, r.key, table), preview), **extra}

            return _per_range(context, settings, one)

        return _asset

    return build


# internal_transfers is read where stored, not declared as a dep: raw_ingest skips it where the node serves no
# traces, and a dep on an output not yielded skips the step in the same run (and eager waits on it for ever). It is
# written in the raw_ingest step that writes raw_transactions, so before cleaned_transactions and these assets.
@lifetime_asset(
    tn.ADDRESS_ACTIVITY,
    [tn.CLEANED_TRANSACTIONS, tn.TOKEN_TRANSFERS],
    {"parquet"},
    ["address", "sent_count", "received_count", "first_block"],
    "Per-range partial aggregates per address (counts, exact wei sums, min/max, first/last seen, "
    "counterparty sketches, token counts; internal_* from internal_transfers where stored, null without traces): "
    "the mergeable leaves of address_profiles.",
)
def address_activity_asset(store: Storage, r: BlockRange) -> Computed:
    """Aggregate the range's transactions, token transfers and internal transfers per address."""
    try:
        txs = store.read(tn.CLEANED_TRANSACTIONS, r.key, columns=[*ACTIVITY_TX_COLUMNS, "authorization_list"])
    except CorruptTableError:  # cleaned before authorization lists existed: no delegations until it is re-cleaned
        txs = store.read(tn.CLEANED_TRANSACTIONS, r.key, columns=ACTIVITY_TX_COLUMNS)
    tokens = read_token_transfers(store, r.key, TOKEN_COLUMNS)
    internal = read_internal_transfers(store, r.key, INTERNAL_COLUMNS)
    table = address_activity(txs, tokens, r.first // r.size, internal)
    return table, {"internal_transfers": dg.MetadataValue.bool(internal is not None)}


@lifetime_asset(
    tn.ADDRESS_FEATURES,
    [tn.ADDRESS_ACTIVITY],
    {"parquet", "pyarrow"},
    ["address", *ADDRESS_FEATURE_COLUMNS[3:7]],
    "Lifetime account-history features (Kaggle Ethereum fraud dataset columns) of the addresses active "
    "in the range, over every stored range up to and including it (read from the address_profiles tree), then the "
    "internal_* columns of internal transfers (null where a range of the address had no traces).",
)
def address_features_asset(store: Storage, r: BlockRange) -> Computed:
    """The range's addresses' lifetime features as of the range's last block."""
    active = store.read(tn.ADDRESS_ACTIVITY, r.key, columns=["address"]).column("address")
    tree = RunTree(store, PROFILE_TREE)
    history = tree.read(upto_key=r.key, filter=pc.field("address").isin(active.combine_chunks()))
    cover = tree.cover(upto_key=r.key)
    table = with_history(profile_features(merge_activity([history])), _history_keys(cover))
    extra = {"history_ranges": len(_history_keys(cover)), "history_files": len(cover)}
    return table, {k: dg.MetadataValue.int(v) for k, v in extra.items()}


def _history_keys(cover: list[Part]) -> list[str]:
    """The range keys a cover holds (a node holds every range between its first and last key)."""
    return sorted({k for p in cover for k in range_keys(p.first_key, p.last_key)})


def _content_hash(table: pa.Table) -> str:
    """sha256 of the table's Arrow IPC stream (same rows in the same order give the same hash)."""
    import hashlib

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()[:16]


@dg.asset(
    name=tn.ADDRESS_LABELS,
    group_name="features",
    kinds={"parquet"},
    automation_condition=dg.AutomationCondition.eager(),
    description="Illicit/suspicious addresses from configurable lists (devnet ground truth, OFAC, phishing "
    "lists): address, label, category, source, first_seen.",
)
def address_labels_asset(
    context: dg.AssetExecutionContext,
    config: AddressLabelsConfig,
    storage: StorageResource,
    settings: PipelineSettings,
) -> dg.MaterializeResult:
    """Load and normalise every configured label list; malformed addresses are reported, not loaded."""
    store, t0 = storage.storage(), time.perf_counter()
    loaded = load_labels(_label_sources(config, settings.home))
    for name in loaded.missing:
        context.log.warning(f"label source {name!r} is absent; it contributed no labels")
    path = store.write(tn.ADDRESS_LABELS, ADDRESS_LABELS_KEY, loaded.table)
    meta = {**table_metadata(loaded.table, path=path), **_label_metadata(loaded), "seconds": seconds_since(t0)}
    # A hash of the contents: an unchanged refresh (the daily training_job reloads labels) re-scores nothing.
    return dg.MaterializeResult(data_version=dg.DataVersion(_content_hash(loaded.table)), metadata=meta)


def _label_sources(config: AddressLabelsConfig, home: str) -> list[LabelSource]:
    """The configured label sources ('{home}' expanded), or the demo defaults when none are configured."""
    sources = [LabelSource(s.location.replace("{home}", home), s.format, s.name) for s in config.sources]
    return sources or default_sources(home)


def _label_metadata(loaded: LoadedLabels) -> dict[str, dg.MetadataValue]:
    """Counts by source and category, and the malformed addresses and missing lists that were skipped."""
    df = loaded.table.select(["source", "category"]).to_pandas()
    return {
        "by_source": dg.MetadataValue.json(df["source"].value_counts().to_dict()),
        "by_category": dg.MetadataValue.json(df["category"].value_counts().to_dict()),
        "malformed_addresses": dg.MetadataValue.int(sum(len(v) for v in loaded.malformed.values())),
        "malformed_examples": dg.MetadataValue.json({k: v[:5] for k, v in loaded.malformed.items()}),
        "missing_sources": dg.MetadataValue.json(loaded.missing),
    }
