"""Minimal JSON-RPC client for driving a devnet node: one keep-alive session, orjson, batches."""

from __future__ import annotations

from typing import Any

import orjson
import requests


class DevnetRpcError(RuntimeError):
    """A JSON-RPC error answer (or a malformed answer) from the devnet node."""


class DevnetRpc:
    """A JSON-RPC connection to one node over a single HTTP keep-alive session."""

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        self.url = url
        self.timeout = timeout
        self._session = requests.Session()
        self._session.headers["content-type"] = "application/json"
        self._id = 0

    def _post(self, payload: Any) -> Any:
        resp = self._session.post(self.url, data=orjson.dumps(payload), timeout=self.timeout)
        resp.raise_for_status()
        return orjson.loads(resp.content)

    def call(self, method: str, *params: Any) -> Any:
        """Call one method and return its result, raising DevnetRpcError on an error answer."""
        self._id += 1
        answer = self._post({"jsonrpc": "2.0", "id": self._id, "method": method, "params": list(params)})
        if "error" in answer:
            raise DevnetRpcError(f"{method}: {answer['error']}")
        return answer["result"]

    def batch(self, calls: list[tuple[str, list[Any]]], strict: bool = True) -> list[Any]:
        """Send calls as one batch; return results in order; an error raises (is None if not strict)."""
        if not calls:
            return []
        base = self._id + 1
        self._id += len(calls)
        payload = [{"jsonrpc": "2.0", "id": base + i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        answers = self._post(payload)
        if not isinstance(answers, list):
            raise DevnetRpcError(f"batch answered with {str(answers)[:200]}")
        by_id = {a.get("id"): a for a in answers}
        results: list[Any] = []
        for i, (method, params) in enumerate(calls):
            answer = by_id.get(base + i)
            if answer is None:
                raise DevnetRpcError(f"{method}: no answer in batch")
            if "error" in answer:
                if strict:
                    raise DevnetRpcError(f"{method}{str(params)[:300]}: {answer['error']}")
                results.append(None)
                continue
            results.append(answer["result"])
        return results

    def close(self) -> None:
        self._session.close()
