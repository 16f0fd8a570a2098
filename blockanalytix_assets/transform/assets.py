"""cleaned_transactions and quarantined_transactions: one validated, enriched transaction table per range."""

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import dagster as dg

from blockanalytix_assets import table_names as tn
from blockanalytix_assets.ingest.schema import read_token_transfers
from blockanalytix_assets.metadata import seconds_since, table_metadata
from blockanalytix_assets.partitions import RANGE_BATCHES, block_ranges, partition_ranges, run_figures
from blockanalytix_assets.resources import PipelineSettings, StorageResource
from blockanalytix_assets.transform.cleaning import TRANSFER_COLUMNS, CleanResult, clean_transactions

RAW_DEPS = [tn.RAW_TRANSACTIONS, tn.RAW_BLOCKS, tn.TOKEN_TRANSFERS]
PREVIEW = ["hash", "block_number", "from_address", "to_address", "value_eth", "fee_eth", "method_selector", "failed"]
QUARANTINE_PREVIEW = ["hash", "block_number", "reason"]


def _spec(name: str, description: str, kinds: set[str]) -> dg.AssetSpec:
    return dg.AssetSpec(
        name,
        deps=RAW_DEPS,
        description=description,
        group_name="transform",
        kinds=kinds,
        automation_condition=dg.AutomationCondition.eager(),
    )


@dg.multi_asset(
    specs=[
        _spec(
            tn.CLEANED_TRANSACTIONS,
            "Typed, deduplicated transactions of the range with fees, gas ratios, contract flags,"
            " method selector, failed flag and ERC-20 transfer counts (exact wei kept).",
            {"parquet", "pandas"},
        ),
        _spec(
            tn.QUARANTINED_TRANSACTIONS,
            "Raw transactions rejected while cleaning the range, each with its `reason`.",
            {"parquet"},
        ),
    ],
    partitions_def=block_ranges,
    backfill_policy=RANGE_BATCHES,
)
def cleaned_transactions(
    context: dg.AssetExecutionContext, storage: StorageResource, settings: PipelineSettings
) -> Iterator[dg.MaterializeResult]:
    """Validate, deduplicate and enrich raw_transactions; write rejects to quarantine, never drop them."""
    store, t0, run = storage.storage(), time.perf_counter(), _Run()
    ranges = partition_ranges(context, settings.range_size)
    for r in ranges:  # in block order, each range written as a run of it alone would write it
        raw = store.read(tn.RAW_TRANSACTIONS, r.key)
        blocks = store.read(tn.RAW_BLOCKS, r.key, columns=["number", "base_fee_per_gas"])
        result = clean_transactions(raw, r.first, r.last, blocks, read_token_transfers(store, r.key, TRANSFER_COLUMNS))
        paths = (
            store.write(tn.CLEANED_TRANSACTIONS, r.key, result.cleaned),
            store.write(tn.QUARANTINED_TRANSACTIONS, r.key, result.quarantined),
        )
        if result.reason_counts:
            context.log.warning(f"{r.key}: quarantined {result.quarantined.num_rows} rows: {result.reason_counts}")
        run.add(r.key, raw.num_rows, result, paths)
    yield from run.results((ranges[0].first, ranges[-1].last), seconds_since(t0))


@dataclass
class _Run:
    """What a run over its ranges reports: per-range counts, every reason, and the last range's tables (only)."""

    cleaned: dict[str, dict[str, int]] = field(default_factory=dict)
    quarantined: dict[str, dict[str, int]] = field(default_factory=dict)
    reasons: Counter[str] = field(default_factory=Counter)
    last: CleanResult | None = None
    paths: tuple[str, str] = ("", "")

    def add(self, key: str, raw_rows: int, result: CleanResult, paths: tuple[str, str]) -> None:
        self.cleaned[key] = {"rows": result.cleaned.num_rows, "raw_rows": raw_rows}
        self.quarantined[key] = {"rows": result.quarantined.num_rows}
        self.reasons.update(result.reason_counts)
        self.last, self.paths = result, paths

    def results(self, span: tuple[int, int], seconds: dg.MetadataValue) -> Iterator[dg.MaterializeResult]:
        """Over several ranges the counts are totals (by_range has each range's); path and preview the last's."""
        assert self.last is not None
        cleaned = table_metadata(self.last.cleaned, preview=PREVIEW, path=self.paths[0], span=span)
        cleaned |= {
            "seconds": seconds,
            "raw_rows": dg.MetadataValue.int(sum(f["raw_rows"] for f in self.cleaned.values())),
            "quarantined_rows": dg.MetadataValue.int(sum(f["rows"] for f in self.quarantined.values())),
            **run_figures(self.cleaned),
        }
        yield dg.MaterializeResult(asset_key=tn.CLEANED_TRANSACTIONS, metadata=cleaned)
        quarantined = table_metadata(self.last.quarantined, preview=QUARANTINE_PREVIEW, path=self.paths[1], span=span)
        quarantined |= {"seconds": seconds, "reasons": dg.MetadataValue.json(dict(self.reasons))}
        yield dg.MaterializeResult(
            asset_key=tn.QUARANTINED_TRANSACTIONS, metadata=quarantined | run_figures(self.quarantined)
        )
