"""Cache writes happen off the event loop; a locked database costs no paid result; a damaged cache can be salvaged."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import pytest

from star1_hub.teacher import TeacherEngine
from star1_hub.teacher.cache import CACHE_FILENAME, PENDING_SUFFIX, CacheError, CacheWriter, RequestCache, salvage
from star1_hub.teacher.serve import free_port
from star1_hub.testing.scripted_server import ScriptedServer
from tests.teacher.helpers import echo, fast_config, questions


def _hold_write_lock(path, started: threading.Event, seconds: float = 0.0, release: threading.Event | None = None):
    """Hold the database's write lock `seconds` long, or until `release` is set (at most 30 s)."""

    def hold() -> None:
        db = sqlite3.connect(path, timeout=30, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")  # another process's writer holding the lock
        started.set()
        if release is None:
            time.sleep(seconds)
        else:
            release.wait(30)
        db.execute("COMMIT")
        db.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    return thread


def test_a_concurrent_writer_costs_zero_paid_results(tmp_path):
    RequestCache(tmp_path).close()  # the file exists, as in a stage that ran before
    started = threading.Event()
    holder = _hold_write_lock(tmp_path / CACHE_FILENAME, started, seconds=5.0)
    started.wait(10)
    port = free_port()
    with ScriptedServer(latency_s=0.01, responder=echo, port=port) as server:
        engine = TeacherEngine(fast_config(server.base_url, cache_dir=tmp_path, concurrency=8))
        ticks = []

        async def run_and_tick():
            async def ticker():
                while True:
                    ticks.append(time.monotonic())
                    await asyncio.sleep(0.05)

            task = asyncio.create_task(ticker())
            try:
                return await engine.arun(questions(50))
            finally:
                task.cancel()

        results = asyncio.run(run_and_tick())
        assert server.request_count == 50 and all(r.ok for r in results)
    holder.join(30)
    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    # The lock is held 5 s; a loop blocked by it would stall that long (a generous bound, not a timing test).
    assert max(gaps) < 3.5, "the event loop was blocked by the locked cache"
    cache = RequestCache(tmp_path)
    assert cache.count_results() == 50  # every paid answer reached the cache
    cache.close()
    with ScriptedServer(responder=echo, port=port) as server:
        again = TeacherEngine(fast_config(server.base_url, cache_dir=tmp_path)).run(questions(50))
        assert server.request_count == 0 and all(r.cached for r in again)


def test_pending_writes_survive_a_lock_that_outlives_the_run(tmp_path):
    RequestCache(tmp_path).close()
    started, release = threading.Event(), threading.Event()
    holder = _hold_write_lock(tmp_path / CACHE_FILENAME, started, release=release)  # held until the run has ended
    started.wait(10)
    writer = CacheWriter(tmp_path, "stage", "model", False, busy_timeout_s=0.2, final_wait_s=0.5)
    payload = {"text": "paid answer", "finish_reason": "stop", "usage": {"prompt_tokens": 1, "completion_tokens": 2}}
    writer.submit([(f"k{i}", payload, None, None, 1) for i in range(5)])
    writer.close()
    assert writer.saved_to == tmp_path / (CACHE_FILENAME + PENDING_SUFFIX) and writer.saved_to.exists()
    release.set()
    holder.join(30)
    cache = RequestCache(tmp_path)  # the next open imports the side file
    assert set(cache.get_results([f"k{i}" for i in range(5)])) == {f"k{i}" for i in range(5)}
    assert not writer.saved_to.exists()
    cache.close()


def test_a_damaged_cache_says_how_to_keep_the_good_rows_and_salvage_keeps_them(tmp_path):
    with ScriptedServer(responder=echo) as server:
        TeacherEngine(fast_config(server.base_url, cache_dir=tmp_path)).run(questions(30))
    path = tmp_path / CACHE_FILENAME
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = bytearray(path.read_bytes())
    data[:16] = b"not a database!!"  # destroy the header
    path.write_bytes(bytes(data))
    with pytest.raises(CacheError) as info:
        RequestCache(tmp_path)
    message = str(info.value)
    assert "salvage" in message and "python -m star1_hub.teacher.cache salvage" in message

    healthy = tmp_path / "healthy"
    with ScriptedServer(responder=echo) as server:
        TeacherEngine(fast_config(server.base_url, cache_dir=healthy)).run(questions(30))
    target = tmp_path / "salvaged.sqlite"
    copied = salvage(healthy / CACHE_FILENAME, target)
    assert copied["results"] == 30
    with pytest.raises(CacheError, match="exists already"):
        salvage(healthy / CACHE_FILENAME, target)
