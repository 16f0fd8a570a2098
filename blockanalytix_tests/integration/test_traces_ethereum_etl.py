"""raw_traces on an anvil chain with internal calls, creates, selfdestructs and reverted inner calls.

Value for value against ethereum-etl 2.4.2's `export_traces` on the same node; the ingest selection through
`dagster asset materialize`; the geth path against the parity one; BLOCKANALYTIX_TRACES=off.
"""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import dagster as dg
import pyarrow.compute as pc
import pytest

from blockanalytix_assets.devnet.anvil import Anvil
from blockanalytix_assets.devnet.rpc import DevnetRpc
from blockanalytix_assets.ingest import checks as ingest_checks
from blockanalytix_assets.ingest.assets import raw_ingest
from blockanalytix_assets.ingest.extract import extract_range
from blockanalytix_assets.ingest.jobs import raw_checks_job
from blockanalytix_assets.ingest.rpc import RpcClient
from blockanalytix_assets.ranges import format_key
from blockanalytix_assets.resources import PipelineSettings, RpcResource, StorageResource
from blockanalytix_assets.storage import Storage
from blockanalytix_tests.integration.cli_materialize import INGEST_SELECTION, materialize_cli
from blockanalytix_tests.plugins.integration import starts_processes
from blockanalytix_tests.trace_chain import build
from blockanalytix_tests.unit.test_mapping import as_csv

REPO = Path(__file__).resolve().parents[2]
ETL = REPO / ".etl-venv" / "bin" / "ethereumetl"
LAST = 7  # blocks 0..7: one partition of range size 8
KEY = format_key(0, LAST)
SELECTION = INGEST_SELECTION
TRACE_TABLES = {"raw_traces", "contracts", "tokens"}
CHECKS = dg.load_asset_checks_from_modules([ingest_checks])
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
@starts_processes
def chain():
    with Anvil() as node:  # started by the with
        build(node.url)
        rpc = DevnetRpc(node.url)
        while int(rpc.call("eth_blockNumber"), 16) < LAST:
            rpc.call("evm_mine")
        rpc.close()
        yield node


@pytest.fixture(scope="module")
def etl_traces(chain, tmp_path_factory) -> list[dict]:
    subprocess.run(["bash", str(REPO / "blockanalytix_tests/benchmarks/etl_venv.sh")], check=True, capture_output=True)
    out = tmp_path_factory.mktemp("etl") / "traces.csv"
    cmd = [str(ETL), "export_traces", "-s", "0", "-e", str(LAST), "-p", chain.url, "-o", str(out), "-w", "1"]
    subprocess.run(cmd, check=True, capture_output=True)
    with open(out, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def cli_store(chain, tmp_path_factory) -> Storage:
    """The ingest selection materialised by `dagster asset materialize --partition KEY`."""
    home = materialize_cli(chain.url, tmp_path_factory.mktemp("dagster_home"), KEY, LAST + 1, SELECTION)
    return Storage(str(home / "data"))


def test_raw_traces_equal_ethereum_etl_export_traces(cli_store, etl_traces):
    rows = cli_store.read("raw_traces", KEY).to_pylist()
    ours = [{c: as_csv(v) for c, v in r.items()} for r in rows]
    assert ours == etl_traces  # every column, every row, in ethereum-etl's order
    kinds = {(r["trace_type"], r["call_type"]) for r in rows}
    assert {("call", "call"), ("call", "staticcall"), ("call", "delegatecall"), ("create", None),
            ("suicide", None)} <= kinds  # fmt: skip
    failed = [r for r in rows if r["error"]]
    assert len(failed) >= 5 and all(r["status"] == 0 for r in failed)
    inherited = [r for r in rows if not r["error"] and r["status"] == 0]
    assert inherited and all(r["trace_address"] for r in inherited)  # children of reverted calls
    txs = cli_store.read("raw_transactions", KEY)
    assert sorted(r["transaction_hash"] for r in rows if not r["trace_address"]) == sorted(
        txs.column("hash").to_pylist()
    )
    assert all(cli_store.exists(t, KEY) for t in SELECTION.split(","))
    (type4,) = txs.filter(pc.is_valid(txs.column("authorization_list"))).column("hash").to_pylist()
    assert sum(r["transaction_hash"] == type4 and bool(r["trace_address"]) for r in rows) >= 5  # delegated code ran


def test_geth_call_tracer_gives_the_parity_rows(chain, cli_store):
    parity = cli_store.read("raw_traces", KEY).to_pylist()
    with RpcClient(chain.url) as client:
        client.trace_api = "geth"
        geth = extract_range(client, 0, LAST)["raw_traces"].to_pylist()
    same = ["block_number", "transaction_hash", "transaction_index", "from_address", "trace_type", "call_type",
            "subtraces", "trace_address", "status", "trace_id"]  # fmt: skip
    assert [{c: r[c] for c in same} for r in geth] == [{c: r[c] for c in same} for r in parity]
    # as ethereum-etl's geth mapping: a SELFDESTRUCT frame keeps geth's input "0x" (parity has none)
    assert all(g["input"] == p["input"] for g, p in zip(geth, parity, strict=True) if g["trace_type"] != "suicide")
    assert [bool(r["error"]) for r in geth] == [bool(r["error"]) for r in parity]
    # inner calls carry the same gas; top-level frames differ (anvil's callTracer reports cumulative block gas)
    inner = [(g["gas"], g["gas_used"], p["gas"], p["gas_used"]) for g, p in zip(geth, parity, strict=True)
             if g["trace_address"] and g["trace_type"] == "call"]  # fmt: skip
    assert inner and all((a, b) == (c, d) for a, b, c, d in inner)


def resources_for(url: str, root: Path, traces: str) -> dict:
    return {
        "rpc": RpcResource(url=url, chain_id=31337, traces=traces),
        "storage": StorageResource(root=str(root)),
        "settings": PipelineSettings(range_size=LAST + 1, confirmations=0, home=str(root)),
    }


def run(url: str, root: Path, traces: str, selection: list[str] | None = None) -> dg.ExecuteInProcessResult:
    """raw_ingest (and the raw checks, unless a selection is given) on KEY with BLOCKANALYTIX_TRACES=traces."""
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("block_ranges", [KEY])
    resources = resources_for(url, root, traces)
    assets = [raw_ingest] if selection else [raw_ingest, *CHECKS]
    return dg.materialize(assets, partition_key=KEY, instance=instance, resources=resources, selection=selection,
                          raise_on_error=False)  # fmt: skip


def test_traces_off_skips_raw_traces_or_fails_with_the_reason(chain, tmp_path):
    result = run(chain.url, tmp_path, "off")
    assert result.success
    written = {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}
    assert written == set(SELECTION.split(",")) - TRACE_TABLES
    assert not any(Storage(str(tmp_path)).exists(t, KEY) for t in TRACE_TABLES)
    # re-checking the range (raw_checks_job) does not fail for the table the node could not give
    defs = dg.Definitions(assets=[raw_ingest], asset_checks=CHECKS, jobs=[raw_checks_job],
                          resources=resources_for(chain.url, tmp_path, "off"))  # fmt: skip
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("block_ranges", [KEY])
    recheck = defs.resolve_job_def("raw_checks_job").execute_in_process(tags={"dagster/partition": KEY},
                                                                        instance=instance)  # fmt: skip
    evaluation = {e.check_name: e for e in recheck.get_asset_check_evaluations()}
    top = evaluation["raw_traces_one_top_level_per_transaction"]
    assert recheck.success and top.passed and top.metadata["checked"].value is False
    assert evaluation["raw_traces_consistent_with_blocks"].metadata["checked"].value is False
    created = evaluation["contracts_every_created_contract"]
    assert created.passed and created.metadata["checked"].value is False
    for only_traces in (["raw_traces"], ["contracts", "tokens"]):
        only = run(chain.url, tmp_path, "off", selection=only_traces)
        assert not only.success
        (failure,) = [e for e in only.all_events if e.is_step_failure]
        message = failure.step_failure_data.error.message
        assert "BLOCKANALYTIX_TRACES=off" in message and all(t in message for t in only_traces)


def test_top_level_check_passes_on_the_devnet(chain, tmp_path):
    result = run(chain.url, tmp_path, "parity")
    assert result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    check = evaluations["raw_traces_one_top_level_per_transaction"]
    assert check.passed and check.metadata["transactions"].value == check.metadata["top_level_traces"].value > 0
    blocks = evaluations["raw_traces_consistent_with_blocks"]
    assert blocks.passed and blocks.metadata["blocks"].value == LAST + 1
    assert blocks.metadata["transactions"].value == check.metadata["transactions"].value
    created = evaluations["contracts_every_created_contract"]  # FORWARDER's inner create, not its failed one
    assert created.passed and created.metadata["created"].value == created.metadata["contracts"].value >= 4
