"""Devnet cross-seed evaluation: train on one seed's chain, evaluate per typology on another seed's chain.

Both chains must already be materialised (e.g. `BLOCKANALYTIX_STORAGE=/tmp/a make demo` with seed A, then
seed B): each storage root holds transaction_features and the devnet ground truth labels.csv
(address,typology,first_block). Usage:
  python -m blockanalytix_tests.evaluation.devnet_cross_seed TRAIN_ROOT TRAIN_LABELS TEST_ROOT TEST_LABELS
Writes blockanalytix_tests/evaluation/results/devnet_cross_seed.json: PR-AUC and recall at 1% FPR per
typology for the classifier, the autoencoder and the tree baseline (no MLflow: nothing is registered).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results" / "devnet_cross_seed.json"


def _load(root: str, labels_csv: str):
    from blockanalytix_assets.features.transaction import FEATURE_COLUMNS
    from blockanalytix_assets.storage import Storage

    store = Storage(root)
    keys = store.keys("transaction_features")
    if not keys:
        raise SystemExit(f"{root} has no transaction_features: materialise the devnet pipeline there first")
    tables = {k: store.read("transaction_features", k) for k in keys}
    labels = pd.read_csv(labels_csv)
    labels["address"] = labels["address"].str.lower()
    df = pd.concat([t.to_pandas() for t in tables.values()], ignore_index=True)
    x = df[list(FEATURE_COLUMNS)].to_numpy(np.float32)
    return df, x, labels


def _typology_of(df: pd.DataFrame, labels: pd.DataFrame) -> np.ndarray:
    lookup = dict(zip(labels["address"], labels["typology"], strict=False))
    frm = df["from_address"].map(lookup)
    return frm.fillna(df["to_address"].map(lookup)).fillna("").to_numpy()


def run(train_root: str, train_labels: str, test_root: str, test_labels: str, epochs: int = 20) -> dict:
    """Fit on the train chain (its later quarter validates for early stopping), score the test chain."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from blockanalytix_assets.ml import models as M
    from blockanalytix_assets.ml.evaluation import safe_binary_report
    from blockanalytix_assets.ml.unsupervised import reconstruction_errors

    df_a, x_a, lab_a = _load(train_root, train_labels)
    df_b, x_b, lab_b = _load(test_root, test_labels)
    y_a = (_typology_of(df_a, lab_a) != "").astype("int32")
    typ_b = _typology_of(df_b, lab_b)
    order = np.argsort(df_a["block_number"].to_numpy(), kind="stable")
    cut = int(len(order) * 0.75)
    tr, va = order[:cut], order[cut:]
    clf = M.build_anomaly_classifier(x_a[tr], log_transform=False)
    stop = [M.early_stopping_on_pr_auc(5)] if y_a[va].any() else []
    clf.fit(x_a[tr], y_a[tr], validation_data=(x_a[va], y_a[va]), epochs=epochs, batch_size=256, verbose=0,
            class_weight=M.class_weights(y_a[tr]), callbacks=stop)  # fmt: skip
    ae = M.build_transaction_autoencoder(x_a[tr])
    _, normaliser, _ = M.autoencoder_views(ae)
    ae.fit(x_a[tr], M.predict_big(normaliser, x_a[tr]), epochs=epochs, batch_size=256, verbose=0)
    tree = HistGradientBoostingClassifier(random_state=0).fit(x_a[tr], y_a[tr])
    scores = {
        "classifier": M.predict_big(clf, x_b).ravel(),
        "autoencoder": reconstruction_errors(ae, x_b)[0],
        "tree_baseline": tree.predict_proba(x_b)[:, 1],
    }
    result: dict = {"train_rows": int(len(x_a)), "test_rows": int(len(x_b)), "typologies": {}}
    for typology in ["all", *sorted(set(typ_b) - {""})]:
        positive = typ_b != "" if typology == "all" else typ_b == typology
        keep = positive | (typ_b == "")  # other typologies are neither positives nor negatives here
        row = {"positives": int(positive.sum())}
        for name, s in scores.items():
            rep = safe_binary_report(positive[keep], s[keep])
            row[name] = {k: round(rep[k], 4) for k in ("pr_auc", "recall_at_1pct_fpr", "roc_auc")}
        result["typologies"][typology] = row
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    run(*sys.argv[1:5])
