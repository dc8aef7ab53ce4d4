"""The synchronous engine is usable inside `datasets.map(batched=True)` and from a running event loop."""

from __future__ import annotations

import asyncio

from star1_hub.teacher import ChatRequest, TeacherEngine
from star1_hub.testing.scripted_server import ScriptedServer
from tests.teacher.helpers import echo, fast_config, questions


def test_engine_inside_datasets_map_batched(tmp_path):
    from datasets import Dataset

    ds = Dataset.from_dict({"id": list(range(25)), "prompt": [f"p{i}" for i in range(25)]})
    with ScriptedServer(responder=echo) as server:
        engine = TeacherEngine(fast_config(server.base_url, cache_dir=tmp_path / "cache", stage="map"))

        def answer(batch):
            results = engine.run([ChatRequest(messages=[{"role": "user", "content": p}]) for p in batch["prompt"]])
            return {"answer": [r.text for r in results], "error": [r.error for r in results]}

        out = ds.map(answer, batched=True, batch_size=8)
        assert server.request_count == 25
    assert out["answer"] == [f"echo: p{i}" for i in range(25)]
    assert out["error"] == [None] * 25
    assert engine.accounting.requests == 25 and engine.accounting.succeeded == 25


def test_run_from_inside_a_running_event_loop():
    with ScriptedServer(responder=echo) as server:
        engine = TeacherEngine(fast_config(server.base_url))

        async def caller():
            return engine.run(questions(5))  # sync call while this loop is running

        results = asyncio.run(caller())
    assert [r.text for r in results] == [f"echo: q{i}" for i in range(5)]


def test_engine_pickles_without_its_connection_and_reopens_the_cache(tmp_path):
    import pickle

    with ScriptedServer(responder=echo) as server:
        engine = TeacherEngine(fast_config(server.base_url, cache_dir=tmp_path))
        engine.run(questions(3))
        clone = pickle.loads(pickle.dumps(engine))
        results = clone.run(questions(3))
        assert server.request_count == 3 and all(r.cached for r in results)
    assert clone.accounting.requests == 6  # the copy carries the totals so far


def test_progress_bar_renders_without_a_terminal(capsys):
    with ScriptedServer(responder=echo) as server:
        engine = TeacherEngine(fast_config(server.base_url, progress=True, stage="progress-demo"))
        results = engine.run(questions(20))
    assert all(r.ok for r in results)
    err = capsys.readouterr().err
    assert "progress-demo" in err and "done 20" in err and "failed 0" in err


def test_progress_bar_counts_refused_truncated_outputs_as_failed_and_says_they_were_truncated(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # one line, so the counters read as the user sees them
    with ScriptedServer(faults={"length": 1.0}, responder=echo) as server:
        engine = TeacherEngine(fast_config(server.base_url, progress=True, stage="trunc-demo", output_retries=0))
        results = engine.run(questions(6))
    assert [r.error for r in results] == ["length"] * 6
    err = capsys.readouterr().err
    assert "done 0 · failed 6 · truncated 6 · cached 0" in err  # as a stage summary counts them: failed, length


def test_progress_bar_counts_accepted_truncated_outputs_as_done(capsys, monkeypatch):
    """A request that accepts a cut-off output (evaluation: `accept_finish` lists `length`) gets it as a result:
    done, and said to be truncated."""
    import dataclasses

    monkeypatch.setenv("COLUMNS", "200")
    with ScriptedServer(faults={"length": 1.0}, responder=echo) as server:
        config = fast_config(server.base_url, progress=True, stage="eval-demo", output_retries=0)
        requests = [dataclasses.replace(r, accept_finish=("stop", "length")) for r in questions(6)]
        results = TeacherEngine(config).run(requests)
    assert [(r.error, r.finish_reason) for r in results] == [(None, "length")] * 6
    assert "done 6 · failed 0 · truncated 6 · cached 0" in capsys.readouterr().err
