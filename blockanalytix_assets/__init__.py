"""BlockAnalytix: Ethereum JSON-RPC -> partitioned Parquet -> features -> models -> scored reports."""

import warnings

__version__ = "0.1.0"

# Partitioned asset checks are a Dagster "preview" feature we rely on deliberately; say it once, not per check.
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec")
