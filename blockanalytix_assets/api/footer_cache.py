"""The catalog's footer summaries kept on local disk between starts, so the first /ranges does not wait for them.

One JSON file per storage root under the API's cache folder. An entry carries the file's (size, mtime) token:
a file rewritten since is read again by the background refresh, so a stale cache costs reads, never wrong answers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)
VERSION = 1
Footers = dict[tuple[str, str], tuple[tuple[int, int], dict]]  # (asset, key) -> ((size, mtime_ns), summary)


def cache_file(folder: str | Path, root: str) -> Path:
    """The cache file of one storage root (named by a digest: a root may be a URL)."""
    return Path(folder) / f"footers-{hashlib.sha256(root.encode()).hexdigest()[:16]}.json"


def _value(v: dict) -> dict:
    return {**v, "columns": frozenset(v["columns"])} if "columns" in v else v


def load(path: Path, root: str) -> Footers:
    """The persisted footers of root; empty when absent, unreadable or of another root or version."""
    try:
        doc = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("footer cache %s unreadable (%s); reading footers from storage", path, type(exc).__name__)
        return {}
    if not isinstance(doc, dict) or doc.get("version") != VERSION or doc.get("root") != root:
        return {}
    return {(a, k): ((size, mtime), _value(v)) for a, k, size, mtime, v in doc["footers"]}


def save(path: Path, root: str, footers: Footers) -> None:
    """Write the footers atomically; a failure is logged, never raised (the cache only saves time)."""
    rows = [[a, k, size, mtime, {**v, "columns": sorted(v["columns"])} if "columns" in v else v]
            for (a, k), ((size, mtime), v) in sorted(footers.items())]  # fmt: skip
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps({"version": VERSION, "root": root, "footers": rows}, separators=(",", ":")))
        os.replace(tmp, path)
    except (OSError, TypeError, ValueError) as exc:
        log.warning("footer cache %s not written (%s)", path, type(exc).__name__)
        tmp.unlink(missing_ok=True)
