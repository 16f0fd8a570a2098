"""Record the replay fixture: every JSON-RPC answer the ingest and its checks get from the test devnet.

python -m blockanalytix_tests.record_rpc [--url URL]   (`make record-rpc`; without --url it starts the devnet)

The requests go through the real RpcClient with a recording transport, so a new call the client makes (a raw
table needing another RPC method) lands in the recording by re-running this.
"""

from __future__ import annotations

import argparse
import gzip
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import requests
from requests.adapters import HTTPAdapter

from blockanalytix_assets.ingest.extract import extract_range
from blockanalytix_assets.ingest.replay import recording_line, request_key
from blockanalytix_assets.ingest.rpc import RpcClient
from blockanalytix_tests.plugins.replay import CHAIN_ID, RECORDED_BLOCKS, RECORDING


class RecordingAdapter(HTTPAdapter):
    """An HTTP transport that keeps every JSON-RPC request it sends with the answer it got."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[bytes, bytes] = {}
        self._lock = threading.Lock()

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = super().send(request, **kwargs)
        sent, got = orjson.loads(request.body or b"null"), orjson.loads(response.content)
        answers = {a["id"]: a for a in (got if isinstance(got, list) else [got])}
        with self._lock:
            for call in sent if isinstance(sent, list) else [sent]:
                answer = {k: v for k, v in answers[call["id"]].items() if k in ("result", "error")}
                self.lines[request_key(call["method"], call["params"])] = recording_line(
                    call["method"], call["params"], answer
                )
        return response


RANGE = 10  # the range size of the tests that replay (and the whole span): token eth_calls for each


def record(url: str, blocks: Sequence[int] = RECORDED_BLOCKS) -> bytes:
    """The answers raw_ingest and raw_blocks_canonical get for blocks, one line each, sorted by request."""
    recorder, session = RecordingAdapter(), requests.Session()
    session.mount("http://", recorder)
    session.mount("https://", recorder)
    with RpcClient(url, session=session) as client:
        client.check_chain_id(CHAIN_ID)
        client.block_number()  # the head: the replay answers null above it, as the node does
        client.trace_api = "parity"  # raw_traces: trace_block, which BLOCKANALYTIX_TRACES=auto probes first
        extract_range(client, blocks[0], blocks[-1])
        for first in range(blocks[0], blocks[-1] + 1, RANGE):  # eth_calls are pinned to each range's last block
            extract_range(client, first, min(first + RANGE - 1, blocks[-1]))
        client.get_blocks(list(blocks), full=False)
    return b"".join(recorder.lines[k] + b"\n" for k in sorted(recorder.lines))


def write(data: bytes, path: Path = RECORDING) -> None:
    """Gzip with a fixed mtime (the same answers give the same bytes) and replace path atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    tmp.replace(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="record from this node instead of starting the seed-7 test devnet")
    args = parser.parse_args(argv)
    if args.url:
        data = record(args.url)
    else:
        from blockanalytix_assets.devnet.chain import ChainFiles, start_chain
        from blockanalytix_tests.plugins.devnet import DEVNET_CONFIG

        with tempfile.TemporaryDirectory() as folder:
            chain = start_chain(DEVNET_CONFIG, ChainFiles.in_dir(Path(folder)))
            try:
                data = record(chain.url)
            finally:
                chain.anvil.stop()
    write(data)
    answers = data.count(b"\n")
    print(f"{RECORDING}: {answers} answers, {RECORDING.stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
