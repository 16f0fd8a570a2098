"""Test HTTP servers: a fault-injecting JSON-RPC proxy and a node that replays recorded responses."""

from __future__ import annotations

import gzip
import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, deque
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FAULTS = (
    "429", "500", "502", "503", "delay", "truncate", "short_read", "garbage", "drop",
    "missing_id", "duplicate_id", "item_error",
)  # fmt: skip
TRACER_ERROR = "tracer_error"  # (script or faults= only) geth's callTracer answers {"error"} for one transaction


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _JsonRpcServer:
    """A threaded HTTP server on 127.0.0.1 whose POSTs are answered by self.respond(body)."""

    def __init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.requests += 1
                owner.respond(self, body)

        self.requests = 0
        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> _JsonRpcServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def respond(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        raise NotImplementedError

    @staticmethod
    def send(handler: BaseHTTPRequestHandler, status: int, payload: bytes, headers: dict | None = None) -> None:
        handler.send_response(status)
        for k, v in {"Content-Type": "application/json", **(headers or {})}.items():
            handler.send_header(k, v)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)


class FaultProxy(_JsonRpcServer):
    """A proxy in front of a JSON-RPC URL injecting faults at a seeded rate or from a scripted sequence.

    script: faults (names from FAULTS, None = pass through) used one per request before random ones.
    injected counts what was injected; forwarded counts requests that reached the upstream.
    """

    def __init__(
        self,
        upstream: str,
        *,
        rate: float = 0.0,
        faults: Iterable[str] = FAULTS,
        seed: int = 0,
        script: Iterable[str | None] = (),
        delay: float = 2.0,
        retry_after: float = 1,
    ) -> None:
        super().__init__()
        self.upstream, self.rate, self.faults = upstream, rate, tuple(faults)
        self.delay, self.retry_after = delay, retry_after
        self.script: deque[str | None] = deque(script)
        self.injected: Counter[str] = Counter()
        self.forwarded = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def _next_fault(self) -> str | None:
        with self._lock:
            if self.script:
                return self.script.popleft()
            if self.rate and self._rng.random() < self.rate:
                return self._rng.choice(self.faults)
            return None

    def _forward(self, body: bytes) -> tuple[int, bytes]:
        self.forwarded += 1
        req = urllib.request.Request(self.upstream, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def _tamper(self, fault: str, payload: bytes) -> bytes:
        data = json.loads(payload)
        items = data if isinstance(data, list) else [data]
        victim = self._rng.randrange(len(items))
        if fault == "missing_id" and isinstance(data, list):
            del items[victim]
        elif fault == "duplicate_id":
            items.append(dict(items[victim]))
        elif fault == TRACER_ERROR:
            traced = [i for i in items if isinstance(i.get("result"), list) and i["result"]
                      and isinstance(i["result"][0], dict) and "result" in i["result"][0]]  # fmt: skip
            if traced:
                entries = traced[0]["result"]
                entries[-1] = {"txHash": entries[-1].get("txHash"), "error": "execution timeout"}
        elif fault == "item_error":
            items[victim] = {"jsonrpc": "2.0", "id": items[victim].get("id"),
                             "error": {"code": -32005, "message": "limit exceeded"}}  # fmt: skip
        return json.dumps(items if isinstance(data, list) or len(items) > 1 else items[0]).encode()

    def respond(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        fault = self._next_fault()
        if fault is not None:
            with self._lock:
                self.injected[fault] += 1
        if fault == "429":
            return self.send(handler, 429, b'{"error":"rate limited"}', {"Retry-After": str(self.retry_after)})
        if fault in ("500", "502", "503"):
            return self.send(handler, int(fault), b"upstream failure")
        if fault == "drop":
            handler.close_connection = True
            return None
        if fault == "garbage":
            return self.send(handler, 200, b"<html><body>502 Bad Gateway</body></html>")
        if fault == "delay":
            time.sleep(self.delay)
        status, payload = self._forward(body)
        if fault == "truncate":
            return self.send(handler, status, payload[: len(payload) // 2])
        if fault == "short_read":  # promise the whole body, send half, hang up
            handler.send_response(status)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload[: len(payload) // 2])
            handler.close_connection = True
            return None
        if fault in ("missing_id", "duplicate_id", "item_error", TRACER_ERROR) and status == 200:
            payload = self._tamper(fault, payload)
        return self.send(handler, status, payload)


class ReplayNode(_JsonRpcServer):
    """A JSON-RPC node answering from recorded (method, params) -> result pairs; batches supported.

    Unknown methods (or those in `disabled`) answer -32601; unknown params answer a null result. eth_call answers
    "0x" (what a node answers for an address without code: no contract state is recorded).
    """

    def __init__(self, recorded: Iterable[tuple[str, list, object]], *, chain_id: int = 1, head: int = 0,
                 disabled: Iterable[str] = ()) -> None:  # fmt: skip
        super().__init__()
        self.results = {(m, self.key(p)): r for m, p, r in recorded}
        self.methods = {m for m, _ in self.results} | {"eth_chainId", "eth_blockNumber", "eth_call"}
        self.methods -= set(disabled)
        self.extra: dict[str, Callable[[list], object]] = {
            "eth_chainId": lambda p: hex(chain_id),
            "eth_blockNumber": lambda p: hex(head),
            "eth_call": lambda p: "0x",
        }
        self.calls: Counter[str] = Counter()

    @staticmethod
    def key(params: object) -> str:
        """Canonical params: JSON with hex strings lower-cased (recordings use 0xF42400, clients 0xf42400)."""
        return json.dumps(params, sort_keys=True).lower()

    def answer(self, req: dict) -> dict:
        method, params = req.get("method"), req.get("params") or []
        self.calls[method] += 1
        out: dict = {"jsonrpc": "2.0", "id": req.get("id")}
        if method not in self.methods:
            out["error"] = {"code": -32601, "message": f"the method {method} does not exist/is not available"}
        elif method in self.extra:
            out["result"] = self.extra[method](params)
        else:
            out["result"] = self.results.get((method, self.key(params)))
        return out

    def respond(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        req = json.loads(body)
        resp = [self.answer(r) for r in req] if isinstance(req, list) else self.answer(req)
        self.send(handler, 200, json.dumps(resp).encode())


FIXTURES = Path(__file__).parent / "fixtures" / "mainnet"


def recorded(relpath: str) -> tuple[dict, object]:
    """(request, result) of a recorded response under fixtures/mainnet (.json or .json.gz).

    Erigon files hold [{"request", "response"}]; ethereum-etl files hold the bare response.
    """
    path = FIXTURES / relpath
    with gzip.open(path, "rt") if path.suffix == ".gz" else open(path) as fh:
        data = json.load(fh)
    if isinstance(data, list):
        return data[0]["request"], data[0]["response"]["result"]
    return {}, data["result"]
