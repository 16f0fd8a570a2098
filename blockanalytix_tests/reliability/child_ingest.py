"""Subprocess entry: materialise raw_ingest for one range on the DAGSTER_HOME instance, maybe hanging mid-write.

Usage: python -m blockanalytix_tests.reliability.child_ingest URL ROOT KEY RANGE_SIZE
With HANG_WRITE_AT=N and HANG_MARKER=path, the N-th Parquet write (1-based) writes the temporary file's
first half, creates the marker file and sleeps, so that the parent can SIGKILL it inside Storage.write.
"""

from __future__ import annotations

import io
import os
import sys
import time
from pathlib import Path


def _hang_in_write(nth: int, marker: Path) -> None:
    import pyarrow.parquet as pq

    real = pq.write_table
    calls = 0

    def write_table(table, where, **kwargs):
        nonlocal calls
        calls += 1
        if calls != nth:
            return real(table, where, **kwargs)
        buf = io.BytesIO()
        real(table, buf, **kwargs)
        data = buf.getvalue()
        with open(where, "wb") as fh:  # the temporary file Storage.write renames later
            fh.write(data[: len(data) // 2])
            fh.flush()
            os.fsync(fh.fileno())
        marker.write_text(str(where))
        time.sleep(600)
        raise AssertionError("the parent should have killed this process")

    pq.write_table = write_table


def main(url: str, root: str, key: str, range_size: str) -> int:
    """Run the materialisation; exit 0 on success."""
    import dagster as dg

    from blockanalytix_tests.reliability.support import ingest, resources

    if os.environ.get("HANG_WRITE_AT"):
        _hang_in_write(int(os.environ["HANG_WRITE_AT"]), Path(os.environ["HANG_MARKER"]))
    with dg.DagsterInstance.get() as instance:
        result = ingest([key], instance, resources(url, root, int(range_size)))
    print("RUN", result.run_id, "SUCCESS" if result.success else "FAILURE", flush=True)
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
