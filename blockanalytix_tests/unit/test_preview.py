"""Table summaries for asset metadata: row counts, Arrow column types, block span, path and preview."""

from decimal import Decimal

import pyarrow as pa

from blockanalytix_assets.ingest.schema import WEI
from blockanalytix_assets.preview import Column, markdown_preview, summarise


def _table(n: int) -> pa.Table:
    schema = pa.schema(
        [pa.field("hash", pa.string(), nullable=False), ("value", WEI), ("topics", pa.list_(pa.string()))]
    )
    rows = [{"hash": f"0x{i:02x}", "value": Decimal(10**20 + i), "topics": ["a|b"]} for i in range(n)]
    return pa.Table.from_pylist(rows, schema=schema)


def test_summary_has_rows_typed_columns_span_path_and_preview():
    s = summarise(_table(7), preview=["hash", "value", "missing"], path="/d/t/k.parquet", span=(100, 199))
    assert s.rows == 7 and s.span == (100, 199) and s.path == "/d/t/k.parquet"
    assert s.columns == (
        Column("hash", "string", False),
        Column("value", "decimal128(38, 0)", True),
        Column("topics", "list<item: string>", True),
    )
    assert s.preview.splitlines()[0] == "| hash | value |" and s.preview.endswith("_2 more rows_")


def test_summary_row_override_and_default_preview():
    s = summarise(_table(2), rows=40)
    assert s.rows == 40 and s.span is None and s.path is None
    assert s.preview == markdown_preview(_table(2)) and "a\\|b" in s.preview
