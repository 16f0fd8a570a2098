"""RPC JSON (dicts of hex strings) -> Arrow tables with exactly the schemas of ingest/schema.py.

The mappers live in block_mapping.py (blocks, transactions + receipts), log_mapping.py (logs, token
transfers) and mapping_common.py (extractors, diagnosis, table building); this module re-exports them.
"""

from blockanalytix_assets.ingest.block_mapping import (
    BLOCK_COLS,
    RECEIPT_COLS,
    TX_COLS,
    WITHDRAWAL_KEYS,
    map_blocks,
    map_transactions,
)
from blockanalytix_assets.ingest.log_mapping import LOG_COLS, ORDER, TRANSFER_TOPIC, map_logs, map_token_transfers
from blockanalytix_assets.ingest.mapping_common import MalformedResponseError, Receipts

__all__ = [
    "BLOCK_COLS", "LOG_COLS", "ORDER", "RECEIPT_COLS", "TRANSFER_TOPIC", "TX_COLS", "WITHDRAWAL_KEYS",
    "MalformedResponseError", "Receipts", "map_blocks", "map_logs", "map_token_transfers", "map_transactions",
]  # fmt: skip
