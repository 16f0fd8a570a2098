"""Screenshots of a running demo's MLflow for docs/: the training-runs view and the compare view of its runs.

python -m blockanalytix_tests.evaluation.demo_screenshots --mlflow http://127.0.0.1:5000 --out docs
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import mlflow

from blockanalytix_assets.ml.tracking import experiment_url
from blockanalytix_tests.integration.test_browser_mlflow import NO_ASSISTANT_JS
from blockanalytix_tests.plugins.browser import CHROMIUM_ARGS, chromium_path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mlflow", default="http://127.0.0.1:5000")
    ap.add_argument("--experiment", default="blockanalytix")
    ap.add_argument("--out", default="docs")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    client = mlflow.MlflowClient(args.mlflow)
    exp = client.get_experiment_by_name(args.experiment)
    runs = client.search_runs([exp.experiment_id], filter_string="tags.model_kind != ''", order_by=["start_time ASC"])
    # The classifier beside its tree baseline: the comparison a scientist makes before promoting.
    names = {r.info.run_name: r.info.run_id for r in runs}
    ids = [names[n] for n in ("anomaly_classifier", "anomaly_classifier_tree_baseline") if n in names]
    out = Path(args.out)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        page.add_init_script(NO_ASSISTANT_JS)
        page.goto(experiment_url(args.mlflow, exp.experiment_id))
        page.get_by_text(f"{len(runs)} matching runs").wait_for(timeout=60_000)
        page.get_by_text("spec=").first.wait_for(timeout=30_000)  # the Dataset column
        page.wait_for_timeout(1500)
        page.screenshot(path=str(out / "mlflow-training-runs.png"))
        page.set_viewport_size({"width": 1400, "height": 1150})
        query = f"runs={json.dumps(ids)}&experiments={json.dumps([exp.experiment_id])}&workflowType=machine_learning"
        page.goto(f"{args.mlflow}/#/compare-runs?{query}")
        page.get_by_text(f"Comparing {len(ids)} Runs").wait_for(timeout=60_000)
        for section in ("Visualizations", "Parameters"):  # fold them: the metrics come into view
            page.get_by_text(section, exact=True).click()
        page.wait_for_timeout(1500)
        page.screenshot(path=str(out / "mlflow-compare.png"))
        browser.close()
    print(json.dumps({"training_runs": len(runs), "compared": len(ids), "out": str(out)}))


if __name__ == "__main__":
    main()
