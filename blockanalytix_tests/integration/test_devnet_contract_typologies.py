"""The contract typologies on chain: mixer payouts and drainer sweeps are internal calls, 7702 victims are delegated."""

from collections import defaultdict

import pytest

from blockanalytix_assets.devnet.contract_typologies import MIXER_DENOMINATION
from blockanalytix_assets.devnet.rpc import DevnetRpc
from blockanalytix_assets.devnet.scenario import play, read_labels
from blockanalytix_assets.devnet.world import ScenarioConfig

pytestmark = pytest.mark.integration

TRANSFER_FROM = "0x23b872dd"


@pytest.fixture(scope="module")
def chain(devnet) -> tuple[dict[str, set[str]], list[dict], dict[str, str]]:
    """Labelled addresses per typology, every call trace of the devnet chain, and the code of labelled addresses."""
    labels: dict[str, set[str]] = defaultdict(set)
    for address, typology, _ in read_labels(devnet.labels_path):
        labels[typology].add(address)
    blocks = devnet.rpc.batch([("trace_block", [hex(n)]) for n in range(1, devnet.head + 1)])
    traces = [t for block in blocks for t in block if t["type"] == "call"]
    wanted = sorted(set().union(*(labels[t] for t in ("mixer", "contract_drainer", "eip7702_sweeper"))))
    codes = devnet.rpc.batch([("eth_getCode", [a, "latest"]) for a in wanted])
    return labels, traces, dict(zip(wanted, codes, strict=True))


def _internal(traces: list[dict]) -> list[dict]:
    """Successful value-bearing calls below the top level."""
    return [t for t in traces if t["traceAddress"] and int(t["action"]["value"], 16) and "error" not in t]


def test_mixer_pays_fresh_labelled_addresses_through_internal_calls(chain):
    labels, traces, codes = chain
    mixer = labels["mixer"]
    contracts = [a for a in mixer if codes[a] != "0x"]
    assert len(contracts) == 1
    pool = contracts[0]
    deposits = [t for t in traces if not t["traceAddress"] and t["action"]["to"] == pool and "error" not in t]
    depositors = {t["action"]["from"] for t in deposits if int(t["action"]["value"], 16)}
    assert all(int(t["action"]["value"], 16) in (0, MIXER_DENOMINATION) for t in deposits)
    payouts = [t for t in _internal(traces) if t["action"]["from"] == pool]
    payees = {t["action"]["to"] for t in payouts}
    assert all(int(t["action"]["value"], 16) == MIXER_DENOMINATION for t in payouts)
    launderers, fresh = mixer & depositors, mixer & payees
    assert len(launderers) >= 3 and len(fresh) >= 3
    assert depositors - mixer and payees - mixer  # retail cover deposits and payouts, not labelled
    assert mixer == {pool} | launderers | fresh
    # a payout address never got a transaction of its own from the mixer: only internal calls
    assert not any(t["action"]["to"] in fresh for t in traces if not t["traceAddress"] and t["action"]["from"] == pool)


def test_drainer_contract_forwards_claims_and_pulls_tokens_to_its_attacker(chain):
    labels, traces, codes = chain
    drainers = {a for a in labels["contract_drainer"] if codes[a] != "0x"}
    attackers = labels["contract_drainer"] - drainers
    assert len(drainers) >= 2 and len(attackers) == len(drainers)
    internal = [t for t in traces if t["traceAddress"] and "error" not in t and t["action"]["from"] in drainers]
    forwarded = [t for t in internal if int(t["action"]["value"], 16)]
    assert forwarded and all(t["action"]["to"] in attackers for t in forwarded)
    pulls = [t for t in internal if t["action"]["input"].startswith(TRANSFER_FROM)]
    assert pulls and all("0x" + t["action"]["input"][98:138] in attackers for t in pulls)  # transferFrom's `to`


def test_eip7702_victims_are_delegated_to_the_sweeper_and_forward_what_they_receive(chain, devnet):
    labels, traces, codes = chain
    labelled = labels["eip7702_sweeper"]
    victims = {a for a in labelled if codes[a].startswith("0xef0100")}
    attackers = labelled - victims
    assert len(victims) >= 4 and attackers and all(codes[a] == "0x" for a in attackers)
    sweepers = {"0x" + codes[v][8:] for v in victims}
    sweeper_code = devnet.rpc.batch([("eth_getCode", [s, "latest"]) for s in sorted(sweepers)])
    assert all(len(c) == 2 + 2 * 23 for c in (codes[v] for v in victims))  # 0xef0100 || address
    assert all(c not in ("0x", "") for c in sweeper_code)
    swept = [t for t in _internal(traces) if t["action"]["from"] in victims]
    assert {t["action"]["from"] for t in swept} == victims and {t["action"]["to"] for t in swept} <= attackers
    type4 = {t["transactionHash"] for t in traces if not t["traceAddress"] and t["action"]["to"] in victims}
    txs = devnet.rpc.batch([("eth_getTransactionByHash", [h]) for h in sorted(type4)])
    delegations = [tx for tx in txs if tx["type"] == "0x4"]
    assert len(delegations) == len(victims)
    assert all(tx["from"] in attackers and len(tx["authorizationList"]) == 1 for tx in delegations)


def test_contract_typologies_are_deterministic(fresh_anvil):
    config = ScenarioConfig(seed=5, blocks=40, txs_per_block=10, accounts=60, typology_every=2)
    runs = []
    for _ in range(2):
        rpc = DevnetRpc(fresh_anvil(auto_mine=False).url)
        manifest, world = play(rpc, config)
        head = rpc.call("eth_getBlockByNumber", "latest", False)["hash"]
        runs.append((head, world.label_rows(), manifest["tx_types"]))
        rpc.close()
    assert runs[0] == runs[1]
    typologies = {t for _, t, _ in runs[0][1]}
    assert {"mixer", "contract_drainer", "eip7702_sweeper"} <= typologies and runs[0][2].get("4", 0) >= 1
