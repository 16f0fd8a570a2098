"""Small, dependency-free summaries of tables for asset metadata (markdown previews)."""

from __future__ import annotations

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
