"""Label list parsing and normalisation: formats, categories, malformed addresses, missing sources, URLs."""

import http.server
import threading
from pathlib import Path

import pytest

from blockanalytix_assets.features.labels import (
    ADDRESS_RE,
    CATEGORIES,
    LABELS_SCHEMA,
    LabelSource,
    default_sources,
    load_labels,
    primary_labels,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "labels"
GOOD = "0x" + "ab" * 20


def _devnet_csv(tmp_path: Path) -> Path:
    path = tmp_path / "devnet" / "labels.csv"
    path.parent.mkdir(parents=True)
    path.write_text(
        "address,typology,first_block\n"
        f"{GOOD.upper().replace('0X', '0x')},phishing_drain,42\n"
        "0x1111111111111111111111111111111111111111,peel_chain,\n"
        "0x12,dusting,7\n"
    )
    return path


def test_default_sources_load_with_valid_categories(tmp_path):
    _devnet_csv(tmp_path)
    loaded = load_labels(default_sources(tmp_path))
    df = loaded.table.to_pandas()
    assert loaded.table.schema.equals(LABELS_SCHEMA)
    assert set(df["category"]) <= set(CATEGORIES)
    assert {"devnet", "ofac", "forta_phishing", "forta_etherscan", "forta_contracts", "mew_darklist"} <= set(
        df["source"]
    )
    assert df["address"].str.fullmatch(ADDRESS_RE.pattern).all()
    assert not df.duplicated(["address", "source"]).any()
    assert (df.loc[df["source"] == "ofac", "category"] == "sanctioned").all()
    assert len(df[df["source"] == "ofac"]) == 152
    assert {"exploit", "phishing"} <= set(df.loc[df["source"] == "forta_etherscan", "category"])
    # the shipped MyEtherWallet excerpt keeps its one malformed address, which must be reported
    assert loaded.malformed["mew_darklist"] == ["0x9cdfc5b0aca4527a0916412e9dbd6ad85556a49"]
    assert loaded.missing == []


def test_devnet_rows_are_normalised_and_malformed_reported(tmp_path):
    path = _devnet_csv(tmp_path)
    loaded = load_labels([LabelSource(str(path), "devnet_csv", "devnet")])
    rows = {r["address"]: r for r in loaded.table.to_pylist()}
    expected = dict(address=GOOD, label="phishing_drain", category="devnet_typology", source="devnet")
    assert rows[GOOD] == {**expected, "first_seen": 42}
    assert rows["0x" + "11" * 20]["first_seen"] is None
    assert loaded.malformed == {"devnet": ["0x12"]}


def test_missing_devnet_file_yields_nothing_with_a_warning(tmp_path, caplog):
    loaded = load_labels([LabelSource(str(tmp_path / "absent.csv"), "devnet_csv", "devnet")])
    assert loaded.table.num_rows == 0 and loaded.missing == ["devnet"]
    assert "does not exist" in caplog.text


def test_ofac_json_fixture_and_its_bad_entry():
    loaded = load_labels([LabelSource(str(FIXTURES / "ofac_sanctioned_addresses_ETH_sample.json"), "ofac_json")])
    assert loaded.table.num_rows == 20
    assert set(loaded.table.column("source").to_pylist()) == {"ofac_json"}
    assert loaded.malformed == {"ofac_json": ["0xnot-an-address"]}


def test_source_from_a_url(tmp_path):
    (tmp_path / "list.txt").write_text(f"{GOOD}\n\n# comment\n0xbad\n")
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/list.txt"
        loaded = load_labels([LabelSource(url, "ofac_txt", "ofac")])
    finally:
        server.shutdown()
        server.server_close()
    assert loaded.table.column("address").to_pylist() == [GOOD]
    assert loaded.malformed == {"ofac": ["0xbad"]}


def test_unknown_format_is_refused(tmp_path):
    (tmp_path / "x.txt").write_text(GOOD)
    with pytest.raises(ValueError, match="unknown label format"):
        load_labels([LabelSource(str(tmp_path / "x.txt"), "nope")])


def test_primary_label_prefers_devnet_then_sanctioned(tmp_path):
    path = _devnet_csv(tmp_path)
    (tmp_path / "ofac.txt").write_text(f"{GOOD}\n{'0x' + '22' * 20}\n")
    loaded = load_labels([LabelSource(str(tmp_path / "ofac.txt"), "ofac_txt", "ofac"),
                          LabelSource(str(path), "devnet_csv", "devnet")])  # fmt: skip
    primary = primary_labels(loaded.table.to_pandas()).set_index("address")
    assert primary.index.is_unique
    assert primary.loc[GOOD, "category"] == "devnet_typology"
    assert primary.loc["0x" + "22" * 20, "category"] == "sanctioned"
