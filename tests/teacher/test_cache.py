"""The persistent request cache: re-runs, recorded failures, retry_failed, kill -9 resume, concurrent writers."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from star1_hub.teacher import ChatRequest, TeacherEngine
from star1_hub.teacher.cache import CACHE_FILENAME, RequestCache
from star1_hub.teacher.serve import free_port
from star1_hub.testing.scripted_server import ScriptedServer
from tests.teacher.helpers import echo, fast_config, questions

REPO_ROOT = Path(__file__).resolve().parents[2]

# A child process that runs the engine with a cache dir; the parent kills it or waits for it.
CHILD = """
import sys
from pathlib import Path
from star1_hub.teacher import ChatRequest, EngineConfig, TeacherEngine
base_url, cache_dir, n, prefix = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
if sys.argv[5:] == ["trace"]:  # print each outcome's key as the engine hands it to the cache writer
    from star1_hub.teacher.cache import CacheWriter
    queue = CacheWriter.submit
    def traced(self, outcomes):
        for outcome in outcomes:
            print("queued", outcome[0], flush=True)
        queue(self, outcomes)
    CacheWriter.submit = traced
requests = [ChatRequest(messages=[{"role": "user", "content": f"{prefix}{i}"}], params={"max_tokens": 16})
            for i in range(n)]
engine = TeacherEngine(EngineConfig(base_url=base_url, model="scripted-model", api_key="test-key", concurrency=4,
                                    cache_dir=Path(cache_dir), progress=False, stage="test"))
results = engine.run(requests)
print(sum(r.ok for r in results), flush=True)
"""


def _child(base_url: str, cache_dir: Path, n: int, prefix: str = "q", trace: bool = False) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, base_url, str(cache_dir), str(n), prefix, *(["trace"] if trace else [])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )


def _cached_keys(cache_dir: Path) -> set[str]:
    db = sqlite3.connect(cache_dir / CACHE_FILENAME, timeout=30)
    try:
        return {row[0] for row in db.execute("SELECT key FROM results")}
    finally:
        db.close()


def test_rerun_of_a_finished_stage_sends_zero_requests(tmp_path):
    with ScriptedServer(responder=echo) as server:
        first = TeacherEngine(fast_config(server.base_url, cache_dir=tmp_path)).run(questions(50))
        sent = server.request_count
        again = TeacherEngine(fast_config(server.base_url, cache_dir=tmp_path))
        second = again.run(questions(50))
        assert server.request_count == sent == 50
    assert [r.text for r in second] == [r.text for r in first]
    assert all(r.cached for r in second) and not any(r.cached for r in first)
    assert again.accounting.to_dict()["requests_sent"] == 0 and again.accounting.cached_hits == 50


def test_changed_params_or_model_are_new_requests(tmp_path):
    with ScriptedServer(responder=echo) as server:
        TeacherEngine(fast_config(server.base_url, cache_dir=tmp_path)).run(questions(5))
        hotter = [ChatRequest(messages=r.messages, params={**r.params, "temperature": 0.7}) for r in questions(5)]
        TeacherEngine(fast_config(server.base_url, cache_dir=tmp_path)).run(hotter)
        TeacherEngine(fast_config(server.base_url, cache_dir=tmp_path, model="other")).run(questions(5))
        assert server.request_count == 15


def test_recorded_failures_are_returned_without_resending_until_retry_failed(tmp_path):
    port = free_port()
    with ScriptedServer(faults={"length": 1.0}, responder=echo, port=port) as failing:
        cfg = fast_config(failing.base_url, cache_dir=tmp_path, max_attempts=2)
        first = TeacherEngine(cfg).run(questions(10))
        assert [r.error for r in first] == ["length"] * 10  # deterministic: truncated after the re-sample
    with ScriptedServer(responder=echo, port=port) as healthy:  # the same endpoint, now answering in full
        rerun = TeacherEngine(fast_config(healthy.base_url, cache_dir=tmp_path)).run(questions(10))
        assert healthy.request_count == 0
        assert [r.error for r in rerun] == ["length"] * 10 and all(r.cached for r in rerun)
        retried = TeacherEngine(fast_config(healthy.base_url, cache_dir=tmp_path, retry_failed=True))
        fixed = retried.run(questions(12))  # 10 failed + 2 never seen
        assert healthy.request_count == 12
        assert all(r.ok for r in fixed) and retried.accounting.cached_hits == 0
        final = TeacherEngine(fast_config(healthy.base_url, cache_dir=tmp_path, retry_failed=True)).run(questions(12))
        assert healthy.request_count == 12 and all(r.ok and r.cached for r in final)


@pytest.mark.parametrize("fault", ["server_error", "rate_limit", "auth"])
def test_transient_failures_are_resent_by_a_plain_rerun(tmp_path, fault):
    port = free_port()
    with ScriptedServer(faults={fault: 0.3}, responder=echo, port=port, seed=5, retry_after_s=0.01) as flaky:
        first = TeacherEngine(fast_config(flaky.base_url, cache_dir=tmp_path, max_attempts=1)).run(questions(40))
    failed = {i for i, r in enumerate(first) if not r.ok}
    assert 3 < len(failed) < 30
    assert {first[i].error for i in failed} == {
        {"server_error": "server_error", "rate_limit": "rate_limited"}.get(fault, fault)
    }
    with ScriptedServer(responder=echo, port=port) as healthy:  # the outage is over: a plain re-run
        rerun = TeacherEngine(fast_config(healthy.base_url, cache_dir=tmp_path)).run(questions(40))
        sent = set(healthy.counts())
    assert sent == {ScriptedServer.key_of(questions(40)[i].messages) for i in failed}  # exactly the failed ones
    assert all(r.ok for r in rerun)


def test_connection_failures_are_not_final(tmp_path):
    port = free_port()
    down = fast_config(f"http://127.0.0.1:{port}/v1", cache_dir=tmp_path, max_attempts=1)
    first = TeacherEngine(down).run(questions(5))
    assert [r.error for r in first] == ["connection"] * 5
    with ScriptedServer(responder=echo, port=port) as server:
        rerun = TeacherEngine(fast_config(server.base_url, cache_dir=tmp_path)).run(questions(5))
        assert server.request_count == 5 and all(r.ok for r in rerun)


def test_cache_key_includes_the_endpoint(tmp_path):
    with (
        ScriptedServer(responder=lambda body: "first server") as one,
        ScriptedServer(responder=lambda body: "second server") as two,
    ):
        TeacherEngine(fast_config(one.base_url, cache_dir=tmp_path)).run(questions(3))
        answers = TeacherEngine(fast_config(two.base_url, cache_dir=tmp_path)).run(questions(3))
        assert two.request_count == 3
    assert [r.text for r in answers] == ["second server"] * 3 and not any(r.cached for r in answers)


def test_retry_failed_resends_failures_only(tmp_path):
    with ScriptedServer(faults={"server_error": 0.3}, responder=echo, seed=3) as server:
        cfg = fast_config(server.base_url, cache_dir=tmp_path, max_attempts=1)
        first = TeacherEngine(cfg).run(questions(60))
        failed = [i for i, r in enumerate(first) if not r.ok]
        assert 5 < len(failed) < 40
        before = server.counts()
        TeacherEngine(fast_config(server.base_url, cache_dir=tmp_path, max_attempts=1, retry_failed=True)).run(
            questions(60)
        )
        after = server.counts()
    resent = {key for key in after if after[key] != before.get(key, 0)}
    expected = {ScriptedServer.key_of(questions(60)[i].messages) for i in failed}
    assert resent == expected


def test_kill_9_midway_then_rerun_matches_an_uninterrupted_run(tmp_path):
    n = 120
    with ScriptedServer(responder=None) as reference_server:  # the same answers; no latency needed here
        reference = TeacherEngine(fast_config(reference_server.base_url, concurrency=4)).run(questions(n))
    with ScriptedServer(latency_s=0.05) as server:  # latency: the child is still running when it is killed
        child = _child(server.base_url, tmp_path, n, trace=True)
        deadline = time.monotonic() + 60
        while server.request_count < 40 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL, "the child finished before it could be killed"
        done_before_kill = _cached_keys(tmp_path)
        assert 5 < len(done_before_kill) < n
        # replies the child had received: every committed key was queued first, and the requests the server saw
        # beyond the queued ones were in flight, at most the child's concurrency (4)
        queued = {line.split()[1] for line in child.stdout.read().splitlines() if line.startswith("queued ")}
        assert done_before_kill <= queued
        counts_at_kill = server.request_count
        assert 0 <= counts_at_kill - len(queued) <= 4
        engine = TeacherEngine(fast_config(server.base_url, cache_dir=tmp_path, concurrency=16))
        resumed = engine.run(questions(n))
        counts = server.counts()
    assert [(r.text, r.error, r.usage) for r in resumed] == [(r.text, r.error, r.usage) for r in reference]
    assert engine.accounting.cached_hits == len(done_before_kill)
    server_keys = [ScriptedServer.key_of(r.messages) for r in questions(n)]
    cached_positions = [i for i, r in enumerate(resumed) if r.cached]
    assert len(cached_positions) == len(done_before_kill)
    assert all(counts[server_keys[i]] == 1 for i in cached_positions), "an already-paid request was sent again"
    # re-sent: the requests in flight and the replies received but not yet committed when the process died
    assert sum(counts.values()) - n == counts_at_kill - len(done_before_kill)


def test_two_processes_sharing_one_cache_do_not_corrupt_it(tmp_path):
    with ScriptedServer(latency_s=0.002) as server:
        children = [_child(server.base_url, tmp_path, 150), _child(server.base_url, tmp_path, 150)]
        outputs = [child.communicate(timeout=120) for child in children]
        assert [c.returncode for c in children] == [0, 0], outputs
        assert [out.strip() for out, _ in outputs] == ["150", "150"]
        sent = server.request_count
        rerun = TeacherEngine(fast_config(server.base_url, cache_dir=tmp_path))
        results = rerun.run(ChatRequest(messages=r.messages, params=r.params) for r in questions(150))
        assert server.request_count == sent and all(r.cached and r.ok for r in results)
    db = sqlite3.connect(tmp_path / CACHE_FILENAME)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 150
    db.close()


def test_a_fixed_parser_recovers_recorded_unparseable_answers_without_resending(tmp_path):
    from star1_hub.teacher import UnparseableOutput

    def strict(reply) -> str:
        raise UnparseableOutput("this parser rejects everything")

    def with_parse(parse):  # a request's parse is not part of its cache key
        return [ChatRequest(messages=r.messages, params=r.params, parse=parse) for r in questions(5)]

    with ScriptedServer(responder=echo) as server:
        cfg = fast_config(server.base_url, cache_dir=tmp_path, output_retries=0)
        first = TeacherEngine(cfg).run(with_parse(strict))
        assert [r.error for r in first] == ["unparseable"] * 5 and server.request_count == 5
        fixed = TeacherEngine(cfg).run(with_parse(lambda reply: reply.content.upper()))
        assert server.request_count == 5
    assert [r.parsed for r in fixed] == [f"ECHO: Q{i}" for i in range(5)] and all(r.cached for r in fixed)


def _open_cache_at_barrier(cache_dir: str, barrier) -> None:
    barrier.wait()
    RequestCache(Path(cache_dir)).close()


def _race_rounds(root: str, rounds: int) -> list[str]:
    """`rounds` times, 8 forked processes open one new cache at the same moment; what failed, by round."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    failures = []
    for round_ in range(rounds):
        barrier = context.Barrier(8)
        cache_dir = Path(root) / f"round{round_}"
        workers = [context.Process(target=_open_cache_at_barrier, args=(str(cache_dir), barrier)) for _ in range(8)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        if [w.exitcode for w in workers] != [0] * 8:
            failures.append(f"round {round_}: exit codes {[w.exitcode for w in workers]}")
    return failures


def test_processes_opening_a_new_cache_at_the_same_moment_all_succeed(tmp_path):
    """Switching a fresh file to WAL can answer SQLITE_BUSY at once; initialisation is serialised by a file lock."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # The 240 forks are made by a fresh interpreter, not by this test worker: forking a worker that holds torch
    # and models costs more than the test. The race is probabilistic (≈1 % of openings before the fix): many rounds.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as fresh:
        failures = fresh.submit(_race_rounds, str(tmp_path), 30).result(timeout=900)
    assert not failures, f"a process failed to open the cache: {failures}"
