"""Incremental file trees of the local Hub: one immutable, content-addressed object per folder, like git.

A tree object maps the names of one folder to entries: a file `{"sha256", "size", "lfs", "oid"}` or a folder
`{"tree": <tree id>}`. Its id is the sha1 of its canonical JSON, so a commit that changes one file rewrites only
the folders on that file's path; every other folder is shared with the parent commit. Stored under
`repos/<type>/<ns>/<name>/trees/<id[:2]>/<id>.json`.

`TreeBuilder` applies a commit's operations with copy-on-write folders: each add or delete walks its path once
(dict lookups), so a commit of N files costs O(N log N) (the log from sorting each written folder).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

from star1_hub.hubserver.durable import write_many
from star1_hub.hubserver.errors import HubError, bad_request, entry_not_found
from star1_hub.hubserver.names import check_no_nfc_twins

logger = logging.getLogger(__name__)

_CACHE_ENTRY_LIMIT = 2_000_000  # cached folder entries plus flattened file entries, all repos together


def _canonical(entries: dict) -> bytes:
    return json.dumps(entries, sort_keys=True, separators=(",", ":")).encode()


def is_folder(entry: dict) -> bool:
    return "tree" in entry


class TreeStore:
    """Read and write the tree objects of one repo (a small shared cache of parsed objects)."""

    def __init__(self, root: Path, cache: dict, cache_lock: threading.Lock):
        self.root = root
        self._cache = cache
        self._cache_lock = cache_lock

    def _remember(self, key: tuple, value: dict) -> None:
        """Cache an immutable object; start over once the cache holds too many entries (bounded memory)."""
        with self._cache_lock:
            size = self._cache.get("__entries__", 0) + len(value) + 1
            if size > _CACHE_ENTRY_LIMIT:
                self._cache.clear()
                size = len(value) + 1
            self._cache[key] = value
            self._cache["__entries__"] = size

    def _path(self, tree_id: str) -> Path:
        return self.root / tree_id[:2] / f"{tree_id}.json"

    def load(self, tree_id: str) -> dict[str, dict]:
        """The entries of one folder; treat the result as read-only."""
        key = (str(self.root), tree_id)
        with self._cache_lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached
        with open(self._path(tree_id), "rb") as handle:
            entries = json.loads(handle.read())
        self._remember(key, entries)
        return entries

    def prepare(self, entries: dict[str, dict], pending: dict[Path, bytes]) -> str:
        """The id of one folder object; queue it in `pending` (path -> bytes) unless it is stored already."""
        data = _canonical(entries)
        tree_id = hashlib.sha1(data).hexdigest()
        path = self._path(tree_id)
        if path not in pending and not path.is_file():
            pending[path] = data
        return tree_id

    def lookup(self, root_id: str, path: str) -> dict | None:
        """The entry at `path` (a file entry or `{"tree": id}` for a folder), or None."""
        if not path:
            return {"tree": root_id}
        entries = self.load(root_id)
        parts = path.split("/")
        for depth, part in enumerate(parts):
            entry = entries.get(part)
            if entry is None:
                return None
            if depth == len(parts) - 1:
                return entry
            if not is_folder(entry):
                return None
            entries = self.load(entry["tree"])
        return None

    def walk(self, tree_id: str, prefix: str = "") -> Iterator[tuple[str, dict]]:
        """Every (path, entry) below a folder, folders included, depth first in name order."""
        for name, entry in sorted(self.load(tree_id).items()):
            path = f"{prefix}{name}"
            yield path, entry
            if is_folder(entry):
                yield from self.walk(entry["tree"], path + "/")

    def flatten(self, root_id: str) -> dict[str, dict]:
        """`{path: file entry}` for every file of a commit (cached per root)."""
        key = (str(self.root), "flat", root_id)
        with self._cache_lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached
        flat = {path: entry for path, entry in self.walk(root_id) if not is_folder(entry)}
        self._remember(key, flat)
        return flat

    def builder(self, root_id: str | None) -> TreeBuilder:
        return TreeBuilder(self, root_id)

    def from_flat(self, flat: dict[str, dict]) -> str:
        """Store a legacy full-snapshot tree (`{path: entry}`) as tree objects and return the root id."""
        builder = self.builder(None)
        builder.check_names = False  # old data may hold NFC twins; they stay readable
        skipped = []
        for path, entry in sorted(flat.items()):
            try:
                builder.add(path, entry)
            except HubError:  # a file/folder clash the old store let in: the first path in sorted order stays
                skipped.append(path)
        if skipped:
            logger.warning(
                "local Hub: %d file(s) of an old commit clash with a file or folder of the same name and are hidden: %s",
                len(skipped),
                ", ".join(repr(p) for p in skipped[:5]),
            )
        return builder.write()


class TreeBuilder:
    """Copy-on-write edits of a commit tree; `write()` stores the changed folders and returns the new root id."""

    def __init__(self, store: TreeStore, root_id: str | None):
        self.store = store
        self._folders: dict[str, dict[str, dict]] = {}  # folder path ("" = root) -> its mutable entries
        self._subfolders: dict[str, set[str]] = {}  # folder path -> the paths of its children in `_folders`
        self._added_in: set[str] = set()
        self.check_names = True
        self._folders[""] = dict(store.load(root_id)) if root_id else {}

    def _folder(self, folder: str, create: bool, for_path: str) -> dict[str, dict] | None:
        entries = self._folders.get(folder)
        if entries is not None:
            return entries
        parent_path, _, name = folder.rpartition("/")
        parent = self._folder(parent_path, create, for_path)
        if parent is None:
            return None
        entry = parent.get(name)
        if entry is None:
            if not create:
                return None
            entries = {}
        elif not is_folder(entry):
            raise bad_request(f"Cannot add {for_path!r}: {folder!r} is a file, not a folder")
        else:
            entries = dict(self.store.load(entry["tree"])) if entry.get("tree") else {}
        parent[name] = {"tree": None}  # placeholder; write() fills in the id
        self._folders[folder] = entries
        self._subfolders.setdefault(parent_path, set()).add(folder)
        return entries

    def get(self, path: str) -> dict | None:
        folder, _, name = path.rpartition("/")
        entries = self._folder(folder, False, path)
        return None if entries is None else entries.get(name)

    def add(self, path: str, entry: dict) -> None:
        folder, _, name = path.rpartition("/")
        entries = self._folder(folder, True, path)
        existing = entries.get(name)
        if existing is not None and is_folder(existing):
            raise bad_request(f"Cannot add file {path!r}: a folder with this name exists")
        entries[name] = entry
        self._added_in.add(folder)

    def delete_file(self, path: str) -> None:
        folder, _, name = path.rpartition("/")
        entries = self._folder(folder, False, path)
        if entries is None or name not in entries or is_folder(entries[name]):
            raise entry_not_found(path, f"A file with this name doesn't exist: {path!r}")
        del entries[name]

    def delete_folder(self, path: str) -> None:
        path = path.rstrip("/")
        parent_path, _, name = path.rpartition("/")
        parent = self._folder(parent_path, False, path)
        if parent is None or name not in parent or not is_folder(parent[name]):
            raise entry_not_found(path, f"A folder with this name doesn't exist: {path!r}")
        del parent[name]
        # Forget the edited folders below it: only those (not every folder of the commit), so N deletions stay linear.
        stack = [path]
        while stack:
            doomed = stack.pop()
            self._folders.pop(doomed, None)
            stack.extend(self._subfolders.pop(doomed, ()))
        self._subfolders.get(parent_path, set()).discard(path)

    def write(self) -> str:
        """Store every changed folder bottom-up (empty folders vanish, as in git) and return the root id."""
        for folder in self._added_in if self.check_names else ():
            if folder in self._folders:
                check_no_nfc_twins(folder, list(self._folders[folder]))
        pending: dict[Path, bytes] = {}
        root_id = self._write_folder("", pending)
        write_many(pending.items())
        return root_id

    def _write_folder(self, folder: str, pending: dict[Path, bytes]) -> str | None:
        entries = self._folders[folder]
        prefix = f"{folder}/" if folder else ""
        for name in list(entries):
            if entries[name].get("tree", "") is None:  # a folder edited in this commit
                child = self._write_folder(prefix + name, pending)
                if child is None:
                    del entries[name]
                else:
                    entries[name] = {"tree": child}
        if not entries and folder:
            return None
        return self.store.prepare(entries, pending)
