"""JSON-safe rows and opaque page cursors for the API's answers."""

from __future__ import annotations

import base64
import binascii
import math
from decimal import Decimal

from blockanalytix_assets.reports.data import SCORE_COLUMNS
from blockanalytix_assets.reports.summary import TOP_FEATURE_COLUMNS

TX_COLUMNS = [
    "hash",
    "block_number",
    "block_timestamp",
    "transaction_index",
    "from_address",
    "to_address",
    "value",
    "value_eth",
    "fee_eth",
    "gas",
    "gas_price",
    "receipt_gas_used",
    "receipt_status",
    "method_selector",
    "failed",
    "is_contract_creation",
    "is_contract_call",
    "token_transfer_count",
    "gas_price_to_base_fee",
]
RISK_COLUMNS = ["address", "risk_score", "rank", "model_version", "label"]
LABEL_FIELDS = ["label", "category", "source", "first_seen"]


class CursorError(ValueError):
    """A page cursor this API did not hand out."""


def encode_cursor(*values: int) -> str:
    """An opaque cursor for integers (a page position): URL-safe base64 of their decimal text."""
    return base64.urlsafe_b64encode(".".join(str(int(v)) for v in values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, count: int) -> tuple[int, ...]:
    """The integers of a cursor from encode_cursor; CursorError when it is not one."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        values = tuple(int(v) for v in text.split("."))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise CursorError(f"invalid cursor {cursor!r}: pass the next_cursor of the previous page") from None
    if len(values) != count or any(v < 0 for v in values):
        raise CursorError(f"invalid cursor {cursor!r}: pass the next_cursor of the previous page")
    return values


def clean(value: object) -> object:
    """A JSON-safe scalar: NaN becomes None, decimals strings."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Decimal):
        return str(value)
    return value


def pick(row: dict, columns: list[str], prefix: str = "") -> dict:
    """The named columns of a row (None where the file lacked the column), JSON-safe."""
    return {c: clean(row.get(prefix + c)) for c in columns}


def anomaly_row(row: dict, prefix: str = "") -> dict:
    """A score row as the API's Anomaly: reasons gathered, above_threshold from the row's threshold."""
    out = pick(row, SCORE_COLUMNS, prefix)
    out["reasons"] = [r for r in (out.pop(c) for c in TOP_FEATURE_COLUMNS) if r]
    threshold = out.pop("threshold")
    out["above_threshold"] = threshold is not None and out["anomaly_score"] >= threshold
    return out


def transaction_row(row: dict, key: str, score: dict | None, prefix: str = "") -> dict:
    """A cleaned_transactions row as the API's Transaction (value as an exact wei string)."""
    out = pick(row, TX_COLUMNS, prefix)
    out["value_wei"] = out.pop("value")
    out.update(partition_key=key, score=score)
    return out
