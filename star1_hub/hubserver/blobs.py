"""Content-addressed file contents of the local Hub (`blobs/<sha256[:2]>/<sha256>`), written crash-safe.

A blob that exists is always complete: it is written to a locked temp file in `blobs/tmp/`, fsynced, renamed into
place, and its folder fsynced. `BlobBatch` does the same for the many small files of one commit with parallel
fsyncs.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from star1_hub.hubserver.durable import (
    TEMP_PREFIX,
    clean_stale_temp_files,
    commit_temp_file,
    fsync_dirs,
    io_pool,
    locked_temp_file,
)
from star1_hub.hubserver.errors import bad_request

SHA256_RE = re.compile(r"[0-9a-f]{64}")


class BlobStore:
    """Content-addressed file contents, named by sha256."""

    def __init__(self, root: Path):
        self.root = root
        self.tmp = root / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)

    def clean_temp(self) -> int:
        """Remove partial uploads of killed writers; return how many."""
        return clean_stale_temp_files(self.tmp)

    def path(self, sha256: str) -> Path:
        if not isinstance(sha256, str) or not SHA256_RE.fullmatch(sha256):
            raise bad_request(f"Invalid sha256 {sha256!r}")
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def touch(self, sha256: str) -> bool:
        """Refresh an existing blob's mtime (so `gc` spares it while a commit is about to use it); False if absent."""
        try:
            os.utime(self.path(sha256))
            return True
        except FileNotFoundError:
            return False

    def size(self, sha256: str) -> int:
        return self.path(sha256).stat().st_size

    def put_bytes(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        if not self.touch(sha):
            with locked_temp_file(self.tmp) as (handle, tmp):
                handle.write(data)
                commit_temp_file(handle, tmp, self.path(sha))
        return sha

    def put_stream(self, chunks: Iterator[bytes], expected_sha256: str, expected_size: int | None) -> None:
        """Store a streamed upload after checking its sha256 (and size); raise a 400 HubError on mismatch.

        Reading stops as soon as the stream exceeds `expected_size`.
        """
        target = self.path(expected_sha256)
        digest = hashlib.sha256()
        size = 0
        with locked_temp_file(self.tmp) as (handle, tmp):
            for chunk in chunks:
                size += len(chunk)
                if expected_size is not None and size > expected_size:
                    raise bad_request(f"Uploaded content is larger than the announced {expected_size} bytes")
                digest.update(chunk)
                handle.write(chunk)
            if expected_size is not None and size != expected_size:
                raise bad_request(f"Uploaded content has {size} bytes, expected {expected_size}")
            if digest.hexdigest() != expected_sha256:
                raise bad_request(f"Uploaded content has sha256 {digest.hexdigest()}, expected {expected_sha256}")
            commit_temp_file(handle, tmp, target)

    def batch(self) -> BlobBatch:
        """A writer for the many small blobs of one commit (parallel fsyncs); use it as a context manager."""
        return BlobBatch(self)

    def open(self, sha256: str) -> IO[bytes]:
        return open(self.path(sha256), "rb")

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def iter_all(self) -> Iterator[Path]:
        for path in self.root.glob("[0-9a-f][0-9a-f]/*"):
            if SHA256_RE.fullmatch(path.name):
                yield path


class BlobBatch:
    """Stores the inline files of one commit: each is written to a locked temp file at once, then groups of
    temp files are fsynced in parallel (the journal commits them together) and only then renamed into place, so
    a blob that exists is always complete. Folder fsyncs happen once, at `close()`.
    """

    def __init__(self, blobs: BlobStore, group_size: int = 512):
        self.blobs = blobs
        self.group_size = group_size
        self._root, self._tmp = str(blobs.root), str(blobs.tmp)
        self._pending: dict[str, tuple[IO[bytes], str]] = {}
        self._done: set[str] = set()
        self._dirs: set[str] = set()

    def put(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        if sha in self._pending or sha in self._done:
            return sha
        try:  # already stored: refresh its mtime so `gc` spares it (and skip the write)
            os.utime(os.path.join(self._root, sha[:2], sha))
            return sha
        except FileNotFoundError:
            pass
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix=TEMP_PREFIX)
        handle = os.fdopen(fd, "wb")
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        self._pending[sha] = (handle, name)
        handle.write(data)
        if len(self._pending) >= self.group_size:
            self._flush()
        return sha

    def _flush(self) -> None:
        pending, self._pending = self._pending, {}
        try:
            for handle, _ in pending.values():
                handle.flush()
            list(io_pool().map(lambda item: os.fsync(item[0].fileno()), pending.values()))
            for sha, (_, tmp) in pending.items():
                folder = os.path.join(self._root, sha[:2])
                if folder not in self._dirs:
                    os.makedirs(folder, exist_ok=True)
                    self._dirs.add(folder)
                os.replace(tmp, os.path.join(folder, sha))
                self._done.add(sha)
        finally:
            for sha, (handle, tmp) in pending.items():
                handle.close()
                if sha not in self._done:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(tmp)

    def __enter__(self) -> BlobBatch:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:  # noqa: ANN001
        if exc_type is None:
            self._flush()
            if self._dirs:
                fsync_dirs(Path(directory) for directory in (*self._dirs, self._root))
        else:  # a failed commit: drop what was not renamed yet (renamed blobs are left to `gc`)
            for handle, tmp in self._pending.values():
                handle.close()
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
            self._pending = {}
