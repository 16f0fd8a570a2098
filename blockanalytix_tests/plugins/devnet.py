"""Pytest fixtures: `devnet` (a session-wide anvil with the generated scenario) and `fresh_anvil`."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from blockanalytix_assets.devnet.anvil import Anvil
from blockanalytix_assets.devnet.chain import ChainFiles, start_chain
from blockanalytix_assets.devnet.rpc import DevnetRpc
from blockanalytix_assets.devnet.world import ScenarioConfig
from blockanalytix_tests.plugins.integration import starts_processes

DEVNET_CONFIG = ScenarioConfig(seed=7, blocks=300, txs_per_block=20)


@dataclass
class DevnetHandle:
    """What tests get from the `devnet` fixture."""

    url: str
    chain_id: int
    head: int
    labels_path: Path
    manifest: dict
    state_path: Path
    config: ScenarioConfig
    rpc: DevnetRpc

    def call(self, method: str, *params: Any) -> Any:
        """One JSON-RPC call against the devnet."""
        return self.rpc.call(method, *params)


def _cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # BLOCKANALYTIX_TEST_CACHE keeps dumps across sessions; by default they live for this session only.
    root = os.environ.get("BLOCKANALYTIX_TEST_CACHE")
    base = Path(root) if root else tmp_path_factory.getbasetemp() / "devnet-cache"
    return base / DEVNET_CONFIG.cache_key()


@pytest.fixture(scope="session")
@starts_processes
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevnetHandle]:
    """A running anvil loaded with the seed-7 scenario (300 blocks x ~20 txs), generated once and cached."""
    folder = _cache_dir(tmp_path_factory)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one generator per cache folder; the others then reload
        chain = start_chain(DEVNET_CONFIG, ChainFiles.in_dir(folder))
    rpc = DevnetRpc(chain.url)
    try:
        yield DevnetHandle(
            chain.url,
            DEVNET_CONFIG.chain_id,
            chain.head,
            chain.files.labels,
            chain.manifest,
            chain.files.state,
            DEVNET_CONFIG,
            rpc,
        )
    finally:
        rpc.close()
        chain.anvil.stop()


@pytest.fixture
@starts_processes
def fresh_anvil(request: pytest.FixtureRequest) -> Iterator[Callable[..., Anvil]]:
    """Factory of anvils stopped after the test; fresh_anvil(load_devnet=True) holds the devnet chain."""
    started: list[Anvil] = []

    def make(load_devnet: bool = False, auto_mine: bool = True, **kwargs: Any) -> Anvil:
        if load_devnet:
            kwargs["load_state"] = request.getfixturevalue("devnet").state_path
        anvil = Anvil(auto_mine=auto_mine, **kwargs)
        started.append(anvil)
        return anvil.start()

    yield make
    for anvil in started:
        anvil.stop()
