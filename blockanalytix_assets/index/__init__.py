"""Run trees over per-range tables: lifetime address profiles and the transaction-hash index."""
