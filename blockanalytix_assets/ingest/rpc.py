"""Batched, concurrent, retrying Ethereum JSON-RPC client (requests + orjson), secrets redacted."""

from __future__ import annotations

import itertools
import logging
import random
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import requests

log = logging.getLogger(__name__)

Call = tuple[str, list]
MAX_RETRY_AFTER = 60.0  # cap on a server's Retry-After, so a bad header cannot stall a run for hours
TRANSIENT_CODES = {-32005, 429, -32097}
TRANSIENT_MSG = re.compile(
    r"header not found|limit|exceeded|rate|too many|timeout|timed out|busy|try again|temporar|"
    r"unavailable|capacity|overload",
    re.I,
)
NOT_FOUND_MSG = re.compile(
    r"method .*(not found|does not exist|not available|not supported)|unsupported method", re.I
)
_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
_MISSING = object()

__all__ = ["RpcClient", "RpcError", "ChainIdMismatch", "BlockNotFoundError", "MethodNotFound", "redact_url"]


_SECRETS: set[str] = set()
_KEYLIKE = re.compile(r"[A-Za-z0-9_\-]{16,}")


def _secret_segment(seg: str) -> bool:
    return bool(_KEYLIKE.fullmatch(seg)) and (any(c.isdigit() for c in seg) or len(seg) >= 24)


def redact_url(url: str) -> str:
    """The URL with userinfo, query string and API-key-like path segments replaced by ***."""
    try:
        p = urlsplit(url)
        host = (p.hostname or "") + (f":{p.port}" if p.port else "")
    except ValueError:
        return "***"
    if p.username or p.password:
        host = "***@" + host
    path = "/".join("***" if _secret_segment(s) else s for s in p.path.split("/"))
    return urlunsplit((p.scheme, host, path, "***" if p.query else "", ""))


def register_secrets(url: str) -> None:
    """Remember the secret parts of a URL so that scrub() and the log filter hide them."""
    try:
        p = urlsplit(url)
    except ValueError:
        return
    parts = [p.username, p.password, p.query, p.netloc.rpartition("@")[0]] + p.query.split("&")
    parts += [q.partition("=")[2] for q in p.query.split("&")] + [
        s for s in p.path.split("/") if _secret_segment(s)
    ]
    _SECRETS.update(x for x in parts if x and len(x) >= 4)


def scrub(text: str) -> str:
    """Text with every registered secret replaced by ***."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class _RedactFilter(logging.Filter):
    """Rewrites log records (ours, urllib3's) that would print a registered secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _SECRETS:
            msg = record.getMessage()
            clean = scrub(msg)
            if clean != msg:
                record.msg, record.args = clean, None
        return True


for _name in (__name__, "urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry", "requests"):
    logging.getLogger(_name).addFilter(_RedactFilter())


class RpcError(RuntimeError):
    """A JSON-RPC request that failed for good (retries exhausted or a non-transient error)."""


class ChainIdMismatch(RpcError):
    """The node serves another chain than the configured BLOCKANALYTIX_CHAIN_ID."""


class BlockNotFoundError(RpcError):
    """A requested block is beyond the node's head (the node returned null)."""


class MethodNotFound(RpcError):
    """The node does not implement a JSON-RPC method."""


class _Transient(Exception):
    """A failure worth retrying; reason is a short counter name."""

    def __init__(self, reason: str, retry_after: float = 0.0, split: bool = True):
        super().__init__(reason)
        self.reason, self.retry_after, self.split = reason, retry_after, split


def _blocks_of(calls: list[Call]) -> str:
    """The block numbers a list of calls is about, compactly, for error messages."""
    nums = sorted(
        int(p[0], 16)
        for _, p in calls
        if p and isinstance(p[0], str) and p[0].startswith("0x") and len(p[0]) < 20
    )
    if not nums:
        return f"{len(calls)} call(s)"
    if len(nums) == 1:
        return f"block {nums[0]}"
    return f"blocks {nums[0]}..{nums[-1]} ({len(nums)} calls)"


def _classify(err: Any, method: str) -> Exception | None:
    """None for a transient JSON-RPC error object, else the exception to raise."""
    code = err.get("code") if isinstance(err, dict) else None
    msg = str(err.get("message", err) if isinstance(err, dict) else err)
    if code == -32601 or NOT_FOUND_MSG.search(msg):
        return MethodNotFound(f"the node does not support {method} ({code}: {scrub(msg)})")
    if code in TRANSIENT_CODES or TRANSIENT_MSG.search(msg):
        return None
    return RpcError(f"{method} failed: JSON-RPC error {code}: {scrub(msg)}")


class RpcClient:
    """A JSON-RPC client: batches, a bounded thread pool, retries with backoff, split-on-failure."""

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
        self.block_receipts_supported: bool | None = None  # learnt on first use, remembered per client

    def __repr__(self) -> str:
        return f"RpcClient({self.safe_url!r}, batch_size={self.batch_size}, max_workers={self.max_workers})"

    def __enter__(self) -> RpcClient:
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

    def _absorb(self, resp: Any, ids: dict[int, int], calls: list[Call], results: list) -> list[int]:
        """Store good items in results; return the indexes whose items failed transiently."""
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
            if "error" in item and item["error"] is not None:
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

    def _exec(self, calls: list[Call], failures: int = 0, single: bool = False) -> list:
        """Run calls as one JSON-RPC batch, retrying failed items; split the batch when requests fail."""
        results: list = [_MISSING] * len(calls)
        pending = list(range(len(calls)))
        reason = "?"
        while pending:
            ids = {next(self._ids): i for i in pending}
            reqs = [
                {"jsonrpc": "2.0", "id": k, "method": calls[i][0], "params": calls[i][1]}
                for k, i in ids.items()
            ]
            self._count("calls", len(reqs))
            retry_after, split = 0.0, False
            try:
                pending = self._absorb(
                    self._post(orjson.dumps(reqs[0] if single else reqs)), ids, calls, results
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
                    for i, r in zip(part, self._exec([calls[i] for i in part], failures), strict=True):
                        results[i] = r
                break
        return results

    def call(self, method: str, params: list | tuple = ()) -> Any:
        """One JSON-RPC call, with retries."""
        return self._exec([(method, list(params))], single=True)[0]

    def batch(self, calls: list[tuple[str, list | tuple]]) -> list:
        """Many calls as batches of batch_size over the worker pool; results in the order of calls."""
        norm = [(m, list(p)) for m, p in calls]
        chunks = [norm[i : i + self.batch_size] for i in range(0, len(norm), self.batch_size)]
        if len(chunks) <= 1:
            return self._exec(chunks[0]) if chunks else []
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="rpc")
        futures = [self._pool.submit(self._exec, c) for c in chunks]
        out: list = []
        try:
            for f in futures:
                out.extend(f.result())
        except BaseException:
            for f in futures:
                f.cancel()
            raise
        return out

    def chain_id(self) -> int:
        """The node's chain id."""
        return int(self.call("eth_chainId"), 16)

    def check_chain_id(self, expected: int) -> int:
        """Raise ChainIdMismatch unless the node serves chain `expected`; returns the chain id."""
        actual = self.chain_id()
        if actual != expected:
            raise ChainIdMismatch(
                f"The node at {self.safe_url} serves chain id {actual}, but BLOCKANALYTIX_CHAIN_ID is "
                f"{expected}. Set BLOCKANALYTIX_CHAIN_ID={actual} if this is the chain you want, or fix "
                f"BLOCKANALYTIX_RPC_URL to point at a node of chain {expected}."
            )
        return actual

    def block_number(self) -> int:
        """The node's head block number."""
        return int(self.call("eth_blockNumber"), 16)

    def _check_blocks(self, numbers: list[int], blocks: list) -> list[dict]:
        for n, b in zip(numbers, blocks, strict=True):
            if b is None:
                try:
                    head = f"its head is {self.block_number()}"
                except RpcError:
                    head = "its head is unknown"
                raise BlockNotFoundError(
                    f"block {n} is beyond the head of the node at {self.safe_url} ({head}): ingest only "
                    f"ranges at or below the head minus BLOCKANALYTIX_CONFIRMATIONS"
                )
        return blocks

    def get_blocks(self, numbers: list[int], full: bool = True) -> list[dict]:
        """Blocks by number (with full transaction objects when full), in the order of numbers."""
        return self._check_blocks(
            numbers, self.batch([("eth_getBlockByNumber", [hex(n), full]) for n in numbers])
        )

    def _tx_receipts(self, numbers: list[int], blocks: list[dict]) -> dict[int, list[dict]]:
        hashes = [[t if isinstance(t, str) else t["hash"] for t in b["transactions"]] for b in blocks]
        flat = self.batch([("eth_getTransactionReceipt", [h]) for hs in hashes for h in hs])
        out, pos = {}, 0
        for n, hs in zip(numbers, hashes, strict=True):
            out[n], pos = flat[pos : pos + len(hs)], pos + len(hs)
            if any(r is None for r in out[n]):
                raise RpcError(f"the node at {self.safe_url} has no receipt for a transaction of block {n}")
        return out

    def get_receipts(self, numbers: list[int], blocks: list[dict] | None = None) -> dict[int, list[dict]]:
        """{number: receipts} via eth_getBlockReceipts, or per-tx receipts where the node lacks it."""
        if self.block_receipts_supported is not False:
            try:
                res = self.batch([("eth_getBlockReceipts", [hex(n)]) for n in numbers])
            except MethodNotFound:
                self.block_receipts_supported = False
                log.info("rpc %s lacks eth_getBlockReceipts: using eth_getTransactionReceipt", self.safe_url)
            else:
                self.block_receipts_supported = True
                for n, r in zip(numbers, res, strict=True):
                    if r is None:
                        raise BlockNotFoundError(f"the node at {self.safe_url} has no receipts for block {n}")
                return dict(zip(numbers, res, strict=True))
        return self._tx_receipts(numbers, blocks if blocks is not None else self.get_blocks(numbers, False))

    def fetch_range(self, first: int, last: int) -> tuple[list[dict], dict[int, list[dict]]]:
        """Blocks first..last with full transactions, and their receipts; both fetched concurrently."""
        numbers = list(range(first, last + 1))
        if self.block_receipts_supported is not False:
            calls: list[tuple[str, list]] = []
            for n in numbers:
                calls += [("eth_getBlockByNumber", [hex(n), True]), ("eth_getBlockReceipts", [hex(n)])]
            try:
                res = self.batch(calls)
            except MethodNotFound:
                self.block_receipts_supported = False
                log.info("rpc %s lacks eth_getBlockReceipts: using eth_getTransactionReceipt", self.safe_url)
            else:
                self.block_receipts_supported = True
                blocks = self._check_blocks(numbers, res[0::2])
                receipts = dict(zip(numbers, res[1::2], strict=True))
                if any(r is None for r in receipts.values()):
                    return blocks, self.get_receipts(numbers, blocks)
                return blocks, receipts
        blocks = self.get_blocks(numbers)
        return blocks, self.get_receipts(numbers, blocks)
