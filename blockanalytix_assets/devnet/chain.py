"""Start anvil with the scenario's chain: reload a cached dump when one matches, else generate and dump."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from blockanalytix_assets.devnet.anvil import Anvil, anvil_version, find_anvil
from blockanalytix_assets.devnet.rpc import DevnetRpc
from blockanalytix_assets.devnet.scenario import play, write_json, write_labels
from blockanalytix_assets.devnet.world import ScenarioConfig

HERE = Path(__file__).parent
# Everything a chain's bytes depend on; a change to any of these invalidates cached dumps.
SOURCES = (
    *("plan.py", "world.py", "typologies.py", "contract_typologies.py", "benign.py", "activity.py", "scenario.py"),
    *("erc20.py", "dapps.py", "contracts/Token.json"),
    *(f"contracts/{name}.json" for name in ("Mixer", "Drainer", "Sweeper", "Disperse", "SmartWallet")),
    "delegations.py",
)


def fingerprint() -> str:
    """Return a short hash of the generator sources and the anvil version."""
    h = hashlib.sha256(anvil_version(find_anvil()).encode())
    for name in SOURCES:
        h.update((HERE / name).read_bytes())
    return h.hexdigest()[:12]


@dataclass(frozen=True)
class ChainFiles:
    """Where one chain's state dump, labels and manifest live."""

    state: Path
    labels: Path
    manifest: Path

    @classmethod
    def in_dir(cls, folder: Path) -> ChainFiles:
        return cls(folder / "state.json", folder / "labels.csv", folder / "manifest.json")

    @classmethod
    def beside(cls, state_file: Path) -> ChainFiles:
        stem = state_file.name.removesuffix(".json")
        return cls(
            state_file, state_file.with_name(f"{stem}.labels.csv"), state_file.with_name(f"{stem}.manifest.json")
        )

    def matching_manifest(self, config: ScenarioConfig, fp: str) -> dict | None:
        """Return the stored manifest if all three files exist and were made by this config and code."""
        if not (self.state.is_file() and self.labels.is_file() and self.manifest.is_file()):
            return None
        try:
            manifest = json.loads(self.manifest.read_text())
        except ValueError:
            return None
        if manifest.get("fingerprint") != fp or manifest.get("config") != asdict(config):
            return None
        return manifest


def cache_files(home: Path, config: ScenarioConfig) -> ChainFiles:
    """The cache folder for config under BLOCKANALYTIX_HOME/devnet/cache/."""
    return ChainFiles.in_dir(home / "devnet" / "cache" / config.cache_key())


@dataclass
class DevnetChain:
    """A running anvil holding the scenario chain."""

    anvil: Anvil
    config: ScenarioConfig
    files: ChainFiles
    manifest: dict
    generated: bool

    @property
    def url(self) -> str:
        return self.anvil.url

    @property
    def head(self) -> int:
        return self.manifest["head"]["number"]


def dump_state(rpc: DevnetRpc, path: Path) -> None:
    """Write anvil_dumpState as uncompressed JSON (the form `anvil --load-state` reads)."""
    raw = bytes.fromhex(rpc.call("anvil_dumpState")[2:])
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(raw)
    tmp.replace(path)


def start_chain(
    config: ScenarioConfig,
    files: ChainFiles,
    port: int | None = None,
    host: str = "127.0.0.1",
    detach: bool = False,
    log_path: Path | None = None,
    auto_mine: bool = True,
    regenerate: bool = False,
    log: Callable[[str], None] = lambda _: None,
) -> DevnetChain:
    """Start anvil on port with the chain for config, reusing files when they match; return it running."""
    fp = fingerprint()
    manifest = None if regenerate else files.matching_manifest(config, fp)
    anvil = Anvil(
        port,
        host,
        config.chain_id,
        config.genesis_timestamp,
        load_state=files.state if manifest else None,
        log_path=log_path,
    )
    anvil.start(detach=detach)
    try:
        rpc = DevnetRpc(anvil.url)
        if manifest is not None:
            head = rpc.call("eth_getBlockByNumber", "latest", False)
            if head["hash"] != manifest["head"]["hash"]:
                log(f"reloaded head {head['hash']} differs from the manifest: regenerating")
                anvil.stop()
                return start_chain(config, files, port, host, detach, log_path, auto_mine, True, log)
            log(f"reloaded {files.state} (head {manifest['head']['number']})")
            generated = False
        else:
            manifest, world = play(rpc, config, log)
            manifest.update(fingerprint=fp, config=asdict(config))
            files.state.parent.mkdir(parents=True, exist_ok=True)
            t0 = time.monotonic()
            dump_state(rpc, files.state)
            log(f"dumped {files.state.stat().st_size / 1e6:.0f} MB of state in {time.monotonic() - t0:.1f}s")
            write_labels(files.labels, world.label_rows())
            write_json(files.manifest, manifest)
            generated = True
        if auto_mine:
            rpc.call("evm_setAutomine", True)
        rpc.close()
    except BaseException:
        anvil.stop()
        raise
    return DevnetChain(anvil, config, files, manifest, generated)


def publish(chain: DevnetChain, folder: Path) -> ChainFiles:
    """Copy the running chain's labels and manifest to folder/labels.csv and folder/manifest.json."""
    folder.mkdir(parents=True, exist_ok=True)
    out = ChainFiles(chain.files.state, folder / "labels.csv", folder / "manifest.json")
    for src, dst in ((chain.files.labels, out.labels), (chain.files.manifest, out.manifest)):
        if src.resolve() != dst.resolve():
            shutil.copyfile(src, dst.with_suffix(".tmp"))
            dst.with_suffix(".tmp").replace(dst)
    return out
