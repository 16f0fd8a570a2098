"""Record the replay fixture: the JSON-RPC answers the ingest asks the test devnet for, as gzipped JSON lines.

python -m blockanalytix_tests.record_rpc [--url URL]   (`make record-rpc`; without --url it starts the devnet)
"""

from __future__ import annotations

import argparse
import gzip
import tempfile
from collections.abc import Sequence
from pathlib import Path

from blockanalytix_assets.ingest.replay import recording_line
from blockanalytix_assets.ingest.rpc import RpcClient
from blockanalytix_assets.ingest.rpc_requests import block_calls, range_calls
from blockanalytix_tests.plugins.replay import RECORDED_BLOCKS, RECORDING

HEAD_CALLS = [("eth_chainId", []), ("eth_blockNumber", [])]


def record(url: str, blocks: Sequence[int] = RECORDED_BLOCKS) -> bytes:
    """The recording of blocks: chain id, head, each block (full and hashes-only) and its receipts."""
    calls = HEAD_CALLS + range_calls(blocks) + block_calls(blocks, full=False)
    with RpcClient(url, max_workers=1) as client:
        results = client.batch(calls)
    return b"".join(recording_line(m, p, {"result": r}) + b"\n" for (m, p), r in zip(calls, results, strict=True))


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
