"""The declarative LLM unit: requests built by the engine, pydantic models as schema + validation, failures as rows."""

from __future__ import annotations

import dataclasses
import json

import pytest
from pydantic import BaseModel, ConfigDict

from star1_hub.teacher import LLMTask, TeacherEngine, run_task
from star1_hub.testing.scripted_server import ScriptedServer
from tests.teacher.helpers import fast_config


class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str
    score: int


def _dataset(n: int = 6, errors: dict[int, str] | None = None):
    from datasets import Dataset

    errors = errors or {}
    return Dataset.from_dict(
        {
            "id": [f"r{i}" for i in range(n)],
            "question": [f"question {i}" for i in range(n)],
            "error": [errors.get(i) for i in range(n)],
        }
    )


def _verdict_task(**overrides) -> LLMTask:
    options = dict(
        name="judge",
        prompt=lambda row: [{"role": "user", "content": row["question"]}],
        response_model=Verdict,
        parse=lambda row, verdict: {"label": verdict.label, "score": verdict.score},
        params={"temperature": 0, "max_tokens": 32},
        produces=("label", "score"),
    )
    options.update(overrides)
    return LLMTask(**options)


def test_task_sends_schema_from_the_model_and_parses_validated_values(tmp_path):
    bodies = []

    def responder(body):
        bodies.append(body)
        number = int(body["messages"][-1]["content"].split()[-1])
        if number == 3:
            return json.dumps({"label": "x", "score": "not a number"})  # fails validation → unparseable row
        return json.dumps({"label": f"l{number}", "score": number})

    with ScriptedServer(responder=responder) as server:
        engine = TeacherEngine(fast_config(server.base_url, output_retries=0, params={"max_tokens": 64}))
        out, counts = run_task(_dataset(5, errors={1: "classify:length"}), _verdict_task(skip=_skip_four), engine)
    assert out["label"] == ["l0", None, "l2", None, None]
    assert out["score"] == [0, None, 2, None, None]
    assert out["error"] == [None, "classify:length", None, "judge:unparseable", "judge:skipped_four"]
    assert (counts.ok, counts.failed, counts.skipped, counts.upstream_errors) == (2, 1, 1, 1)
    assert counts.failed_by_reason == {"unparseable": 1}
    assert "Verdict" in counts.error_examples["unparseable"] and "score" in counts.error_examples["unparseable"]
    body = bodies[0]
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema["required"] == ["label", "score"] and schema["additionalProperties"] is False
    assert body["temperature"] == 0 and body["max_tokens"] == 64  # the endpoint's params override the task's


def _skip_four(row):
    return "skipped_four" if row["id"] == "r4" else None


@pytest.mark.parametrize(
    "parse_error",
    [RecursionError("maximum recursion depth exceeded"), TypeError("unhashable type: 'list'"), KeyError("boom")],
)
def test_any_exception_in_parse_is_that_rows_unparseable_failure(parse_error):
    def parse(row, verdict):
        if row["id"] == "r1":
            raise parse_error
        return {"label": verdict.label, "score": verdict.score}

    with ScriptedServer(responder=lambda body: json.dumps({"label": "a", "score": 1})) as server:
        engine = TeacherEngine(fast_config(server.base_url, output_retries=1))
        out, counts = run_task(_dataset(3), _verdict_task(parse=parse), engine)
        assert server.request_count == 4  # r1 re-sampled once (output_retries=1), then failed as a row
    assert out["error"] == [None, "judge:unparseable", None]
    assert type(parse_error).__name__ in counts.error_examples["unparseable"]


def test_deeply_nested_json_reply_fails_the_row_not_the_stage():
    deep = "[" * 100_000 + "]" * 100_000

    def responder(body):
        return deep if body["messages"][-1]["content"].endswith("0") else json.dumps({"label": "a", "score": 1})

    with ScriptedServer(responder=responder) as server:
        engine = TeacherEngine(fast_config(server.base_url, output_retries=0, structured_output=False))
        out, counts = run_task(_dataset(2), _verdict_task(), engine)
    assert out["error"] == ["judge:unparseable", None]


def test_free_text_task_gets_the_canonical_text_and_the_form():
    seen = []

    def parse(row, text, reply):
        seen.append(reply.form)
        return {"response": text}

    replies = {"0": "<think>\nplan\n</think>\n\nanswer 0", "1": "plan one\n</think>\n\nanswer 1", "2": "no trace"}
    task = LLMTask(
        name="reason",
        prompt=lambda row: row["question"],
        parse=parse,
        think=True,
        produces=("response",),
    )
    with ScriptedServer(responder=lambda body: replies[body["messages"][-1]["content"][-1]]) as server:
        engine = TeacherEngine(fast_config(server.base_url, output_retries=0))
        out, counts = run_task(_dataset(3), task, engine)
    assert out["response"][:2] == ["<think>\nplan\n</think>\n\nanswer 0", "<think>\nplan one\n</think>\n\nanswer 1"]
    assert out["error"] == [None, None, "reason:unparseable"]
    assert sorted(seen) == ["inline", "prefilled"]
    assert counts.forms == {"inline": 1, "prefilled": 1}  # answered rows only: the failed row has no form


def test_bad_prompt_rows_are_bad_input_and_not_sent():
    def prompt(row):
        if row["id"] == "r0":
            raise ValueError("empty question")
        return row["question"]

    with ScriptedServer(responder=lambda body: json.dumps({"label": "a", "score": 1})) as server:
        engine = TeacherEngine(fast_config(server.base_url))
        out, counts = run_task(_dataset(2), _verdict_task(prompt=prompt), engine)
        assert server.request_count == 1
    assert out["error"] == ["judge:bad_input", None]
    assert counts.sent == 1 and counts.failed_by_reason == {"bad_input": 1}


def test_a_cached_rerun_counts_rows_as_cached_not_sent(tmp_path):
    with ScriptedServer(responder=lambda body: json.dumps({"label": "a", "score": 1})) as server:
        _, first = run_task(
            _dataset(4), _verdict_task(), TeacherEngine(fast_config(server.base_url, cache_dir=tmp_path))
        )
        _, again = run_task(
            _dataset(4), _verdict_task(), TeacherEngine(fast_config(server.base_url, cache_dir=tmp_path))
        )
        assert server.request_count == 4
    assert (first.sent, first.cached, first.ok) == (4, 0, 4)
    assert (again.sent, again.cached, again.ok) == (0, 4, 4)
    assert again.to_dict()["cached"] == 4


def test_free_text_without_think_gets_the_canonical_layout_when_a_trace_came_in_any_form():
    replies = {"0": "<think>a</think>b", "1": "a\n</think>\nb", "2": "plain answer", "3": "<think>x</think><think>y"}
    task = LLMTask(
        name="gen", prompt=lambda row: row["question"], parse=lambda row, text: {"text": text}, produces=("text",)
    )
    with ScriptedServer(responder=lambda body: replies[body["messages"][-1]["content"][-1]]) as server:
        out, _ = run_task(_dataset(4), task, TeacherEngine(fast_config(server.base_url)))
    canonical = "<think>\na\n</think>\n\nb"
    assert out["text"] == [canonical, canonical, "plain answer", "<think>x</think><think>y"]
    assert out["error"] == [None] * 4


def test_a_task_that_accepts_length_keeps_truncated_replies_and_records_each_rows_outcome(tmp_path):
    """Evaluation's declaration: any finish reason but a content filter is a result, per-row parameters, and the
    outcome of each row (finish reason, tokens, cache hit, failure detail) in its own columns."""
    from star1_hub.teacher.task import ANY_FINISH

    sent = []

    def responder(body):
        sent.append((body["messages"][-1]["content"], body["seed"], body["max_tokens"]))
        return "fine answer"

    task = LLMTask(
        name="generate",
        prompt=lambda row: row["question"],
        row_params=lambda row: {"seed": int(row["id"][1:]), "max_tokens": 8},
        params={"temperature": 0.6, "max_tokens": 64},
        parse=lambda row, text, reply: {"text": reply.content},
        accept_finish=(ANY_FINISH, "length"),
        outcome_columns=True,
        produces=("text",),
    )
    faults = {"length": 0.5, "content_filter": 0.2}
    with ScriptedServer(responder=responder, faults=faults, seed=2) as server:
        engine = TeacherEngine(fast_config(server.base_url, cache_dir=tmp_path, output_retries=0))
        out, counts = run_task(_dataset(8), task, engine)
        again, counts_again = run_task(
            _dataset(8), task, TeacherEngine(fast_config(server.base_url, cache_dir=tmp_path))
        )
        assert server.request_count == 8  # the re-run reads every outcome from the cache
    assert sorted((q, seed, budget) for q, seed, budget in sent) == [(f"question {i}", i, 8) for i in range(8)]
    finishes = out["finish_reason"]
    assert {"length", "content_filter", "stop"} <= set(finishes)
    for row in out:
        if row["finish_reason"] == "content_filter":  # refused: the provider stopped it, not the token budget
            assert row["error"] == "generate:content_filter" and row["text"] is None
            assert "content filter" in row["error_detail"]
        else:  # stop and length alike are results
            assert row["error"] is None and row["text"] and row["error_detail"] is None
        assert row["cached"] is False and row["completion_tokens"] is not None
    assert counts.ok == finishes.count("length") + finishes.count("stop")
    assert again["cached"] == [True] * 8
    assert again.remove_columns("cached").to_list() == out.remove_columns("cached").to_list()
    assert (counts_again.cached, counts_again.ok, counts_again.failed) == (8, counts.ok, counts.failed)


def test_a_truncated_reply_cached_as_a_failure_is_a_result_for_a_task_that_accepts_it(tmp_path):
    """A cut-off reply refused by one run (a stage: `length` failure in the cache) is served from the cache as
    a result to a task that keeps truncated output (evaluation), without sending it again, and stays refused for
    a task that does not."""
    strict = LLMTask(
        name="t", prompt=lambda row: row["question"], parse=lambda row, text: {"text": text}, produces=("text",)
    )
    lenient = dataclasses.replace(strict, accept_finish=("stop", "length"))
    with ScriptedServer(responder=lambda body: "cut", faults={"length": 1.0}) as server:
        config = fast_config(server.base_url, cache_dir=tmp_path, output_retries=0)
        refused, _ = run_task(_dataset(3), strict, TeacherEngine(config))
        kept, counts = run_task(_dataset(3), lenient, TeacherEngine(config))
        refused_again, _ = run_task(_dataset(3), strict, TeacherEngine(config))
        assert server.request_count == 3
    assert refused["error"] == ["t:length"] * 3 == refused_again["error"]
    assert kept["error"] == [None] * 3 and all(kept["text"])
    assert (counts.cached, counts.ok) == (3, 3)
