"""On-disk storage of the local Hub: content-addressed blobs, immutable commits and per-repo refs.

Layout under the data dir::

    blobs/<sha256[:2]>/<sha256>                       file contents, shared by every repo
    repos/<type>/<namespace>/<name>/refs.json         branches, tags, pull requests, metadata
    repos/<type>/<namespace>/<name>/commits/<sha>.json one immutable commit = the full file tree snapshot
    locks/<key>.lock                                   flock files (one per repo, plus one for creation)

A commit maps every path to `{"sha256", "size", "lfs", "oid"}` where `oid` is the git blob id (sha1 of the
file, or of its LFS pointer). Every write goes to a temp file then `os.replace`, and every change to a repo
happens under a per-repo lock (a thread lock plus `fcntl.flock`, so several server processes on one data dir
are safe too).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

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

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_PR_RE = re.compile(r"^refs/pr/(\d+)$")
_COMMIT_CACHE_SIZE = 2048


class HubError(Exception):
    """An error the server turns into an HTTP status, an `X-Error-Code` header and a JSON `{"error": ...}` body."""

    def __init__(self, status: int, message: str, code: str | None = None, extra: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.extra = extra or {}


def repo_not_found(repo_type: str, repo_id: str) -> HubError:
    return HubError(404, f"Repository Not Found: {repo_type} {repo_id!r}", "RepoNotFound")


def revision_not_found(repo_id: str, revision: str) -> HubError:
    return HubError(404, f"Invalid rev id: {revision!r} does not exist in {repo_id!r}", "RevisionNotFound")


def entry_not_found(path: str, message: str | None = None) -> HubError:
    return HubError(404, message or f"Entry not found: {path!r}", "EntryNotFound")


def bad_request(message: str) -> HubError:
    return HubError(400, message)


def now_iso() -> str:
    """Current UTC time in the Hub's format (`2026-11-27T20:45:41.123Z`)."""
    now = dt.datetime.now(dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a blob with this content."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return LFS_POINTER_TEMPLATE.format(oid=sha256, size=size).encode()


def validate_repo_id(repo_id: str) -> str:
    """Check `namespace/name` (letters, digits, `-_.`, no `..`); raise a 400 HubError otherwise."""
    parts = repo_id.split("/")
    if len(parts) != 2 or not all(_NAME_RE.match(p) for p in parts) or ".." in repo_id or repo_id.endswith(".git"):
        raise bad_request(
            f"Invalid repo id {repo_id!r}: use 'namespace/name' with letters, digits, '-', '_' or '.' (no '..')"
        )
    return repo_id


def validate_repo_type(repo_type: str) -> str:
    if repo_type not in REPO_TYPES:
        raise bad_request(f"Invalid repo type {repo_type!r}; choose one of {', '.join(REPO_TYPES)}")
    return repo_type


def validate_path_in_repo(path: str) -> str:
    """Reject absolute paths, `..`/`.` segments, backslashes, NUL and empty segments with a 400 HubError."""
    if (
        not path
        or len(path) > 1000
        or path.startswith("/")
        or "\\" in path
        or "\0" in path
        or any(seg in ("", ".", "..") for seg in path.split("/"))
        or path.split("/")[0] == ".git"
    ):
        raise bad_request(f"Invalid path in repo {path!r}: relative POSIX path without '..', '.', '\\' or NUL")
    return path


def validate_ref_name(name: str) -> str:
    """Branch and tag names: git-like, no traversal, not a 40-hex sha and not under `refs/`."""
    if (
        not name
        or len(name) > 200
        or name.startswith(("/", "-", "refs/"))
        or name.endswith(("/", ".lock", "."))
        or ".." in name
        or any(c in name for c in "\\\0 ~^:?*[")
        or any(ord(c) < 32 for c in name)
        or "//" in name
        or _SHA_RE.match(name)
    ):
        raise bad_request(f"Invalid reference name {name!r}")
    return name


def _atomic_write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


class BlobStore:
    """Content-addressed file contents, named by sha256."""

    def __init__(self, root: Path):
        self.root = root
        (root / "tmp").mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        if not _SHA256_RE.match(sha256):
            raise bad_request(f"Invalid sha256 {sha256!r}")
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def size(self, sha256: str) -> int:
        return self.path(sha256).stat().st_size

    def put_bytes(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        if not self.has(sha):
            self._store(sha, lambda handle: handle.write(data))
        return sha

    def put_stream(self, chunks: Iterator[bytes], expected_sha256: str, expected_size: int | None) -> None:
        """Store a streamed upload after checking its sha256 (and size); raise a 400 HubError on mismatch."""
        target = self.path(expected_sha256)
        digest = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=self.root / "tmp")
        size = 0
        try:
            with os.fdopen(fd, "wb") as handle:
                for chunk in chunks:
                    digest.update(chunk)
                    handle.write(chunk)
                    size += len(chunk)
            if digest.hexdigest() != expected_sha256:
                raise bad_request(f"Uploaded content has sha256 {digest.hexdigest()}, expected {expected_sha256}")
            if expected_size is not None and size != expected_size:
                raise bad_request(f"Uploaded content has {size} bytes, expected {expected_size}")
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def _store(self, sha: str, write) -> None:
        target = self.path(sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root / "tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                write(handle)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def open(self, sha256: str) -> IO[bytes]:
        return open(self.path(sha256), "rb")

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()


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

    def create_repo(self, repo_type: str, repo_id: str, private: bool, author: str) -> bool:
        """Create the repo with an initial commit (`.gitattributes`); return False if it already existed."""
        with self.repo_lock(repo_type, repo_id):
            if self.exists(repo_type, repo_id):
                return False
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
            }
            sha = self._write_commit(repo_type, repo_id, [], "initial commit", "", author, {".gitattributes": entry})
            meta["branches"][DEFAULT_BRANCH] = sha
            _atomic_write_json(self._repo_dir(repo_type, repo_id) / "refs.json", meta)
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

    def list_repos(self, repo_type: str) -> list[str]:
        base = self.root / "repos" / validate_repo_type(repo_type)
        return sorted(f"{p.parent.parent.name}/{p.parent.name}" for p in base.glob("*/*/refs.json"))

    # ----------------------------------------------------------------- commits
    def _write_commit(
        self, repo_type: str, repo_id: str, parents: list[str], title: str, message: str, author: str, tree: dict
    ) -> str:
        body = {
            "parents": parents,
            "title": title,
            "message": message,
            "author": author,
            "date": now_iso(),
            "tree": tree,
        }
        # The nonce keeps two identical commits made in the same millisecond (e.g. two PRs) distinct.
        digest_input = json.dumps(body, sort_keys=True) + uuid.uuid4().hex
        sha = hashlib.sha1(digest_input.encode()).hexdigest()
        body["id"] = sha
        _atomic_write_json(self._repo_dir(repo_type, repo_id) / "commits" / f"{sha}.json", body)
        return sha

    def get_commit(self, repo_type: str, repo_id: str, sha: str) -> dict:
        key = (repo_type, repo_id, sha)
        cached = self._commit_cache.get(key)
        if cached is not None:
            return cached
        if not _SHA_RE.match(sha):
            raise revision_not_found(repo_id, sha)
        try:
            commit = _read_json(self._repo_dir(repo_type, repo_id) / "commits" / f"{sha}.json")
        except FileNotFoundError:
            raise revision_not_found(repo_id, sha) from None
        if len(self._commit_cache) >= _COMMIT_CACHE_SIZE:
            self._commit_cache.clear()  # trees can be big; a long-running server must not grow without bound
        self._commit_cache[key] = commit
        return commit

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
        elif match := _PR_RE.match(name):
            pull = meta["pulls"].get(match.group(1))
            if pull is not None:
                return pull["sha"]
        else:
            if name in meta["branches"]:
                return meta["branches"][name]
            if name in meta["tags"]:
                return meta["tags"][name]["sha"]
            if _SHA_RE.match(name) and (self._repo_dir(repo_type, repo_id) / "commits" / f"{name}.json").is_file():
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
            pr_match = _PR_RE.match(revision)
            if revision.startswith("refs/heads/"):
                revision = revision[len("refs/heads/") :]
            if pr_match:
                if pr_match.group(1) not in meta["pulls"]:
                    raise revision_not_found(repo_id, revision)
                head = meta["pulls"][pr_match.group(1)]["sha"]
            elif revision in meta["branches"]:
                head = meta["branches"][revision]
            elif revision in meta["tags"] or _SHA_RE.match(revision):
                raise bad_request(f"Cannot commit to {revision!r}: it is not a branch")
            else:
                raise revision_not_found(repo_id, revision)
            if parent_commit is not None and parent_commit != head:
                raise HubError(
                    412,
                    f"A commit has happened since {parent_commit}: head of {revision!r} is {head}. Refresh and retry.",
                )
            tree = dict(self.get_commit(repo_type, repo_id, head)["tree"])
            for kind, path, entry in operations:
                if kind == "add":
                    if any(p.startswith(path + "/") for p in tree):
                        raise bad_request(f"Cannot add file {path!r}: a folder with this name exists")
                    tree[path] = entry
                elif kind == "delete_file":
                    if path not in tree:
                        raise entry_not_found(path, f"A file with this name doesn't exist: {path!r}")
                    del tree[path]
                elif kind == "delete_folder":
                    prefix = path.rstrip("/") + "/"
                    doomed = [p for p in tree if p.startswith(prefix)]
                    if not doomed:
                        raise entry_not_found(path, f"A folder with this name doesn't exist: {path!r}")
                    for p in doomed:
                        del tree[p]
                else:
                    raise bad_request(f"Unknown commit operation {kind!r}")
            sha = self._write_commit(repo_type, repo_id, [head], title, message, author, tree)
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
    def make_regular_entry(self, content_b64: str, path: str) -> dict:
        """Store a base64 regular file from a commit payload and return its tree entry."""
        try:
            data = base64.b64decode(content_b64, validate=True)
        except (ValueError, TypeError) as exc:
            raise bad_request(f"File {path!r}: content is not valid base64 ({exc})") from None
        return {"sha256": self.blobs.put_bytes(data), "size": len(data), "lfs": False, "oid": git_blob_sha1(data)}

    def make_lfs_entry(self, sha256: str, size: int | None, path: str) -> dict:
        """Tree entry for an LFS file whose content must already have been uploaded."""
        if not isinstance(sha256, str) or not _SHA256_RE.match(sha256):
            raise bad_request(f"LFS file {path!r}: invalid sha256 oid {sha256!r}")
        if not self.blobs.has(sha256):
            raise bad_request(f"LFS file {path!r}: object {sha256} was not uploaded; upload it via the LFS batch API")
        actual = self.blobs.size(sha256)
        if size is not None and size != actual:
            raise bad_request(f"LFS file {path!r}: declared size {size} but the object has {actual} bytes")
        return {"sha256": sha256, "size": actual, "lfs": True, "oid": git_blob_sha1(lfs_pointer(sha256, actual))}
