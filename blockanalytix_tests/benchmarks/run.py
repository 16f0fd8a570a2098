"""`make bench`: the ingest, traces, features, scoring and serving benchmarks; a summary; results/*.json."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
import time
import traceback
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
PACKAGE = "blockanalytix_tests.benchmarks"
# (module, whether it must exist, the figures the summary shows)
BENCHES = (
    ("bench_ingest", True, ("ours_marginal_cpu_us_per_tx", "etl_marginal_cpu_us_per_tx", "cpu_ratio_ours_to_etl",
                            "wall_ratio_ours_to_bare_fetch", "ours_fixed_wall_s",
                            "dagster_fixed_wall_s_per_partition_run", "peak_rss_mb", "heavy_modules_in_ingest_run")),
    ("bench_traces", True, ("traces", "ours_marginal_cpu_us_per_trace", "etl_marginal_cpu_us_per_trace",
                            "cpu_ratio_ours_to_etl", "ours_cpu_growth_10x_traces", "peak_rss_mb", "same_rows_as_etl")),
    ("bench_features", True, ("transactions", "total_s", "clean_rows_per_s", "features_rows_per_s",
                              "ratio_to_io_floor", "peak_rss_gb")),
    ("bench_scoring", False, ("rows", "seconds_median", "tx_per_s_median", "model_load_seconds",
                              "classifier_train_samples_per_s")),
    ("bench_serving", True, ("ranges", "update_median_s", "update_amortised_s", "tx_lookup_p95_ms", "address_p95_ms",
                             "server_peak_rss_mb", "concurrent_errors", "disk_gb")),
    ("bench_tree_updates", True, ("median_ratio_largest_to_smallest", "meets_target")),
    ("bench_train_device", False, ("backend", "epoch_s_batch_512", "train_samples_per_s_batch_512",
                                   "epoch_s_batch_4096", "train_samples_per_s_batch_4096")),
)  # fmt: skip


def run_one(module: str, required: bool) -> dict | None:
    """Import and run one benchmark's run(); None when an optional module is absent."""
    name = f"{PACKAGE}.{module}"
    if importlib.util.find_spec(name) is None:
        if required:
            raise ModuleNotFoundError(f"benchmark {name} is missing")
        return None
    return importlib.import_module(name).run()


def met(figures: dict) -> bool | None:
    """The benchmark's own verdict on its targets (meets_targets or meets_target), if it gives one."""
    for key in ("meets_targets", "meets_target"):
        if key in figures:
            return bool(figures[key])
    return None


def summary_table(rows: list[tuple[str, str, object]]) -> str:
    """A plain-text table of (benchmark, figure, value) rows."""
    width = [max(len(str(r[i])) for r in rows) for i in range(2)]
    lines = [f"{'benchmark':<{width[0]}}  {'figure':<{width[1]}}  value", "-" * (sum(width) + 12)]
    lines += [f"{b:<{width[0]}}  {f:<{width[1]}}  {v}" for b, f, v in rows]
    return "\n".join(lines)


def main() -> int:
    """Run every benchmark in order; return 1 if one of them failed to run (missed targets are reported)."""
    summary: dict[str, dict] = {}
    rows: list[tuple[str, str, object]] = []
    failed = False
    for module, required, headline in BENCHES:
        print(f"== {module}", flush=True)
        t0 = time.perf_counter()
        try:
            figures = run_one(module, required)
        except Exception:
            traceback.print_exc()
            failed = True
            summary[module] = {"error": traceback.format_exc(limit=3)}
            rows.append((module, "error", "see the traceback above"))
            continue
        if figures is None:
            rows.append((module, "skipped", "module not present"))
            continue
        seconds = round(time.perf_counter() - t0, 1)
        summary[module] = {"seconds": seconds, "meets_targets": met(figures)} | {
            k: figures[k] for k in headline if k in figures
        }
        rows += [(module, k, v) for k, v in summary[module].items()]
    print()
    print(summary_table(rows))
    meta = {"cpu_count": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2),
            "python": sys.version.split()[0], "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "summary.json").write_text(json.dumps(summary | {"machine": meta}, indent=2, default=str) + "\n")
    print(f"\nfigures in {RESULTS}/")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
