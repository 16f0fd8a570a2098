"""Recorded JSON-RPC answers served as a `requests` transport: the RPC client runs unchanged, no node needed.

A recording is JSON lines (optionally gzipped), one `{"method", "params", "result" | "error"}` per request. Like
a node, it answers null for a block above its recorded `eth_blockNumber`; any other request it does not hold
raises UnrecordedRequest, naming the request and the file, instead of inventing an answer.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
import requests
from requests.adapters import BaseAdapter

REPLAY_URL = "replay://recording"
_BLOCK_METHODS = ("eth_getBlockByNumber", "eth_getBlockReceipts", "trace_block", "debug_traceBlockByNumber")


class UnrecordedRequest(LookupError):
    """A request the recording holds no answer for: the test asks for more than was recorded."""


def request_key(method: str, params: list | tuple) -> bytes:
    """The canonical key of one request: its method and params as compact JSON."""
    return orjson.dumps([method, list(params)])


def recording_line(method: str, params: list | tuple, answer: dict[str, Any]) -> bytes:
    """One line of a recording: the request and its answer ({"result": ...} or {"error": ...})."""
    return orjson.dumps({"method": method, "params": list(params), **answer})


@dataclass(frozen=True)
class Recording:
    """The answers of one recording file, by request key."""

    path: str
    answers: dict[bytes, dict[str, Any]]
    head: int | None

    def answer(self, method: str, params: list | tuple) -> dict[str, Any]:
        """{"result": ...} or {"error": ...} for one request; raises UnrecordedRequest if it was not recorded."""
        found = self.answers.get(request_key(method, params))
        if found is not None:
            return found
        if self._beyond_head(method, params):
            return {"result": None}
        raise UnrecordedRequest(
            f"{method}{list(params)!r} is not in the RPC recording {self.path} (head {self.head}): "
            f"record it (`make record-rpc`) or ask only for what the recording holds"
        )

    def _beyond_head(self, method: str, params: list | tuple) -> bool:
        if self.head is None or method not in _BLOCK_METHODS or not params or not isinstance(params[0], str):
            return False
        return params[0].startswith("0x") and int(params[0], 16) > self.head


@lru_cache(maxsize=8)
def load_recording(path: str) -> Recording:
    """Parse a .jsonl or .jsonl.gz recording (cached per path: asset checks open a client per range)."""
    data = Path(path).read_bytes()
    if path.endswith(".gz"):
        data = gzip.decompress(data)
    answers: dict[bytes, dict[str, Any]] = {}
    for line in data.splitlines():
        if line.strip():
            item = orjson.loads(line)
            answers[request_key(item["method"], item["params"])] = {
                k: item[k] for k in ("result", "error") if k in item
            }
    head = answers.get(request_key("eth_blockNumber", []), {}).get("result")
    return Recording(path, answers, int(head, 16) if isinstance(head, str) else None)


class ReplayAdapter(BaseAdapter):
    """A `requests` transport answering single and batched JSON-RPC POSTs from a Recording."""

    def __init__(self, recording: Recording) -> None:
        super().__init__()
        self.recording = recording

    def send(  # the transport options (timeouts, TLS, proxies) have no meaning for a recording
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        body = orjson.loads(request.body or b"null")
        items = body if isinstance(body, list) else [body]
        answers = [
            {"jsonrpc": "2.0", "id": i.get("id"), **self.recording.answer(i["method"], i.get("params") or [])}
            for i in items
        ]
        response = requests.Response()
        response.status_code = 200
        response._content = orjson.dumps(answers if isinstance(body, list) else answers[0])
        response.headers["Content-Type"] = "application/json"
        response.url, response.request = request.url or REPLAY_URL, request
        return response

    def close(self) -> None:
        """Nothing to release: the recording is shared and read-only."""


def replay_session(path: str) -> requests.Session:
    """A session whose replay:// URLs are answered from the recording at path."""
    session = requests.Session()
    session.mount(REPLAY_URL.split("//")[0] + "//", ReplayAdapter(load_recording(str(path))))
    return session
