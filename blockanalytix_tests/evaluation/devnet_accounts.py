"""Devnet cross-seed evaluation of the account model, per typology, without and with the new feature columns.

Trains on the train seeds' chains and scores the test seed's chain, row by row as address_features has them: per
range, the addresses active in it with their lifetime features as of its end (address_activity merged exactly as
address_profiles does); a row is positive from its address's label's first block on. Each contract typology is
then also left out of training (--unseen), to see what the features say about a pattern the model never saw:
  python -m blockanalytix_tests.evaluation.devnet_accounts --train-seeds 7 11 --test-seed 13 --blocks 600
Writes results/devnet_accounts.json and .md (--name changes the stem): PR-AUC and recall at 1% FPR per typology for
address_risk_model (Keras) and the tree baseline (HistGradientBoosting), each fitted on the address features
without ("before") and with ("after") the columns named internal_* / delegation_* (none: after = before).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)

RESULTS = Path(__file__).parent / "results"
NEW_PREFIXES = ("internal_", "delegation_")
METRICS = ("pr_auc", "recall_at_1pct_fpr")
MODELS = ("keras", "tree")
CONTRACT_TYPOLOGIES = ("mixer", "contract_drainer", "eip7702_sweeper")


def lifetime_features(root: Path, range_size: int) -> pd.DataFrame:
    """address_features of every range as the pipeline computes them: the addresses active in the range, with
    their lifetime features as of its last block (address_activity by the asset's own compute, merged exactly)."""
    from blockanalytix_assets import table_names as tn
    from blockanalytix_assets.features.assets import LIFETIME_COMPUTES
    from blockanalytix_assets.features.profiles import merge_activity, profile_features
    from blockanalytix_assets.ranges import parse_key
    from blockanalytix_assets.storage import Storage

    store = Storage(str(root))
    history, frames = [], []
    for key in store.keys(tn.CLEANED_TRANSACTIONS):
        r = parse_key(key, range_size)
        table, _ = LIFETIME_COMPUTES[tn.ADDRESS_ACTIVITY](store, r)
        history.append(table)
        merged = merge_activity(history)
        active = merged.filter(pa.compute.is_in(merged.column("address"), value_set=table.column("address")))
        frames.append(profile_features(active).to_pandas().assign(last_block=r.last))
    return pd.concat(frames, ignore_index=True)


def feature_sets(df: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(before, after): the address feature columns without the new prefixes, then those plus the new ones."""
    from blockanalytix_assets.features.address import ADDRESS_FEATURE_COLUMNS

    before = [c for c in ADDRESS_FEATURE_COLUMNS if c in df.columns and not c.startswith(NEW_PREFIXES)]
    new = [c for c in df.columns if c.startswith(NEW_PREFIXES) and pd.api.types.is_numeric_dtype(df[c])]
    return before, before + new


def typologies_of(df: pd.DataFrame, labels_csv: Path) -> pd.Series:
    """Per row, the sorted typologies its address is labelled with by the row's last block ('' when none, comma-joined
    when several); None where the address is labelled only later (neither positive nor negative yet)."""
    labels = pd.read_csv(labels_csv)
    labels["address"] = labels["address"].str.lower()
    rows = df[["address", "last_block"]].reset_index().merge(labels, on="address", how="left")
    rows["typology"] = rows["typology"].where(rows["first_block"] <= rows["last_block"])
    out = rows.groupby("index")["typology"].agg(lambda t: ",".join(sorted(set(t.dropna()))))
    later = rows.groupby("index")["first_block"].min().notna() & (out == "")
    return out.where(~later, None).reindex(df.index)


def _matrix(df: pd.DataFrame, columns: list[str]) -> np.ndarray:
    return df[columns].apply(pd.to_numeric, errors="coerce").fillna(0.0).to_numpy(np.float32)


def fit_and_score(train: pd.DataFrame, y: np.ndarray, test: pd.DataFrame, columns: list[str], keras_seeds: int) -> dict:
    """Scores of the test addresses by the Keras account model (mean of keras_seeds fits) and the tree."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from blockanalytix_assets.ml import models as M
    from blockanalytix_assets.ml.accounts import ACCOUNT_CONFIG, fit_address_model

    x_tr, x_te = _matrix(train, columns), _matrix(test, columns)
    keras_scores = [M.predict_big(fit_address_model(x_tr, y, ACCOUNT_CONFIG, seed=s), x_te).ravel()
                    for s in range(keras_seeds)]  # fmt: skip
    tree = HistGradientBoostingClassifier(random_state=0).fit(x_tr, y)
    return {"keras": np.mean(keras_scores, axis=0), "tree": tree.predict_proba(x_te)[:, 1]}


def _finite(v: float) -> float | None:
    return None if math.isnan(v) else round(v, 4)


def _has(typ: pd.Series, typology: str) -> pd.Series:
    """Rows labelled with typology ('all': with any)."""
    return (typ != "") if typology == "all" else typ.str.split(",").apply(lambda s: typology in s)


def per_typology(typ_train: pd.Series, typ_test: pd.Series, scores: dict, typologies: list[str]) -> dict:
    """PR-AUC and recall at 1% FPR per typology (positives: its rows; negatives: unlabelled rows)."""
    from blockanalytix_assets.ml.evaluation import safe_binary_report

    out: dict = {}
    for typology in typologies:
        positive = _has(typ_test, typology)
        keep = (positive | (typ_test == "")).to_numpy()  # other typologies are neither positives nor negatives
        row: dict = {"positives": int(positive.sum()), "train_positives": int(_has(typ_train, typology).sum())}
        for model in MODELS:
            row[model] = {}
            for when, by_model in scores.items():
                rep = safe_binary_report(positive.to_numpy()[keep], by_model[model][keep])
                row[model][when] = {k: _finite(rep[k]) for k in METRICS}
        out[typology] = row
    return out


def _table(rows: dict) -> list[str]:
    head = "| typology | test / train positives | Keras before | Keras after | tree before | tree after |"
    lines = [head, "|---|---|---|---|---|---|"]
    for typ, row in rows.items():
        cells = [_cell(row[m][w]) for m in MODELS for w in ("before", "after")]
        lines.append(f"| {typ} | {row['positives']} / {row['train_positives']} | " + " | ".join(cells) + " |")
    return lines


def markdown(result: dict) -> str:
    """The tables: PR-AUC / recall at 1% FPR per typology, Keras and tree, before and after the new columns."""
    lines = _table(result["typologies"])
    if result.get("unseen"):
        lines += ["", "Each typology left out of training (its rows dropped from the train chains):", ""]
        lines += _table(result["unseen"])
    new = ", ".join(result["new_columns"]) or "none in this build (after = before)"
    return "\n".join([*lines, "", f"New columns: {new}. Measured at {result['commit']}."]) + "\n"


def _cell(m: dict) -> str:
    return " / ".join("n/a" if m[k] is None else f"{m[k]:.3f}" for k in METRICS)


def _commit() -> str:
    run = subprocess.run(["git", "log", "-1", "--format=%h %D"], capture_output=True, text=True, check=False)
    return run.stdout.strip() or "unknown"


def _rows(chains: list) -> tuple[pd.DataFrame, pd.Series]:
    """The chains' address_features rows and their typologies, less the rows of addresses labelled only later."""
    frames = []
    for chain in chains:
        df = lifetime_features(chain.root, chain.range_size)
        frames.append(df.assign(typology=typologies_of(df, chain.labels)))
    rows = pd.concat(frames, ignore_index=True)
    rows = rows[rows["typology"].notna()].reset_index(drop=True)
    return rows, rows.pop("typology").astype(str)


def evaluate(train: list, test, keras_seeds: int, unseen: tuple[str, ...] = ()) -> dict:
    """Fit on the PreparedChains in train, score test, before and after the new columns; then once more for each
    typology in unseen with its rows left out of training."""
    train_df, typ_train = _rows(train)
    test_df, typ_test = _rows([test])
    before, after = feature_sets(pd.concat([train_df, test_df], ignore_index=True))

    def scores(drop: str | None) -> dict:
        keep = ~_has(typ_train, drop).to_numpy() if drop else np.ones(len(train_df), bool)
        y = (typ_train[keep] != "").to_numpy().astype("int32")
        fit = {"before": fit_and_score(train_df[keep], y, test_df, before, keras_seeds)}
        fit["after"] = (
            fit_and_score(train_df[keep], y, test_df, after, keras_seeds) if after != before else fit["before"]
        )
        return fit

    from blockanalytix_assets.devnet.world import TYPOLOGIES

    every = per_typology(typ_train, typ_test, scores(None), ["all", *TYPOLOGIES])
    left_out = {t: {**per_typology(typ_train, typ_test, scores(t), [t])[t], "train_positives": 0} for t in unseen}
    return {
        "train_seeds": [c.seed for c in train],
        "test_seed": test.seed,
        "rows": "address_features per range: the addresses active in a range, lifetime features as of its end",
        "train_rows": len(train_df),
        "test_rows": len(test_df),
        "features_before": len(before),
        "new_columns": after[len(before) :],
        "keras_seeds": keras_seeds,
        "commit": _commit(),
        "typologies": every,
        "unseen": left_out,
    }


def main(argv: list[str] | None = None) -> dict:
    """CLI: prepare the chains, evaluate, write results/devnet_accounts.json and .md."""
    from blockanalytix_tests.evaluation.devnet_prepare import prepare_seed

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train-seeds", type=int, nargs="+", default=[7, 11])
    p.add_argument("--test-seed", type=int, default=13)
    p.add_argument("--blocks", type=int, default=600, help="Blocks per generated chain.")
    p.add_argument("--range-size", type=int, default=100, help="Blocks per partition (BLOCKANALYTIX_RANGE_SIZE).")
    p.add_argument("--keras-seeds", type=int, default=2, help="Keras fits averaged per feature set.")
    p.add_argument("--name", default="devnet_accounts", help="Results file stem under evaluation/results/.")
    p.add_argument(
        "--unseen", nargs="*", default=list(CONTRACT_TYPOLOGIES), help="Typologies also left out of training."
    )
    args = p.parse_args(argv)
    if args.test_seed in args.train_seeds:
        raise SystemExit("--test-seed must not be a train seed: the point is an unseen chain")
    t0 = time.perf_counter()
    train = [prepare_seed(s, args.blocks, args.range_size) for s in args.train_seeds]
    test = prepare_seed(args.test_seed, args.blocks, args.range_size)
    result = {"blocks": args.blocks, **evaluate(train, test, args.keras_seeds, tuple(args.unseen))}
    result["total_seconds"] = round(time.perf_counter() - t0, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(result, indent=2, allow_nan=False) + "\n")
    (RESULTS / f"{args.name}.md").write_text(markdown(result))
    print(markdown(result))
    return result


if __name__ == "__main__":
    main()
