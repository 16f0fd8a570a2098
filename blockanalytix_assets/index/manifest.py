"""Run-tree manifests in pages: a small root plus one JSON per subtree of F^3 ranges (512 at fan-out 8).

An update reads and rewrites only the root and the pages of the ranges it folds in, so its manifest I/O does not
grow with the ranges present. The root holds the nodes of level >= PAGE_LEVEL and each page's leaf count; a page
holds its ranges' leaf tokens and the level 1..PAGE_LEVEL-1 nodes over them. Pages are written before the root;
a reader that meets a mix of old and new pages still only uses nodes whose children's tokens match (valid_nodes).
Version 2 (one file with every leaf and node) is still read, and the next full update rewrites it as pages.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pyarrow.fs as pafs

from blockanalytix_assets.index.plan import range_index
from blockanalytix_assets.storage import Storage

ROOT = "_manifest.json"
PAGES = "_manifest"
VERSION = 3  # 3: a root plus pages; 2: one file
PAGE_LEVEL = 3


def page_of(level: int, index: int, fanout: int) -> int | None:
    """The page a leaf (level 0) or node belongs to; None for nodes the root holds."""
    return None if level >= PAGE_LEVEL else index // fanout ** (PAGE_LEVEL - level)


def split(leaves: dict[str, str], nodes: dict[str, dict], fanout: int) -> tuple[dict[str, dict], dict[int, dict]]:
    """(root nodes, {page: {"leaves", "nodes"}}) of a manifest's leaves and nodes."""
    root: dict[str, dict] = {}
    pages: dict[int, dict] = {}
    for key, token in leaves.items():
        page = range_index(key) // fanout**PAGE_LEVEL
        pages.setdefault(page, {"leaves": {}, "nodes": {}})["leaves"][key] = token
    for name, e in nodes.items():
        p = page_of(e["level"], e["index"], fanout)
        if p is None:
            root[name] = e
        else:
            pages.setdefault(p, {"leaves": {}, "nodes": {}})["nodes"][name] = e
    return root, pages


def _dumps(obj: dict) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


class Manifests:
    """Reads and writes one tree's root and pages under `<root>/<tree>/`."""

    def __init__(self, storage: Storage, fs: pafs.FileSystem, base: str, name: str, fanout: int):
        self.storage, self._fs, self.name, self.fanout = storage, fs, name, fanout
        self._dir = f"{base}/{name}"

    def _read(self, rel: str) -> dict | None:
        try:
            with self._fs.open_input_stream(f"{self._dir}/{rel}") as f:
                return json.loads(f.read())
        except FileNotFoundError:
            return None

    def root(self) -> dict | None:
        """The root as last written (a version-2 file holds everything), or None."""
        return self._read(ROOT)

    def pages(self, pages: set[int]) -> dict[int, dict]:
        """The named pages ({"leaves", "nodes"}, empty where absent)."""
        names = sorted(pages)
        read = lambda p: self._read(f"{PAGES}/{p:09d}.json")  # noqa: E731
        if self.storage.is_s3 and len(names) > 1:  # round trips in parallel; local reads need no threads
            with ThreadPoolExecutor(min(8, len(names))) as pool:
                got = list(pool.map(read, names))
        else:
            got = [read(p) for p in names]
        return {p: g or {"leaves": {}, "nodes": {}} for p, g in zip(names, got, strict=True)}

    def stored_pages(self) -> set[int]:
        """The page files present (a full update deletes those it no longer needs)."""
        sel = pafs.FileSelector(f"{self._dir}/{PAGES}", allow_not_found=True)
        names = [i.base_name for i in self._fs.get_file_info(sel)]
        return {int(n[:-5]) for n in names if n.endswith(".json") and n[:-5].isdigit()}

    def read(self) -> dict:
        """The whole manifest as one dict {"version", "fanout", "leaves", "nodes"} (empty when none)."""
        root = self.root()
        if root is None or root.get("version") not in (2, VERSION) or root.get("fanout") != self.fanout:
            return {"version": VERSION, "fanout": self.fanout, "leaves": {}, "nodes": {}}
        if root["version"] == 2:
            return root
        leaves, nodes = {}, dict(root["nodes"])
        for page in self.pages({int(p) for p in root["pages"]}).values():
            leaves.update(page["leaves"])
            nodes.update(page["nodes"])
        return {"version": VERSION, "fanout": self.fanout, "leaves": leaves, "nodes": nodes}

    def write(self, root_nodes: dict[str, dict], pages: dict[int, dict], counts: dict[str, int]) -> None:
        """Write the given pages (delete the empty ones), then the root naming every page and its leaf count."""
        for p, page in sorted(pages.items()):
            if page["leaves"] or page["nodes"]:
                self.storage.write_bytes(f"{self.name}/{PAGES}/{p:09d}.json", _dumps(page))
            else:
                try:
                    self._fs.delete_file(f"{self._dir}/{PAGES}/{p:09d}.json")
                except FileNotFoundError:
                    pass
        root = {"version": VERSION, "fanout": self.fanout, "pages": counts, "nodes": root_nodes}
        self.storage.write_bytes(f"{self.name}/{ROOT}", _dumps(root))
