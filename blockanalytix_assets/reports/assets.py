"""Report assets: a plotly HTML anomaly report per block range and an overview across all ranges."""

import time

import dagster as dg
import pandas as pd
from pydantic import Field

from blockanalytix_assets import table_names as tn
from blockanalytix_assets.metadata import seconds_since
from blockanalytix_assets.ml import range_drift
from blockanalytix_assets.partitions import RANGE_BATCHES, block_ranges
from blockanalytix_assets.preview import markdown_preview
from blockanalytix_assets.reports import data, drift_figures, html, overview_figures, png, summary, tracking
from blockanalytix_assets.resources import MlflowResource, StorageResource
from blockanalytix_assets.settings import Settings
from blockanalytix_assets.storage import Storage

TOP_COLUMNS = ["rank", "anomaly_score", "hash", "from_address", "to_address", "value_eth", "reasons", "label"]
AC = dg.AutomationCondition
# The overview waits for nothing missing: ranges that are never scored must not block it forever.
OVERVIEW_CONDITION = AC.eager().without(~AC.any_deps_missing()).without(AC.in_latest_time_window())


class ReportConfig(dg.Config):
    """Per-run options of the report assets."""

    png: bool = Field(
        default=Settings.from_env().report_png,
        description="Also export each figure as PNG via kaleido (needs chromium); the default comes from "
        "BLOCKANALYTIX_REPORT_PNG (on; the demo turns it off: a browser start and ~0.5 s a figure).",
    )


def _export_pngs(
    context: dg.AssetExecutionContext, config: ReportConfig, store: Storage, batches: dict[str, dict]
) -> int:
    """PNG copies of the figures, folder -> {name: figure}, through one browser start; returns how many."""
    if not config.png:
        return 0
    written, skipped = png.export_png_batches(store, batches)
    if skipped:
        context.log.warning(f"PNG figures skipped: {skipped}")
    return len(written)


def _file_metadata(location: str) -> dict[str, dg.MetadataValue]:
    return {
        "url": dg.MetadataValue.url(html.location_url(location)),
        "path": dg.MetadataValue.path(location),
    }


@dg.asset(
    partitions_def=block_ranges,
    deps=[tn.ANOMALY_SCORES, tn.TRANSACTION_CLUSTERS, tn.CLEANED_TRANSACTIONS, tn.ADDRESS_LABELS],
    group_name="reports",
    kinds={"plotly", "html"},
    automation_condition=AC.eager(),
    backfill_policy=RANGE_BATCHES,  # one process start per 10 reports
    description="Self-contained plotly HTML report of one range: scores, top anomalies, clusters, activity.",
)
def anomaly_report(
    context: dg.AssetExecutionContext, config: ReportConfig, storage: StorageResource, mlflow: MlflowResource
) -> dg.MaterializeResult:
    """Render each range's anomaly report, write it next to the tables and attach it to the range's scoring run."""
    store = storage.storage()
    champ, why = range_drift.load_champion(mlflow.tracking_uri, mlflow.classifier_model_name)
    by_range: dict[str, dict] = {}
    figures: dict[str, dict] = {}
    for key in sorted(context.partition_keys):
        drift = range_drift.range_drift(store, champ, key, why)
        meta, figures[f"{html.ANOMALY_REPORT_DIR}/{key}"] = _render_range(context, store, mlflow, key, drift)
        by_range[key] = {k: meta[k].value for k in ("rows", "anomalies", "drifted")}
    meta["png_figures"] = dg.MetadataValue.int(_export_pngs(context, config, store, figures))
    # Dagster copies a run's one materialization to each of its ranges (dagster#18123): by_range has each range's.
    return dg.MaterializeResult(
        metadata={
            **meta,
            "ranges_in_run": dg.MetadataValue.int(len(by_range)),
            "by_range": dg.MetadataValue.json(by_range),
        }
    )


def _render_range(
    context: dg.AssetExecutionContext, store: Storage, mlflow: MlflowResource, key: str, drift: range_drift.RangeDrift
) -> tuple[dict[str, dg.MetadataValue], dict]:
    """One range's report: HTML, drift row and MLflow artefact; its metadata and figures (for the PNGs)."""
    started = time.perf_counter()
    store.write(range_drift.DRIFT_ASSET, key, drift.table())
    tables = data.load_report_inputs(store, key)
    page = html.render_anomaly_report(key, tables.scores, tables.clusters, tables.transactions, tables.labels, drift)
    location = html.write_report(store, html.anomaly_report_relpath(key), page)
    figs = html.anomaly_report_figures(tables.scores, tables.clusters, tables.transactions)
    files = {f"anomaly_report_{key}.html": page.encode("utf-8")}
    try:
        run_id = tracking.log_report(
            mlflow.tracking_uri, mlflow.scoring_experiment_name, key, files, metrics=drift.metrics()
        )
        mlflow_meta = dg.MetadataValue.text(run_id)
    except Exception as exc:  # the report itself is written; MLflow being down must not lose it
        context.log.warning(f"Report not logged to MLflow: {type(exc).__name__}")
        mlflow_meta = dg.MetadataValue.text(f"not logged ({type(exc).__name__})")
    top = summary.top_anomalies(tables.scores, 10)
    thr = summary.partition_threshold(tables.scores)
    return {
        **_file_metadata(location),
        "rows": dg.MetadataValue.int(len(tables.scores)),
        "anomalies": dg.MetadataValue.int(int(summary.above_threshold(tables.scores).sum())),
        "threshold": dg.MetadataValue.float(float("nan") if thr is None else thr),
        "drift_feature_max_psi": dg.MetadataValue.float(drift.feature_max_psi),
        "drift_score_psi": dg.MetadataValue.float(drift.score_psi),
        "drifted": dg.MetadataValue.text(", ".join(drift.drifted) or "none"),
        "mlflow_run_id": mlflow_meta,
        "seconds": seconds_since(started),
        "top_anomalies": dg.MetadataValue.md(_top_markdown(top)),
    }, figs


@dg.asset(
    deps=[tn.ANOMALY_SCORES, tn.CLEANED_TRANSACTIONS, tn.ANOMALY_REPORT],
    group_name="reports",
    kinds={"plotly", "html"},
    automation_condition=OVERVIEW_CONDITION,
    description="Overview HTML across every materialised range: volume, anomalies, model versions.",
)
def overview_report(
    context: dg.AssetExecutionContext, config: ReportConfig, storage: StorageResource
) -> dg.MaterializeResult:
    """Summarise every stored range and render the overview report with links to each range's report."""
    started = time.perf_counter()
    store = storage.storage()
    frame = data.overview_frame(store)
    links = {k: f"anomaly_report/{k}.html" for k in data.report_keys(store)}
    drift = drift_figures.drift_frame(range_drift.read_drift(store))
    page = html.render_overview_report(frame, links, drift)
    location = html.write_report(store, html.OVERVIEW_RELPATH, page)
    pngs = _export_pngs(context, config, store, {"reports/overview": overview_figures.overview_figures(frame)})
    return dg.MaterializeResult(
        metadata={
            **_file_metadata(location),
            "rows": dg.MetadataValue.int(len(frame)),
            "transactions": dg.MetadataValue.int(int(frame["transactions"].fillna(0).sum()) if len(frame) else 0),
            "anomalies": dg.MetadataValue.int(int(frame["anomalies"].fillna(0).sum()) if len(frame) else 0),
            "anomalies_by_range": dg.MetadataValue.json(
                {r["key"]: int(r["anomalies"] or 0) for r in frame.to_dict("records") if r["scored"]}
            ),
            "drifting_ranges": dg.MetadataValue.int(int((drift["drifted"] != "").sum()) if len(drift) else 0),
            "png_figures": dg.MetadataValue.int(pngs),
            "seconds": seconds_since(started),
        }
    )


def _top_markdown(top: pd.DataFrame) -> str:
    import pyarrow as pa

    if top.empty:
        return "_no scored transactions_"
    cols = [c for c in TOP_COLUMNS if c in top.columns]
    return markdown_preview(pa.Table.from_pandas(top[cols], preserve_index=False), cols, rows=10)
