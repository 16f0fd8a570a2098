"""Illicit-address label lists (devnet ground truth, OFAC, phishing lists) normalised to one table."""

from __future__ import annotations

import io
import json
import logging
import re
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

log = logging.getLogger(__name__)

LABEL_DATA = Path(__file__).parent / "label_data"
ADDRESS_RE = re.compile(r"^0x[0-9a-f]{40}$")
CATEGORIES = ("sanctioned", "phishing", "exploit", "scam", "devnet_typology")
LABELS_SCHEMA = pa.schema(
    [
        ("address", pa.string()),
        ("label", pa.string()),
        ("category", pa.string()),
        ("source", pa.string()),
        ("first_seen", pa.int64()),
    ]
)
# Which label wins when an address is on several lists (see primary_labels).
CATEGORY_PRIORITY = {"devnet_typology": 0, "sanctioned": 1, "exploit": 2, "phishing": 3, "scam": 4}
FORMATS = ("devnet_csv", "ofac_txt", "ofac_json", "forta_csv", "mew_darklist_json")


@dataclass(frozen=True)
class LabelSource:
    """One label list: where it is (path or http(s) URL), its format, and an optional source name."""

    location: str
    format: str
    name: str | None = None


@dataclass
class LoadedLabels:
    """Normalised labels plus the malformed addresses that were skipped (per source)."""

    table: pa.Table
    malformed: dict[str, list[str]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


def default_sources(home: str | Path) -> list[LabelSource]:
    """The demo's sources: the devnet ground truth plus the small lists shipped in the package."""
    return [
        LabelSource(str(Path(home) / "devnet" / "labels.csv"), "devnet_csv", "devnet"),
        LabelSource(str(LABEL_DATA / "ofac_sanctioned_addresses_ETH.txt"), "ofac_txt", "ofac"),
        LabelSource(str(LABEL_DATA / "forta_phishing_scams.csv"), "forta_csv", "forta_phishing"),
        LabelSource(str(LABEL_DATA / "forta_etherscan_malicious_labels.csv"), "forta_csv", "forta_etherscan"),
        LabelSource(str(LABEL_DATA / "forta_malicious_smart_contracts.csv"), "forta_csv", "forta_contracts"),
        LabelSource(str(LABEL_DATA / "mew_addresses_darklist.json"), "mew_darklist_json", "mew_darklist"),
    ]


def _read_text(location: str) -> str:
    if location.startswith(("http://", "https://")):
        with urllib.request.urlopen(location, timeout=30) as resp:  # noqa: S310 (configured list URL)
            return resp.read().decode("utf-8")
    return Path(location).read_text(encoding="utf-8")


def _category_from_text(*texts: object) -> str:
    t = " ".join(str(x).lower() for x in texts if isinstance(x, str))
    if "exploit" in t or "heist" in t or ("hack" in t and "phish" not in t):
        return "exploit"
    if "phish" in t:
        return "phishing"
    return "scam"


def _frame(
    address: Iterable[str],
    label: str | Iterable[str],
    category: str | Iterable[str],
    source: str,
    first_seen: Iterable[int] | None = None,
) -> pd.DataFrame:
    address = list(address)
    n = len(address)

    def col(v: str | Iterable[str]) -> list:
        return [v] * n if isinstance(v, str) else list(v)

    return pd.DataFrame(
        {
            "address": address,
            "label": col(label),
            "category": col(category),
            "source": [source] * n,
            "first_seen": pd.array(list(first_seen) if first_seen is not None else [None] * n, dtype="Int64"),
        }
    )


def _parse_forta(text: str, source: str) -> pd.DataFrame:
    df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    cols = set(df.columns)
    if "banned_address" in cols:  # etherscan_malicious_labels.csv
        cat = [_category_from_text(s) for s in df["data_source"]]
        return _frame(df["banned_address"], df["wallet_tag"], cat, source)
    if "contract_address" in cols:  # malicious_smart_contracts.csv
        creator = zip(df["contract_creator_etherscan_label"], df["contract_creator_tag"], strict=True)
        cat = [_category_from_text(a, b) for a, b in creator]
        label = df["contract_tag"].where(df["contract_tag"] != "", "malicious_contract")
        return _frame(df["contract_address"], label, cat, source)
    if "address" in cols:  # phishing_scams.csv
        label = df["etherscan_tag"] if "etherscan_tag" in cols else "phishing"
        return _frame(df["address"], label, "phishing", source)
    raise ValueError(f"{source}: unrecognised forta_csv columns {sorted(cols)}")


def parse_labels(text: str, fmt: str, source: str) -> pd.DataFrame:
    """Rows (address as found, label, category, source, first_seen) of one list in a known format."""
    if fmt == "devnet_csv":
        df = pd.read_csv(io.StringIO(text), dtype={"address": str, "typology": str})
        first = pd.to_numeric(df.get("first_block"), errors="coerce").astype("Int64")
        return _frame(df["address"], df["typology"], "devnet_typology", source, first)
    if fmt == "ofac_txt":
        lines = [s.strip() for s in text.splitlines() if s.strip() and not s.startswith("#")]
        return _frame(lines, "ofac_sanctioned", "sanctioned", source)
    if fmt == "ofac_json":
        return _frame([str(a) for a in json.loads(text)], "ofac_sanctioned", "sanctioned", source)
    if fmt == "forta_csv":
        return _parse_forta(text, source)
    if fmt == "mew_darklist_json":
        items = json.loads(text)
        comments = [str(i.get("comment") or "mew_darklist") for i in items]
        cat = [_category_from_text(c) for c in comments]
        return _frame([str(i.get("address", "")) for i in items], comments, cat, source)
    raise ValueError(f"unknown label format {fmt!r}; expected one of {', '.join(FORMATS)}")


def load_labels(sources: list[LabelSource]) -> LoadedLabels:
    """Load every source; a missing local file is logged and skipped, malformed addresses are reported."""
    frames, malformed, missing = [], {}, []
    for src in sources:
        name = src.name or src.format
        is_url = src.location.startswith(("http://", "https://"))
        if not is_url and not Path(src.location).is_file():
            log.warning("label source %s: %s does not exist; it contributes no labels", name, src.location)
            missing.append(name)
            continue
        df = parse_labels(_read_text(src.location), src.format, name)
        df["address"] = df["address"].fillna("").astype(str).str.strip().str.lower()
        ok = df["address"].str.fullmatch(ADDRESS_RE.pattern)
        if (~ok).any():
            malformed[name] = df.loc[~ok, "address"].tolist()
        frames.append(df[ok])
    df = pd.concat(frames, ignore_index=True) if frames else _frame([], [], [], "")
    df["label"] = df["label"].fillna("").astype(str).str.strip()
    df = df.drop_duplicates(["address", "source"], keep="first").sort_values(["address", "source"])
    table = pa.Table.from_pandas(df.reset_index(drop=True), schema=LABELS_SCHEMA, preserve_index=False)
    return LoadedLabels(table, malformed, missing)


def primary_labels(labels: pd.DataFrame) -> pd.DataFrame:
    """One row per address: the label of its highest-priority category (devnet, sanctioned, exploit...)."""
    prio = labels["category"].map(CATEGORY_PRIORITY).fillna(len(CATEGORY_PRIORITY))
    return (
        labels.assign(_p=prio).sort_values(["address", "_p", "source"]).drop_duplicates("address")
        .drop(columns="_p").reset_index(drop=True)
    )  # fmt: skip
