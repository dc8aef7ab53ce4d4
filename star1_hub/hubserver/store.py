"""On-disk storage of the local Hub: content-addressed blobs, incremental trees, immutable commits, refs.

Layout under the data dir::

    blobs/<sha256[:2]>/<sha256>                        file contents, shared by every repo
    blobs/tmp/                                         uploads in progress (debris removed at start-up)
    repos/<type>/<namespace>/<name>/refs.json          branches, tags, pull requests, metadata
    repos/<type>/<namespace>/<name>/commits/<sha>.json  one immutable commit: parents, message, root tree id
    repos/<type>/<namespace>/<name>/trees/<id[:2]>/<id>.json  one folder of a tree (see `trees.py`)
    repos/<type>/<namespace>/<name>/objects/uploaded/<sha256>   LFS objects uploaded to this repo (empty markers)
    repos/<type>/<namespace>/<name>/objects/committed/<sha256>  LFS objects in this repo's history (empty markers)
    locks/<key>.lock                                    flock files (one per repo, plus `gc`)

A file entry is `{"sha256", "size", "lfs", "oid"}` where `oid` is the git blob id (sha1 of the file, or of its
LFS pointer). Every write goes to an fsynced temp file, is renamed into place and its folder fsynced; every change
to a repo happens under a per-repo lock (a thread lock plus `fcntl.flock`, so several server processes on one
data dir are safe too). `collect_garbage` deletes blobs no tree references, under an exclusive `gc` lock that
every commit holds shared while it stores blobs and writes its tree.

Blobs are shared by every repo, but an LFS object is usable in a repo only when it was uploaded to that repo
or is already in its history: knowing a sha256 is never enough (`lfs_object_in_repo`), and the LFS batch API
answers only about the repo asked. Repo names are unique case-insensitively, as on huggingface.co.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from star1_hub.hubserver.blobs import SHA256_RE, BlobBatch, BlobStore  # noqa: F401  (BlobBatch re-exported)
from star1_hub.hubserver.durable import (
    atomic_write_bytes,
    clean_stale_temp_files,
    fsync_dir,
)
from star1_hub.hubserver.errors import (  # noqa: F401  (re-exported: the server imports them from here)
    HubError,
    bad_request,
    entry_not_found,
    repo_not_found,
    revision_not_found,
    too_large,
)
from star1_hub.hubserver.names import (  # noqa: F401  (re-exported)
    validate_path_in_repo,
    validate_ref_name,
    validate_repo_id,
)
from star1_hub.hubserver.trees import TreeStore

logger = logging.getLogger(__name__)

REPO_TYPES = ("model", "dataset", "space")
DEFAULT_BRANCH = "main"
LFS_POINTER_TEMPLATE = "version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n"
INITIAL_GITATTRIBUTES = (
    "*.bin filter=lfs diff=lfs merge=lfs -text\n"
    "*.parquet filter=lfs diff=lfs merge=lfs -text\n"
    "*.pt filter=lfs diff=lfs merge=lfs -text\n"
    "*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
    "*.gguf filter=lfs diff=lfs merge=lfs -text\n"
)

_SHA_RE = re.compile(r"[0-9a-f]{40}")
_PR_RE = re.compile(r"refs/pr/(\d+)")
GC_GRACE_S = 3600.0  # blobs younger than this are never collected: an upload may be about to be committed
_COMMIT_CACHE_SIZE = 2048
_OBJECTS_INDEXED = "indexed"  # marker: the repo's committed LFS objects are all listed (repos older than markers)


def now_iso() -> str:
    """Current UTC time in the Hub's format (`2026-11-27T20:45:41.123Z`)."""
    now = dt.datetime.now(dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a blob with this content."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return LFS_POINTER_TEMPLATE.format(oid=sha256, size=size).encode()


def validate_repo_type(repo_type: str) -> str:
    if repo_type not in REPO_TYPES:
        raise bad_request(f"Invalid repo type {repo_type!r}; choose one of {', '.join(REPO_TYPES)}")
    return repo_type


def _atomic_write_json(path: Path, payload: Any) -> None:
    atomic_write_bytes(path, json.dumps(payload, sort_keys=True).encode())


def _read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


@dataclass
class GcReport:
    """What `collect_garbage` did."""

    blobs_kept: int
    blobs_removed: int
    bytes_removed: int
    blobs_too_young: int
    temp_files_removed: int


class HubStore:
    """All repos of one local Hub, persisted under `root`."""

    def __init__(self, root: Path | str):
        self.root = Path(root)
        self.blobs = BlobStore(self.root / "blobs")
        (self.root / "repos").mkdir(parents=True, exist_ok=True)
        (self.root / "locks").mkdir(parents=True, exist_ok=True)
        (self.root / "trash").mkdir(parents=True, exist_ok=True)
        self._thread_locks: dict[str, threading.Lock] = {}
        self._thread_locks_guard = threading.Lock()
        self._commit_cache: dict[tuple[str, str, str], dict] = {}
        self._tree_cache: dict = {}
        self._tree_cache_lock = threading.Lock()

    def clean_start_up_debris(self) -> int:
        """Remove partial temp files left by killed writers (blobs/tmp and repo folders); return how many."""
        removed = self.blobs.clean_temp() + clean_stale_temp_files(self.root / "repos")
        trash = self.root / "trash"
        for leftover in list(trash.iterdir()):
            shutil.rmtree(leftover, ignore_errors=True)
        if removed:
            logger.info("local Hub: removed %d partial temp files of interrupted writes", removed)
        return removed

    # ----------------------------------------------------------------- locking and paths
    @contextlib.contextmanager
    def _lock(self, key: str) -> Iterator[None]:
        with self._thread_locks_guard:
            thread_lock = self._thread_locks.setdefault(key, threading.Lock())
        name = hashlib.sha1(key.encode()).hexdigest()
        with thread_lock, open(self.root / "locks" / f"{name}.lock", "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _repo_dir(self, repo_type: str, repo_id: str) -> Path:
        validate_repo_type(repo_type)
        validate_repo_id(repo_id)
        return self.root / "repos" / repo_type / repo_id

    def repo_lock(self, repo_type: str, repo_id: str):
        """Context manager serialising every change to one repo (threads and processes)."""
        self._repo_dir(repo_type, repo_id)
        return self._lock(f"repo:{repo_type}:{repo_id}")

    @contextlib.contextmanager
    def writing_blobs(self) -> Iterator[None]:
        """Held (shared) while a request stores blobs it is about to reference: `collect_garbage` waits for it."""
        with open(self.root / "locks" / "gc.lock", "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def trees(self, repo_type: str, repo_id: str) -> TreeStore:
        """The tree objects of one repo."""
        return TreeStore(self._repo_dir(repo_type, repo_id) / "trees", self._tree_cache, self._tree_cache_lock)

    # ----------------------------------------------------------------- repos
    def repo_meta(self, repo_type: str, repo_id: str) -> dict:
        """The repo's refs.json; raise a RepoNotFound HubError if the repo does not exist."""
        path = self._repo_dir(repo_type, repo_id) / "refs.json"
        try:
            return _read_json(path)
        except FileNotFoundError:
            raise repo_not_found(repo_type, repo_id) from None

    def exists(self, repo_type: str, repo_id: str) -> bool:
        return (self._repo_dir(repo_type, repo_id) / "refs.json").is_file()

    def create_repo(self, repo_type: str, repo_id: str, private: bool, author: str, extra: dict | None = None) -> bool:
        """Create the repo with an initial commit (`.gitattributes`); return False if it already existed.

        `extra` holds type-specific metadata kept in refs.json (a Space's `sdk`).
        """
        with (
            self.writing_blobs(),
            self._lock(f"repo-name:{repo_type}:{repo_id.lower()}"),
            self.repo_lock(repo_type, repo_id),
        ):
            if self.exists(repo_type, repo_id):
                return False
            if self.case_twin(repo_type, repo_id) is not None:  # 400, not 409: `exist_ok` must not swallow it
                raise bad_request(
                    f"A {repo_type} repo named like {repo_id!r} in other letter case already exists: repo names "
                    "are unique whatever their case (as on huggingface.co); use that repo's exact name"
                )
            content = INITIAL_GITATTRIBUTES.encode()
            entry = {"sha256": self.blobs.put_bytes(content), "size": len(content), "lfs": False}
            entry["oid"] = git_blob_sha1(content)
            created = now_iso()
            meta = {
                "id": repo_id,
                "type": repo_type,
                "private": bool(private),
                "createdAt": created,
                "lastModified": created,
                "branches": {},
                "tags": {},
                "pulls": {},
                "nextPr": 1,
                **(extra or {}),
            }
            builder = self.trees(repo_type, repo_id).builder(None)
            builder.add(".gitattributes", entry)
            sha = self._write_commit(repo_type, repo_id, [], "initial commit", "", author, builder.write())
            meta["branches"][DEFAULT_BRANCH] = sha
            repo_dir = self._repo_dir(repo_type, repo_id)
            (repo_dir / "objects").mkdir(parents=True, exist_ok=True)
            (repo_dir / "objects" / _OBJECTS_INDEXED).touch()  # a new repo has no history to index
            _atomic_write_json(repo_dir / "refs.json", meta)
            for created in (repo_dir.parent, repo_dir.parent.parent):  # the new folders' own entries
                fsync_dir(created)
            return True

    def delete_repo(self, repo_type: str, repo_id: str) -> None:
        with self.repo_lock(repo_type, repo_id):
            repo_dir = self._repo_dir(repo_type, repo_id)
            if not (repo_dir / "refs.json").is_file():
                raise repo_not_found(repo_type, repo_id)
            trash = self.root / "trash" / uuid.uuid4().hex
            os.replace(repo_dir, trash)
            shutil.rmtree(trash, ignore_errors=True)
            self._commit_cache = {k: v for k, v in self._commit_cache.items() if k[:2] != (repo_type, repo_id)}

    def update_settings(self, repo_type: str, repo_id: str, private: bool | None) -> None:
        with self.repo_lock(repo_type, repo_id):
            meta = self.repo_meta(repo_type, repo_id)
            if private is not None:
                meta["private"] = bool(private)
            _atomic_write_json(self._repo_dir(repo_type, repo_id) / "refs.json", meta)

    def case_twin(self, repo_type: str, repo_id: str) -> str | None:
        """The id of an existing repo whose name differs from `repo_id` only by case, or None."""
        wanted = repo_id.lower()
        base = self.root / "repos" / validate_repo_type(repo_type)
        for namespace in base.iterdir() if base.is_dir() else ():
            if namespace.name.lower() != wanted.split("/")[0]:
                continue
            for repo_dir in namespace.iterdir():
                other = f"{namespace.name}/{repo_dir.name}"
                if other.lower() == wanted and other != repo_id and (repo_dir / "refs.json").is_file():
                    return other
        return None

    def list_repos(self, repo_type: str) -> list[str]:
        base = self.root / "repos" / validate_repo_type(repo_type)
        return sorted(f"{p.parent.parent.name}/{p.parent.name}" for p in base.glob("*/*/refs.json"))

    # ----------------------------------------------------------------- commits
    def _write_commit(
        self, repo_type: str, repo_id: str, parents: list[str], title: str, message: str, author: str, tree_id: str
    ) -> str:
        body = {
            "parents": parents,
            "title": title,
            "message": message,
            "author": author,
            "date": now_iso(),
            "tree": tree_id,
        }
        # The nonce keeps two identical commits made in the same millisecond (e.g. two PRs) distinct.
        digest_input = json.dumps(body, sort_keys=True) + uuid.uuid4().hex
        sha = hashlib.sha1(digest_input.encode()).hexdigest()
        body["id"] = sha
        _atomic_write_json(self._repo_dir(repo_type, repo_id) / "commits" / f"{sha}.json", body)
        return sha

    def get_commit(self, repo_type: str, repo_id: str, sha: str) -> dict:
        """One commit; its `tree` is the root tree id (read it with `trees(...)` or `commit_files`)."""
        key = (repo_type, repo_id, sha)
        cached = self._commit_cache.get(key)
        if cached is not None:
            return cached
        if not _SHA_RE.fullmatch(sha):
            raise revision_not_found(repo_id, sha)
        try:
            commit = _read_json(self._repo_dir(repo_type, repo_id) / "commits" / f"{sha}.json")
        except FileNotFoundError:
            raise revision_not_found(repo_id, sha) from None
        if isinstance(commit["tree"], dict):  # a data dir from before incremental trees: convert in memory
            commit["tree"] = self.trees(repo_type, repo_id).from_flat(commit["tree"])
        if len(self._commit_cache) >= _COMMIT_CACHE_SIZE:
            self._commit_cache.clear()
        self._commit_cache[key] = commit
        return commit

    def commit_files(self, repo_type: str, repo_id: str, sha: str) -> dict[str, dict]:
        """`{path: file entry}` of every file of a commit."""
        return self.trees(repo_type, repo_id).flatten(self.get_commit(repo_type, repo_id, sha)["tree"])

    def resolve(self, repo_type: str, repo_id: str, revision: str) -> str:
        """Turn a branch, tag, `refs/heads/x`, `refs/tags/x`, `refs/pr/N` or 40-hex sha into a commit sha."""
        meta = self.repo_meta(repo_type, repo_id)
        name = revision
        if name.startswith("refs/heads/"):
            name = name[len("refs/heads/") :]
            if name in meta["branches"]:
                return meta["branches"][name]
        elif name.startswith("refs/tags/"):
            name = name[len("refs/tags/") :]
            if name in meta["tags"]:
                return meta["tags"][name]["sha"]
        elif match := _PR_RE.fullmatch(name):
            pull = meta["pulls"].get(match.group(1))
            if pull is not None:
                return pull["sha"]
        else:
            if name in meta["branches"]:
                return meta["branches"][name]
            if name in meta["tags"]:
                return meta["tags"][name]["sha"]
            if _SHA_RE.fullmatch(name) and (self._repo_dir(repo_type, repo_id) / "commits" / f"{name}.json").is_file():
                return name
        raise revision_not_found(repo_id, revision)

    def history(self, repo_type: str, repo_id: str, sha: str) -> list[dict]:
        """Commits reachable from `sha` following first parents, newest first."""
        commits = []
        current: str | None = sha
        while current:
            commit = self.get_commit(repo_type, repo_id, current)
            commits.append(commit)
            current = commit["parents"][0] if commit["parents"] else None
        return commits

    def commit(
        self,
        repo_type: str,
        repo_id: str,
        revision: str,
        operations: list[tuple[str, str, dict | None]],
        title: str,
        message: str,
        author: str,
        parent_commit: str | None = None,
        create_pr: bool = False,
    ) -> tuple[str, int | None]:
        """Apply `operations` on top of branch `revision` (or open a PR from it) and return (sha, pr number).

        Each operation is `("add", path, entry)`, `("delete_file", path, None)` or `("delete_folder", path, None)`.
        Raises HubError 412 when `parent_commit` is not the current head, 404 EntryNotFound when a deleted path
        does not exist, 400 when `revision` is a tag or a sha.
        """
        with self.repo_lock(repo_type, repo_id):
            meta = self.repo_meta(repo_type, repo_id)
            pr_match = _PR_RE.fullmatch(revision)
            if revision.startswith("refs/heads/"):
                revision = revision[len("refs/heads/") :]
            if pr_match:
                if pr_match.group(1) not in meta["pulls"]:
                    raise revision_not_found(repo_id, revision)
                head = meta["pulls"][pr_match.group(1)]["sha"]
            elif revision in meta["branches"]:
                head = meta["branches"][revision]
            elif revision in meta["tags"] or _SHA_RE.fullmatch(revision):
                raise bad_request(f"Cannot commit to {revision!r}: it is not a branch")
            else:
                raise revision_not_found(repo_id, revision)
            if parent_commit is not None and parent_commit != head:
                raise HubError(
                    412,
                    f"A commit has happened since {parent_commit}: head of {revision!r} is {head}. Refresh and retry.",
                )
            builder = self.trees(repo_type, repo_id).builder(self.get_commit(repo_type, repo_id, head)["tree"])
            for kind, path, entry in operations:
                if kind == "add":
                    builder.add(path, entry)
                elif kind == "delete_file":
                    builder.delete_file(path)
                elif kind == "delete_folder":
                    builder.delete_folder(path)
                else:
                    raise bad_request(f"Unknown commit operation {kind!r}")
            sha = self._write_commit(repo_type, repo_id, [head], title, message, author, builder.write())
            pr_num = None
            if create_pr:
                pr_num = meta["nextPr"]
                meta["nextPr"] = pr_num + 1
                meta["pulls"][str(pr_num)] = {"sha": sha, "title": title, "base": revision, "status": "open"}
            elif pr_match:
                meta["pulls"][pr_match.group(1)]["sha"] = sha
            else:
                meta["branches"][revision] = sha
            meta["lastModified"] = now_iso()
            _atomic_write_json(self._repo_dir(repo_type, repo_id) / "refs.json", meta)
            lfs_added = {entry["sha256"] for kind, _, entry in operations if kind == "add" and entry and entry["lfs"]}
            self._mark_objects(repo_type, repo_id, "committed", lfs_added)
            return sha, pr_num

    # ----------------------------------------------------------------- refs
    def create_branch(self, repo_type: str, repo_id: str, branch: str, starting_point: str | None) -> str:
        validate_ref_name(branch)
        with self.repo_lock(repo_type, repo_id):
            meta = self.repo_meta(repo_type, repo_id)
            if branch in meta["branches"]:
                raise HubError(409, f"Reference already exists: refs/heads/{branch}")
            sha = self.resolve(repo_type, repo_id, starting_point or DEFAULT_BRANCH)
            meta["branches"][branch] = sha
            _atomic_write_json(self._repo_dir(repo_type, repo_id) / "refs.json", meta)
            return sha

    def delete_branch(self, repo_type: str, repo_id: str, branch: str) -> None:
        with self.repo_lock(repo_type, repo_id):
            meta = self.repo_meta(repo_type, repo_id)
            if branch == DEFAULT_BRANCH:
                raise HubError(403, "Cannot delete the default branch 'main'")
            if branch not in meta["branches"]:
                raise revision_not_found(repo_id, branch)
            del meta["branches"][branch]
            _atomic_write_json(self._repo_dir(repo_type, repo_id) / "refs.json", meta)

    def create_tag(self, repo_type: str, repo_id: str, tag: str, revision: str, message: str | None) -> str:
        validate_ref_name(tag)
        with self.repo_lock(repo_type, repo_id):
            meta = self.repo_meta(repo_type, repo_id)
            if tag in meta["tags"]:
                raise HubError(409, f"Tag already exists: refs/tags/{tag}")
            sha = self.resolve(repo_type, repo_id, revision)
            meta["tags"][tag] = {"sha": sha, "message": message or "", "date": now_iso()}
            _atomic_write_json(self._repo_dir(repo_type, repo_id) / "refs.json", meta)
            return sha

    def delete_tag(self, repo_type: str, repo_id: str, tag: str) -> None:
        with self.repo_lock(repo_type, repo_id):
            meta = self.repo_meta(repo_type, repo_id)
            if tag not in meta["tags"]:
                raise revision_not_found(repo_id, tag)
            del meta["tags"][tag]
            _atomic_write_json(self._repo_dir(repo_type, repo_id) / "refs.json", meta)

    # ----------------------------------------------------------------- file helpers
    def regular_entry(self, data: bytes, batch: BlobBatch | None = None) -> dict:
        """Store the content of a regular (inline) file (through `batch` when given) and return its tree entry."""
        sha = batch.put(data) if batch is not None else self.blobs.put_bytes(data)
        return {"sha256": sha, "size": len(data), "lfs": False, "oid": git_blob_sha1(data)}

    # ----------------------------------------------------------------- which repo may use which LFS object
    def _objects_dir(self, repo_type: str, repo_id: str) -> Path:
        return self._repo_dir(repo_type, repo_id) / "objects"

    def _mark_objects(self, repo_type: str, repo_id: str, kind: str, shas: set[str]) -> None:
        """Record that these LFS objects were uploaded to / committed in the repo (empty marker files).

        Not fsynced: a marker lost in a crash only makes the client upload that object again.
        """
        if not shas:
            return
        folder = self._objects_dir(repo_type, repo_id) / kind
        folder.mkdir(parents=True, exist_ok=True)
        for sha in shas:
            (folder / sha).touch()

    def mark_uploaded(self, repo_type: str, repo_id: str, sha256: str) -> None:
        """The content of `sha256` was uploaded (and verified) through this repo's signed LFS upload link."""
        self._mark_objects(repo_type, repo_id, "uploaded", {sha256})

    def _index_history(self, repo_type: str, repo_id: str) -> None:
        """Mark every LFS object of a repo created before the markers existed (once per repo)."""
        objects = self._objects_dir(repo_type, repo_id)
        if (objects / _OBJECTS_INDEXED).is_file():
            return
        found: set[str] = set()
        repo_dir = self._repo_dir(repo_type, repo_id)
        for path in (repo_dir / "trees").glob("*/*.json"):
            with contextlib.suppress(FileNotFoundError, ValueError):
                found.update(e["sha256"] for e in _read_json(path).values() if e.get("lfs") and "sha256" in e)
        for path in (repo_dir / "commits").glob("*.json"):
            with contextlib.suppress(FileNotFoundError, ValueError):
                tree = _read_json(path).get("tree")
                if isinstance(tree, dict):  # legacy full-snapshot commit
                    found.update(e["sha256"] for e in tree.values() if e.get("lfs") and "sha256" in e)
        self._mark_objects(repo_type, repo_id, "committed", found)
        objects.mkdir(parents=True, exist_ok=True)
        (objects / _OBJECTS_INDEXED).touch()
        logger.info("local Hub: indexed %d LFS objects of %s %s", len(found), repo_type, repo_id)

    def _has_object(self, repo_type: str, repo_id: str, sha256: str, kinds: tuple[str, ...]) -> bool:
        self._index_history(repo_type, repo_id)
        objects = self._objects_dir(repo_type, repo_id)
        return any((objects / kind / sha256).is_file() for kind in kinds)

    def lfs_object_in_repo(self, repo_type: str, repo_id: str, sha256: str) -> bool:
        """True when the object was uploaded to this repo or is in its history, and is still stored."""
        return self._has_object(repo_type, repo_id, sha256, ("uploaded", "committed")) and self.blobs.touch(sha256)

    def make_lfs_entry(self, sha256: str, size: int | None, path: str, repo_type: str, repo_id: str) -> dict:
        """Tree entry for an LFS file of `repo_id`; its object must have been uploaded to this repo or be in its
        history (`lfs_object_in_repo`): knowing the sha256 of another repo's file is not enough."""
        if not isinstance(sha256, str) or not SHA256_RE.fullmatch(sha256):
            raise bad_request(f"LFS file {path!r}: invalid sha256 oid {sha256!r}")
        if not self.lfs_object_in_repo(repo_type, repo_id, sha256):
            raise bad_request(
                f"LFS file {path!r}: object {sha256} was not uploaded to this repo; upload it via the LFS batch API"
            )
        actual = self.blobs.size(sha256)
        if size is not None and size != actual:
            raise bad_request(f"LFS file {path!r}: declared size {size} but the object has {actual} bytes")
        return {"sha256": sha256, "size": actual, "lfs": True, "oid": git_blob_sha1(lfs_pointer(sha256, actual))}

    # ----------------------------------------------------------------- garbage collection
    def referenced_blobs(self) -> set[str]:
        """sha256 of every blob some stored tree object (or legacy commit) references."""
        referenced: set[str] = set()
        for trees_dir in (self.root / "repos").glob("*/*/*/trees"):
            for path in trees_dir.glob("*/*.json"):
                with contextlib.suppress(FileNotFoundError, ValueError):
                    for entry in _read_json(path).values():
                        if "sha256" in entry:
                            referenced.add(entry["sha256"])
        for commits_dir in (self.root / "repos").glob("*/*/*/commits"):
            for path in commits_dir.glob("*.json"):
                with contextlib.suppress(FileNotFoundError, ValueError):
                    tree = _read_json(path).get("tree")
                    if isinstance(tree, dict):  # legacy full-snapshot commit
                        referenced.update(entry["sha256"] for entry in tree.values())
        return referenced

    def collect_garbage(self, grace_s: float = GC_GRACE_S, dry_run: bool = False) -> GcReport:
        """Delete blobs no tree references and older than `grace_s` (uploads waiting for their commit).

        Holds the `gc` lock exclusively: commits in flight finish first and new ones wait, so a blob a commit is
        about to reference is either already in one of its trees or younger than the grace period (the LFS batch
        and regular-file paths refresh the mtime of a blob they reuse).
        """
        with open(self.root / "locks" / "gc.lock", "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                referenced = self.referenced_blobs()
                now = time.time()
                kept = removed = too_young = freed = 0
                touched_dirs: set[Path] = set()
                for path in self.blobs.iter_all():
                    if path.name in referenced:
                        kept += 1
                        continue
                    stat = path.stat()
                    if now - stat.st_mtime < grace_s:
                        too_young += 1
                        continue
                    if not dry_run:
                        path.unlink()
                        touched_dirs.add(path.parent)
                    removed += 1
                    freed += stat.st_size
                for directory in touched_dirs:
                    fsync_dir(directory)
                temp = 0 if dry_run else self.blobs.clean_temp()
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return GcReport(kept, removed, freed, too_young, temp)
