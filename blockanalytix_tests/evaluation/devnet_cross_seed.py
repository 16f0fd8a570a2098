"""Devnet cross-seed evaluation: train on one seed's chain, evaluate per typology on another seed's chain.

Self-contained (generates both chains with anvil and materialises them as the pipeline assets would):
  python -m blockanalytix_tests.evaluation.devnet_cross_seed --train-seed 7 --test-seed 11 --blocks 600
On storage roots that already hold transaction_features (e.g. two `make demo` runs) and their labels.csv:
  python -m blockanalytix_tests.evaluation.devnet_cross_seed --roots TRAIN_ROOT TRAIN_LABELS TEST_ROOT TEST_LABELS
Writes blockanalytix_tests/evaluation/results/devnet_cross_seed.json: PR-AUC and recall at 1% FPR per
typology for the classifier, the autoencoder and the tree baseline (no MLflow: nothing is registered).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results" / "devnet_cross_seed.json"
METRICS = ("pr_auc", "recall_at_1pct_fpr", "roc_auc")


def feature_columns(internal: bool) -> list[str]:
    """The transaction models' inputs, plus the internal_* transaction columns (null, no traces: 0) if asked."""
    from blockanalytix_assets.features.internal import INTERNAL_TX_FEATURE_COLUMNS
    from blockanalytix_assets.features.transaction import FEATURE_COLUMNS

    return list(FEATURE_COLUMNS) + (INTERNAL_TX_FEATURE_COLUMNS if internal else [])


def _load(root: str, labels_csv: str, columns: list[str]):
    from blockanalytix_assets.storage import Storage

    store = Storage(str(root))
    keys = store.keys("transaction_features")
    if not keys:
        raise SystemExit(f"{root} has no transaction_features: materialise the devnet pipeline there first")
    tables = {k: store.read("transaction_features", k) for k in keys}
    labels = pd.read_csv(labels_csv)
    labels["address"] = labels["address"].str.lower()
    df = pd.concat([t.to_pandas() for t in tables.values()], ignore_index=True).drop_duplicates("hash", keep="last")
    x = df[columns].astype("float32").fillna(0.0).to_numpy(np.float32)
    return df, x, labels


def _typology_of(df: pd.DataFrame, labels: pd.DataFrame) -> np.ndarray:
    """The typology of the labelled address a transaction touches (sender first), '' when none."""
    lookup = dict(zip(labels["address"], labels["typology"], strict=False))
    frm = df["from_address"].map(lookup)
    return frm.fillna(df["to_address"].map(lookup)).fillna("").to_numpy()


def _finite(v: float) -> float | None:
    return None if math.isnan(v) else round(v, 4)


def run(
    train_root: str, train_labels: str, test_root: str, test_labels: str, epochs: int = 20, internal: bool = False
) -> dict:
    """Fit on the train chain (its later quarter validates for early stopping), score the test chain."""
    import keras
    from sklearn.ensemble import HistGradientBoostingClassifier

    from blockanalytix_assets.devnet.world import TYPOLOGIES
    from blockanalytix_assets.ml import models as M
    from blockanalytix_assets.ml.evaluation import safe_binary_report
    from blockanalytix_assets.ml.specs import model
    from blockanalytix_assets.ml.unsupervised import normal_rows, reconstruction_errors

    clf_spec, ae_spec = model("anomaly_classifier"), model("transaction_autoencoder")

    t0 = time.perf_counter()
    columns = feature_columns(internal)
    df_a, x_a, lab_a = _load(train_root, train_labels, columns)
    df_b, x_b, lab_b = _load(test_root, test_labels, columns)
    typ_a = _typology_of(df_a, lab_a)
    y_a = (typ_a != "").astype("int32")
    typ_b = _typology_of(df_b, lab_b)
    order = np.argsort(df_a["block_number"].to_numpy(), kind="stable")  # by block order: no leakage in time
    cut = int(len(order) * 0.75)
    tr, va = order[:cut], order[cut:]
    # Same model settings as the pipeline's (ml/specs.py).
    clf = M.build_anomaly_classifier(x_a[tr], **clf_spec.params)
    stop = [M.early_stopping_on_pr_auc(clf_spec.patience)] if y_a[va].any() else []
    t_fit = time.perf_counter()
    hist = clf.fit(x_a[tr], y_a[tr], validation_data=(x_a[va], y_a[va]), epochs=epochs,
                   batch_size=clf_spec.batch_size, verbose=0, class_weight=M.class_weights(y_a[tr]),
                   callbacks=stop)  # fmt: skip
    fit_seconds = time.perf_counter() - t_fit
    # Like ml/unsupervised.autoencoder_run: it learns the transactions that touch no labelled address.
    ae_tr, ae_va = normal_rows(x_a[tr], y_a[tr]), normal_rows(x_a[va], y_a[va])
    ae = M.build_transaction_autoencoder(ae_tr, **ae_spec.params)
    _, normaliser, _ = M.autoencoder_views(ae)
    ae_val = (ae_va, M.predict_big(normaliser, ae_va))
    ae_stop = keras.callbacks.EarlyStopping(patience=ae_spec.patience, restore_best_weights=True)
    ae_hist = ae.fit(ae_tr, M.predict_big(normaliser, ae_tr), validation_data=ae_val, epochs=epochs,
                     batch_size=ae_spec.batch_size, verbose=0, callbacks=[ae_stop])  # fmt: skip
    tree = HistGradientBoostingClassifier(random_state=0).fit(x_a[tr], y_a[tr])
    scores = {
        "classifier": M.predict_big(clf, x_b).ravel(),
        "autoencoder": reconstruction_errors(ae, x_b)[0],
        "tree_baseline": tree.predict_proba(x_b)[:, 1],
    }
    result: dict = {
        "train_rows": int(len(x_a)),
        "test_rows": int(len(x_b)),
        "epochs_run": {"classifier": len(hist.history["loss"]), "autoencoder": len(ae_hist.history["loss"])},
        "classifier": {
            **{k: str(v) for k, v in clf_spec.params.items()},
            "batch_size": clf_spec.batch_size,
            "patience": clf_spec.patience,
            "fit_seconds": round(fit_seconds, 1),
            "train_samples_per_s": round(len(tr) * len(hist.history["loss"]) / fit_seconds),
        },
        "autoencoder": {
            **{k: str(v) for k, v in ae_spec.params.items()},
            "batch_size": ae_spec.batch_size,
            "patience": ae_spec.patience,
            "fit_rows": "unlabelled",
            "n_fit": int(len(ae_tr)),
        },
        "negatives_in_test": int((typ_b == "").sum()),
        "typologies": {},
    }
    for typology in ["all", *TYPOLOGIES, *sorted(set(typ_b) - set(TYPOLOGIES) - {""})]:
        positive = typ_b != "" if typology == "all" else typ_b == typology
        keep = positive | (typ_b == "")  # other typologies are neither positives nor negatives here
        train_pos = int((typ_a != "").sum() if typology == "all" else (typ_a == typology).sum())
        row: dict = {"positives": int(positive.sum()), "train_positives": train_pos}
        if not positive.any():
            row["note"] = "no positive transactions in the test chain: not measurable"
        for name, s in scores.items():
            rep = safe_binary_report(positive[keep], s[keep])
            row[name] = {k: _finite(rep[k]) for k in METRICS}
        result["typologies"][typology] = row
    result["evaluation_seconds"] = round(time.perf_counter() - t0, 1)
    return result


def write(result: dict, path: Path = RESULTS) -> None:
    """Write the result JSON (strict JSON: unmeasurable figures are null) and print it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, allow_nan=False) + "\n")
    print(json.dumps(result, indent=2))


def table(result: dict) -> str:
    """A plain-text table of PR-AUC / recall at 1% FPR per typology and model."""
    models = ("classifier", "autoencoder", "tree_baseline")
    lines = [f"{'typology':18} {'pos':>5} " + " ".join(f"{m + ' PR-AUC/R@1%':>26}" for m in models)]
    for typ, row in result["typologies"].items():
        cells = [f"{_fmt(row[m]['pr_auc'])}/{_fmt(row[m]['recall_at_1pct_fpr'])}" for m in models]
        lines.append(f"{typ:18} {row['positives']:>5} " + " ".join(f"{c:>26}" for c in cells))
    return "\n".join(lines)


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def main(argv: list[str] | None = None) -> dict:
    """CLI: prepare both chains (or take existing roots), evaluate, write results/devnet_cross_seed.json."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train-seed", type=int, default=7)
    p.add_argument("--test-seed", type=int, default=11)
    p.add_argument("--blocks", type=int, default=600, help="Blocks per generated chain.")
    p.add_argument("--range-size", type=int, default=100, help="Blocks per partition (BLOCKANALYTIX_RANGE_SIZE).")
    p.add_argument("--lookback", type=int, default=3, help="transaction_features lookback_ranges.")
    p.add_argument("--epochs", type=int, default=20, help="Maximum epochs per Keras model (early stopping).")
    p.add_argument(
        "--roots",
        nargs=4,
        metavar=("TRAIN_ROOT", "TRAIN_LABELS", "TEST_ROOT", "TEST_LABELS"),
        help="Skip the preparation: evaluate storage roots that already hold transaction_features.",
    )
    p.add_argument(
        "--internal",
        action="store_true",
        help="Also feed the internal_* transaction columns (writes devnet_cross_seed_internal.json).",
    )
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    if args.roots:
        result = {"source": "existing roots", **run(*args.roots, epochs=args.epochs, internal=args.internal)}
    else:
        from blockanalytix_tests.evaluation.devnet_prepare import prepare_seed

        if args.train_seed == args.test_seed:
            raise SystemExit("--train-seed and --test-seed must differ: the point is an unseen chain")
        train, test = (prepare_seed(s, args.blocks, args.range_size, args.lookback)
                       for s in (args.train_seed, args.test_seed))  # fmt: skip
        chains = {
            role: {"seed": c.seed, "blocks": args.blocks, "ranges": len(c.keys), "transactions": c.rows,
                   "label_addresses": c.manifest["labels"], "generated": c.generated,
                   "prepare_seconds": round(c.seconds, 1)}
            for role, c in (("train", train), ("test", test))
        }  # fmt: skip
        result = {
            "source": "generated devnet chains",
            "range_size": args.range_size,
            "lookback_ranges": args.lookback,
            "max_epochs": args.epochs,
            "chains": chains,
            **run(
                str(train.root),
                str(train.labels),
                str(test.root),
                str(test.labels),
                epochs=args.epochs,
                internal=args.internal,
            ),
        }
    result["total_seconds"] = round(time.perf_counter() - t0, 1)
    result["internal_columns"] = args.internal
    write(result, RESULTS.with_stem(RESULTS.stem + "_internal") if args.internal else RESULTS)
    print(table(result))
    return result


if __name__ == "__main__":
    main()
