"""Crash-safe file writes for the local Hub: write a temp file, fsync it, rename it, fsync the folder.

A temp file stays `flock`ed by its writer until renamed, so `clean_stale_temp_files` (run at start-up) removes
only debris of killed writers, never a file another server process on the same data dir is still writing.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

logger = logging.getLogger(__name__)

TEMP_PREFIX = ".tmp-"
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def io_pool() -> ThreadPoolExecutor:
    """Threads for fsyncs: many fsyncs in flight at once share journal commits (10x faster than one by one)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="star1-hub-io")
        return _POOL


def write_many(files: Iterable[tuple[Path, bytes]]) -> None:
    """`atomic_write_bytes` for many files at once (in parallel), then one fsync per touched folder."""
    files = list(files)
    list(io_pool().map(lambda item: atomic_write_bytes(item[0], item[1], sync_dir=False), files))
    fsync_dirs({path.parent for path, _ in files})


def fsync_dirs(directories: Iterable[Path]) -> None:
    """`fsync_dir` for many folders at once (in parallel)."""
    list(io_pool().map(fsync_dir, list(directories)))


def fsync_dir(directory: Path) -> None:
    """Make a rename or new file in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def locked_temp_file(directory: Path) -> Iterator[tuple[IO[bytes], Path]]:
    """An exclusive-locked temp file in `directory`; removed on exit unless the caller renamed it."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=directory, prefix=TEMP_PREFIX)
    tmp = Path(name)
    handle = os.fdopen(fd, "wb")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield handle, tmp
    finally:
        handle.close()
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def commit_temp_file(handle: IO[bytes], tmp: Path, target: Path, sync_dir: bool = True) -> None:
    """fsync the temp file, rename it onto `target`, then fsync the target's folder."""
    handle.flush()
    os.fsync(handle.fileno())
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, target)
    if sync_dir:
        fsync_dir(target.parent)


def atomic_write(target: Path, write: Callable[[IO[bytes]], object], sync_dir: bool = True) -> None:
    """Write `target` all at once or not at all (temp file in the same folder, fsync, rename, fsync folder)."""
    with locked_temp_file(target.parent) as (handle, tmp):
        write(handle)
        commit_temp_file(handle, tmp, target, sync_dir)


def atomic_write_bytes(target: Path, data: bytes, sync_dir: bool = True) -> None:
    atomic_write(target, lambda handle: handle.write(data), sync_dir)


def clean_stale_temp_files(directory: Path) -> int:
    """Remove temp files no live writer holds (debris of killed uploads); return how many went."""
    removed = 0
    if not directory.is_dir():
        return 0
    for path in directory.rglob(f"{TEMP_PREFIX}*"):
        try:
            with open(path, "rb") as handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                path.unlink()
                removed += 1
        except (BlockingIOError, FileNotFoundError, IsADirectoryError):
            continue
    return removed
