"""Small, dependency-free summaries of tables for asset metadata: markdown previews, columns, row counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa


def _cell(v: object, width: int = 18) -> str:
    s = "" if v is None else str(v)
    s = s.replace("|", "\\|").replace("\n", " ")
    return s if len(s) <= width else s[: width - 1] + "…"


def markdown_preview(table: pa.Table, columns: list[str] | None = None, rows: int = 5) -> str:
    """The first rows of a table as a markdown table (long values shortened)."""
    cols = [c for c in (columns or table.column_names[:8]) if c in table.column_names]
    if not cols:
        return "_no columns_"
    head = table.select(cols).slice(0, rows).to_pylist()
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(_cell(r[c]) for c in cols) + " |" for r in head]
    if table.num_rows > rows:
        lines.append(f"\n_{table.num_rows - rows} more rows_")
    return "\n".join(lines)


@dataclass(frozen=True)
class Column:
    """One column as the metadata shows it: name, Arrow type and whether it may be null."""

    name: str
    type: str
    nullable: bool


@dataclass(frozen=True)
class TableSummary:
    """What a materialisation says about the table it wrote: rows, columns, block span, path and a preview."""

    rows: int
    columns: tuple[Column, ...]
    preview: str
    span: tuple[int, int] | None = None  # (first block, last block) of the partition(s)
    path: str | None = None


def arrow_columns(schema: pa.Schema) -> tuple[Column, ...]:
    """The schema's columns with their Arrow type names (decimal128(38, 0), list<item: string>, ...)."""
    return tuple(Column(f.name, str(f.type), f.nullable) for f in schema)


def summarise(
    table: pa.Table,
    *,
    preview: Sequence[str] | None = None,
    path: str | None = None,
    span: tuple[int, int] | None = None,
    rows: int | None = None,
) -> TableSummary:
    """The table's summary; `rows` overrides its row count (a run writing several ranges reports their sum)."""
    return TableSummary(
        rows=table.num_rows if rows is None else rows,
        columns=arrow_columns(table.schema),
        preview=markdown_preview(table, list(preview) if preview is not None else None),
        span=span,
        path=path,
    )
