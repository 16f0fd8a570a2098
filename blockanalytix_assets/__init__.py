"""BlockAnalytix: Ethereum JSON-RPC -> partitioned Parquet -> features -> models -> scored reports."""

__version__ = "0.1.0"
