"""Helpers for the reliability suite: resources, Dagster runs of raw_ingest, folder snapshots, tampering node."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path

import dagster as dg

from blockanalytix_assets.ingest import checks as ingest_checks
from blockanalytix_assets.ingest.assets import raw_ingest
from blockanalytix_assets.ingest.extract import extract_range
from blockanalytix_assets.ingest.tables import RAW_ASSETS
from blockanalytix_assets.ranges import format_key
from blockanalytix_assets.resources import PipelineSettings, RpcResource, StorageResource
from blockanalytix_assets.storage import Storage
from blockanalytix_tests.faultproxy import FaultProxy

CHAIN_ID = 31337
CHECKS = dg.load_asset_checks_from_modules([ingest_checks])
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def keys_of(first: int, n: int, size: int) -> list[str]:
    """n consecutive aligned partition keys of `size` blocks starting at block `first`."""
    return [format_key(first + i * size, first + (i + 1) * size - 1) for i in range(n)]


def resources(
    node: str | dg.EnvVar | RpcResource, root: str, range_size: int, chain_id: int = CHAIN_ID, **rpc: object
) -> dict:
    """The resources raw_ingest needs: node is a URL (rpc holds RpcResource overrides) or a ready RpcResource."""
    return {
        "rpc": node if isinstance(node, RpcResource) else RpcResource(url=node, chain_id=chain_id, **rpc),
        "storage": StorageResource(root=root),
        "settings": PipelineSettings(range_size=range_size, confirmations=0, home=root),
    }


def register(instance: dg.DagsterInstance, keys: Iterable[str]) -> None:
    """Add keys to the block_ranges dynamic partitions of instance (idempotent)."""
    known = set(instance.get_dynamic_partitions("block_ranges"))
    new = [k for k in keys if k not in known]
    if new:
        instance.add_dynamic_partitions("block_ranges", new)


def without_retry_policy(assets_def: dg.AssetsDefinition) -> dg.AssetsDefinition:
    """The same asset whose op has no RetryPolicy (execute_in_process always honours it: 10 s, 20 s delays)."""
    op = copy.copy(assets_def.op)
    op._retry_policy = None  # Dagster has no public way to drop an op's policy
    return dg.AssetsDefinition.dagster_internal_init(**{**assets_def.get_attributes_dict(), "node_def": op})


NO_RETRY_INGEST = without_retry_policy(raw_ingest)


def ingest(
    keys: list[str], instance: dg.DagsterInstance, res: dict, checks: bool = False, retries: bool = True
) -> dg.ExecuteInProcessResult:
    """One run of raw_ingest over consecutive registered keys (a multi-partition run, as a backfill makes).

    retries=False drops the asset's RetryPolicy, for runs expected to fail.
    """
    register(instance, keys)
    if len(keys) == 1:
        part: dict = {"partition_key": keys[0]}
    else:
        part = {
            "tags": {
                "dagster/asset_partition_range_start": keys[0],
                "dagster/asset_partition_range_end": keys[-1],
            }
        }
    return dg.materialize(
        [raw_ingest if retries else NO_RETRY_INGEST, *(CHECKS if checks else [])],
        instance=instance,
        resources=res,
        raise_on_error=False,
        **part,
    )


def clean_ingest(rpc: RpcResource, root: str, keys: list[str]) -> int:
    """Write the four raw tables of each key straight from the node (no Dagster); returns rows written."""
    store, rows = Storage(root), 0
    with rpc.client() as client:
        for key in keys:
            first, last = (int(x) for x in key.split("-"))
            for name, table in extract_range(client, first, last).items():
                store.write(name, key, table)
                rows += table.num_rows
    return rows


def snapshot(folder: Path | str) -> dict[str, str]:
    """{relative path: sha256} of every file under folder (hidden temp files included)."""
    root = Path(folder)
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def parquet_files(root: Path | str, keys: Iterable[str]) -> dict[str, bytes]:
    """{asset/key: bytes} of every raw table file of keys."""
    return {f"{a}/{k}": (Path(root) / a / f"{k}.parquet").read_bytes() for k in keys for a in RAW_ASSETS}


def error_text(result: dg.ExecuteInProcessResult) -> str:
    """The messages, causes and stacks of every step failure of a run, as one string."""
    parts = []
    for ev in result.get_step_failure_events():
        err = ev.event_specific_data.error
        while err is not None:
            parts.append(err.to_string())
            err = err.cause
    return "\n".join(parts)


def record(section: str, data: dict) -> Path:
    """Merge data under `section` into blockanalytix_tests/artifacts/reliability.json (gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "reliability.json"
    try:
        current = json.loads(path.read_text())
    except (OSError, ValueError):
        current = {}
    current[section] = data
    path.write_text(json.dumps(current, indent=2, sort_keys=True))
    return path


class TamperingNode(FaultProxy):
    """A pass-through proxy that rewrites every JSON-RPC result with `edit(method, result)`."""

    def __init__(self, upstream: str, edit: Callable[[str, object], object]) -> None:
        super().__init__(upstream)
        self.edit = edit
        self.edited = 0

    def respond(self, handler, body: bytes) -> None:
        req = json.loads(body)
        status, payload = self._forward(body)
        if status != 200:
            return self.send(handler, status, payload)
        resp = json.loads(payload)
        reqs = req if isinstance(req, list) else [req]
        items = resp if isinstance(resp, list) else [resp]
        methods = {r.get("id"): r.get("method") for r in reqs}
        for item in items:
            if "result" in item:
                new = self.edit(methods.get(item.get("id"), ""), item["result"])
                self.edited += new is not item["result"]
                item["result"] = new
        return self.send(handler, 200, json.dumps(resp).encode())
