"""Batched JSON-RPC over HTTP (requests + orjson): a bounded thread pool, retries with backoff, splitting."""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Self

import orjson
import requests

from blockanalytix_assets.ingest.redact import RPC_LOGGER, redact_url, register_secrets
from blockanalytix_assets.ingest.rpc_errors import RpcError, _blocks_of, _classify, _Transient, is_revert
from blockanalytix_assets.ingest.rpc_requests import Call

log = logging.getLogger(RPC_LOGGER)

MAX_RETRY_AFTER = 60.0  # cap on a server's Retry-After, so a bad header cannot stall a run for hours
_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
_MISSING = object()


class BatchHttpProvider:
    """JSON-RPC calls as batches over a bounded thread pool, retried with backoff, split on failure."""

    def __init__(
        self,
        url: str,
        *,
        batch_size: int = 100,
        max_workers: int = 4,
        max_retries: int = 8,
        timeout: float = 30.0,
        backoff_base: float = 0.25,
        backoff_max: float = 20.0,
        session: requests.Session | None = None,
    ):
        self._url = url
        self.safe_url = redact_url(url)
        register_secrets(url)
        self.batch_size, self.max_workers, self.max_retries = (
            max(1, batch_size),
            max(1, max_workers),
            max_retries,
        )
        self.timeout, self.backoff_base, self.backoff_max = timeout, backoff_base, backoff_max
        self._shared_session = session
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._ids = itertools.count(1)
        self._stats: Counter[str] = Counter()

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}({self.safe_url!r}, batch_size={self.batch_size}, max_workers={self.max_workers})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker pool and close the HTTP sessions."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        for s in self._sessions:
            s.close()
        self._sessions.clear()

    def stats(self) -> dict[str, int]:
        """Counters: requests, calls, retries, splits, bytes and one `fault_<reason>` per failure kind."""
        with self._lock:
            return dict(self._stats)

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._stats[key] += n

    def _session(self) -> requests.Session:
        if self._shared_session is not None:
            return self._shared_session
        s = getattr(self._local, "session", None)
        if s is None:
            s = self._local.session = requests.Session()
            with self._lock:
                self._sessions.append(s)
        return s

    def _post(self, body: bytes) -> Any:
        self._count("requests")
        failure: _Transient | RpcError | None = None
        try:
            r = self._session().post(self._url, data=body, headers=_HEADERS, timeout=self.timeout)
            content = r.content
        except requests.Timeout:
            failure = _Transient("timeout")
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            failure = _Transient("connection_refused" if "refused" in str(exc).lower() else "connection")
        except requests.RequestException as exc:
            name = type(exc).__name__
            failure = RpcError(f"cannot send to {self.safe_url} ({name}): fix BLOCKANALYTIX_RPC_URL")
        if failure is not None:  # raised outside `except`: requests' exceptions quote the secret URL
            raise failure
        self._count("bytes", len(content))
        code = r.status_code
        if code == 429:
            ra = r.headers.get("Retry-After", "")
            raise _Transient("http_429", float(ra) if ra.replace(".", "", 1).isdigit() else 0.0, split=False)
        if code >= 500 or code in (408, 413):
            raise _Transient(f"http_{code}")
        if code >= 400:
            raise RpcError(
                f"HTTP {code} from {self.safe_url}: the node refused the request; check "
                f"BLOCKANALYTIX_RPC_URL and its API key"
            )
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError:
            raise _Transient("bad_json") from None

    def _sleep(self, failures: int, retry_after: float) -> None:
        delay = min(self.backoff_max, self.backoff_base * 2 ** (failures - 1)) * (0.5 + random.random() / 2)
        time.sleep(max(delay, min(retry_after, MAX_RETRY_AFTER)))

    def _absorb(
        self, resp: Any, ids: dict[int, int], calls: list[Call], results: list, reverts_ok: bool = False
    ) -> list[int]:
        """Store good items in results (None for a revert when reverts_ok); return those that failed transiently."""
        if isinstance(resp, dict) and len(ids) > 1:
            err = resp.get("error")
            exc = _classify(err, calls[next(iter(ids.values()))][0]) if err is not None else None
            if exc is not None:
                raise exc
            raise _Transient("batch_error")
        items = [resp] if isinstance(resp, dict) else resp
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise _Transient("bad_json")
        got = [i.get("id") for i in items]
        if len(got) != len(ids) or set(got) != ids.keys():
            raise _Transient("bad_ids")
        retry = []
        for item in items:
            idx = ids[item["id"]]
            if "error" in item and item["error"] is not None and reverts_ok and is_revert(item["error"]):
                results[idx] = None
            elif "error" in item and item["error"] is not None:
                exc = _classify(item["error"], calls[idx][0])
                if exc is not None:
                    raise exc
                retry.append(idx)
            elif "result" not in item:
                retry.append(idx)
            else:
                results[idx] = item["result"]
        if retry:
            self._count("fault_item_error", len(retry))
        return retry

    def _exec(self, calls: list[Call], failures: int = 0, single: bool = False, reverts_ok: bool = False) -> list:
        """Run calls as one JSON-RPC batch, retrying failed items; split the batch when requests fail."""
        results: list = [_MISSING] * len(calls)
        pending = list(range(len(calls)))
        reason = "?"
        while pending:
            ids = {next(self._ids): i for i in pending}
            reqs = [{"jsonrpc": "2.0", "id": k, "method": calls[i][0], "params": calls[i][1]} for k, i in ids.items()]
            self._count("calls", len(reqs))
            retry_after, split = 0.0, False
            try:
                pending = self._absorb(
                    self._post(orjson.dumps(reqs[0] if single else reqs)), ids, calls, results, reverts_ok
                )
                if not pending:
                    break
                reason = "item_error"
            except _Transient as t:
                reason, retry_after, split = t.reason, t.retry_after, t.split
                self._count(f"fault_{reason}")
            failures += 1
            if failures > self.max_retries:
                raise RpcError(
                    f"{calls[pending[0]][0]} for {_blocks_of([calls[i] for i in pending])} failed at "
                    f"{self.safe_url} after {failures} attempts (last error: {reason}). "
                    + (
                        "Nothing answers there: is the node running? Check BLOCKANALYTIX_RPC_URL."
                        if reason == "connection_refused"
                        else "The node is failing or overloaded: check BLOCKANALYTIX_RPC_URL, or lower the "
                        "batch size / workers."
                    )
                )
            self._count("retries")
            log.warning(
                "rpc %s: %s; retry %d/%d (%d calls)",
                self.safe_url,
                reason,
                failures,
                self.max_retries,
                len(pending),
            )
            self._sleep(failures, retry_after)
            if split and failures >= 2 and len(pending) > 1:
                self._count("splits")
                half = len(pending) // 2
                for part in (pending[:half], pending[half:]):
                    for i, r in zip(
                        part, self._exec([calls[i] for i in part], failures, reverts_ok=reverts_ok), strict=True
                    ):
                        results[i] = r
                break
        return results

    def call(self, method: str, params: list | tuple = ()) -> Any:
        """One JSON-RPC call, with retries."""
        return self._exec([(method, list(params))], single=True)[0]

    def batch(self, calls: Sequence[tuple[str, list | tuple]], reverts_ok: bool = False) -> list:
        """Many calls as batches of batch_size over the worker pool; results in the order of calls.

        reverts_ok: a call that ran and failed (eth_call revert) answers None instead of failing the batch."""
        norm = [(m, list(p)) for m, p in calls]
        chunks = [norm[i : i + self.batch_size] for i in range(0, len(norm), self.batch_size)]
        if len(chunks) <= 1:
            return self._exec(chunks[0], reverts_ok=reverts_ok) if chunks else []
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="rpc")
        futures = [self._pool.submit(self._exec, c, reverts_ok=reverts_ok) for c in chunks]
        out: list = []
        try:
            for f in futures:
                out.extend(f.result())
        except BaseException:
            for f in futures:
                f.cancel()
            raise
        return out
