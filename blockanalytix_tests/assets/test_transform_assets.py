"""cleaned_transactions, quarantined_transactions and their checks, materialised on a tmp Storage."""

import dagster as dg
import pyarrow as pa

from blockanalytix_assets.ingest.schema import BLOCKS, TOKEN_TRANSFERS, TRANSACTIONS
from blockanalytix_assets.resources import PipelineSettings, StorageResource
from blockanalytix_assets.storage import Storage
from blockanalytix_assets.transform import checks
from blockanalytix_assets.transform.assets import cleaned_transactions

KEY = "000001000-000001999"


def _addr(i: int) -> str:
    return "0x" + f"{i:040x}"


def _hash(i: int) -> str:
    return "0x" + f"{i:064x}"


def _tx(i: int, **over) -> dict:
    row = dict(
        hash=_hash(i), nonce=i, block_number=1000 + i % 4, transaction_index=i, from_address=_addr(1 + i % 3),
        to_address=_addr(10 + i % 5), value=10**16 * (i + 1), gas=60_000, gas_price=3 * 10**9, input="0x",
        block_timestamp=1_700_000_000 + 12 * (i % 4), transaction_type=2, receipt_gas_used=21_000,
        receipt_status=1, receipt_effective_gas_price=3 * 10**9,
    )  # fmt: skip
    row.update(over)
    return row


def _write_raw(root: str, rows: list[dict]) -> None:
    store = Storage(root)
    store.write("raw_transactions", KEY, pa.Table.from_pylist(rows, schema=TRANSACTIONS))
    blocks = [dict(number=n, timestamp=1_700_000_000, base_fee_per_gas=10**9) for n in range(1000, 1004)]
    store.write("raw_blocks", KEY, pa.Table.from_pylist(blocks, schema=BLOCKS))
    store.write("token_transfers", KEY, pa.Table.from_pylist([], schema=TOKEN_TRANSFERS))


def _run(root: str) -> dg.ExecuteInProcessResult:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("block_ranges", [KEY])
    all_checks = dg.load_asset_checks_from_modules([checks])
    return dg.materialize(
        [cleaned_transactions, *all_checks],
        partition_key=KEY,
        instance=instance,
        resources={
            "storage": StorageResource(root=root),
            "settings": PipelineSettings(range_size=1000, confirmations=0, home=root),
        },
    )


def _check_results(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_clean_partition_passes_every_check(tmp_path):
    rows = [_tx(i) for i in range(12)]
    _write_raw(str(tmp_path), rows)
    result = _run(str(tmp_path))
    assert result.success
    evals = _check_results(result)
    assert set(evals) == {
        "cleaned_transactions_required_not_null", "cleaned_transactions_hash_unique",
        "cleaned_transactions_value_bounds", "quarantined_transactions_empty",
    }  # fmt: skip
    assert all(e.passed for e in evals.values()), {k: e.metadata for k, e in evals.items() if not e.passed}
    cleaned = Storage(str(tmp_path)).read("cleaned_transactions", KEY)
    assert cleaned.num_rows == 12
    assert cleaned.column("gas_price_to_base_fee").to_pylist() == [3.0] * 12
    meta = result.asset_materializations_for_node("cleaned_transactions")[0].metadata
    assert meta["rows"].value == 12 and meta["quarantined_rows"].value == 0


def test_duplicate_negative_and_null_sender_go_to_quarantine_and_fail_checks(tmp_path):
    good = [_tx(i) for i in range(10)]
    bad = [
        dict(good[3]),  # duplicated hash
        _tx(50, value=-5),  # negative value
        _tx(51, from_address=None),  # null sender
    ]
    _write_raw(str(tmp_path), good + bad)
    result = _run(str(tmp_path))
    assert result.success  # failing checks do not fail the run: the clean rows are still usable

    store = Storage(str(tmp_path))
    cleaned = store.read("cleaned_transactions", KEY)
    assert sorted(cleaned.column("hash").to_pylist()) == sorted(r["hash"] for r in good)
    quarantined = store.read("quarantined_transactions", KEY).to_pylist()
    reasons = {(q["hash"], q["reason"]) for q in quarantined}
    assert reasons == {
        (_hash(3), "duplicate_hash"), (_hash(50), "negative_value"), (_hash(51), "null_from_address"),
    }  # fmt: skip

    evals = _check_results(result)
    assert not evals["cleaned_transactions_hash_unique"].passed
    assert not evals["cleaned_transactions_value_bounds"].passed
    assert not evals["cleaned_transactions_required_not_null"].passed
    q = evals["quarantined_transactions_empty"]
    assert not q.passed and q.severity == dg.AssetCheckSeverity.WARN
    assert q.metadata["quarantined_rows"].value == 3
    assert evals["cleaned_transactions_hash_unique"].metadata["raw_duplicate_rows_quarantined"].value == 1
