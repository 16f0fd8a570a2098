"""Materialisation metadata from a table: rows, dagster/row_count, dagster/column_schema, block span, path, preview."""

from __future__ import annotations

import time
from collections.abc import Sequence

import dagster as dg
import pyarrow as pa

from blockanalytix_assets.preview import Column, arrow_columns, summarise


def table_schema(columns: Sequence[Column]) -> dg.TableSchema:
    """Dagster's column schema (shown on the asset's Overview) of Arrow columns."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(c.name, c.type, constraints=dg.TableColumnConstraints(nullable=c.nullable)) for c in columns
        ]
    )


def schema_metadata(schema: pa.Schema) -> dict[str, dg.MetadataValue]:
    """An AssetSpec's `dagster/column_schema` for a table whose schema is known before it is written."""
    return {"dagster/column_schema": dg.MetadataValue.table_schema(table_schema(arrow_columns(schema)))}


def table_metadata(
    table: pa.Table,
    *,
    preview: Sequence[str] | None = None,
    path: str | None = None,
    span: tuple[int, int] | None = None,
    rows: int | None = None,
) -> dict[str, dg.MetadataValue]:
    """rows, dagster/row_count, dagster/column_schema, first_block/last_block (span), path and a markdown preview."""
    s = summarise(table, preview=preview, path=path, span=span, rows=rows)
    meta: dict[str, dg.MetadataValue] = {
        "rows": dg.MetadataValue.int(s.rows),
        "dagster/row_count": dg.MetadataValue.int(s.rows),
        "dagster/column_schema": dg.MetadataValue.table_schema(table_schema(s.columns)),
    }
    if s.span is not None:
        meta["first_block"] = dg.MetadataValue.int(s.span[0])
        meta["last_block"] = dg.MetadataValue.int(s.span[1])
    if s.path is not None:
        meta["path"] = dg.MetadataValue.path(s.path)
    meta["preview"] = dg.MetadataValue.md(s.preview)
    return meta


def seconds_since(started: float) -> dg.MetadataValue:
    """The `seconds` metadata value: wall time since a time.perf_counter() reading, to the millisecond."""
    return dg.MetadataValue.float(round(time.perf_counter() - started, 3))
