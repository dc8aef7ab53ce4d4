"""The three R1 reply forms through the scripted server, the engine, the cache and the LLM unit."""

from __future__ import annotations

import pytest

from star1_hub.teacher import LLMTask, TeacherEngine, run_task
from star1_hub.teacher.serve import free_port
from star1_hub.testing.scripted_server import ScriptedServer
from tests.teacher.helpers import fast_config


def _responder(body):
    question = body["messages"][-1]["content"]
    return f"<think>Check the policy for {question}.</think>A careful answer to {question}."


def _task() -> LLMTask:
    return LLMTask(
        name="reason",
        prompt=lambda row: row["question"],
        parse=lambda row, text, reply: {"response": text, "form": reply.form},
        think=True,
        params={"max_tokens": 64},
        produces=("response", "form"),
    )


def _rows():
    from datasets import Dataset

    return Dataset.from_dict({"id": ["a", "b"], "question": ["q-a", "q-b"]})


@pytest.mark.parametrize(
    ("profile", "form"),
    [("inline", "inline"), ("prefilled", "prefilled"), ("split", "split"), ("split_reasoning", "split")],
)
def test_each_form_gives_canonical_rows_and_the_cache_keeps_the_trace(tmp_path, profile, form):
    port = free_port()
    with ScriptedServer(responder=_responder, reasoning_form=profile, port=port) as server:
        out, counts = run_task(_rows(), _task(), TeacherEngine(fast_config(server.base_url, cache_dir=tmp_path)))
    expected = [f"<think>\nCheck the policy for {q}.\n</think>\n\nA careful answer to {q}." for q in ("q-a", "q-b")]
    assert out["response"] == expected and out["error"] == [None, None]
    assert out["form"] == [form, form] and counts.forms == {form: 2}
    with ScriptedServer(responder=lambda body: "must not be asked", port=port) as again:
        engine = TeacherEngine(fast_config(again.base_url, cache_dir=tmp_path))
        cached, _ = run_task(_rows(), _task(), engine)
        assert again.request_count == 0
    assert cached["response"] == expected  # the split trace came back from the cache, not only the answer


def test_a_prefilled_trace_that_never_closes_is_not_an_answer(tmp_path):
    with ScriptedServer(responder=_responder, reasoning_form="prefilled_unclosed") as server:
        engine = TeacherEngine(fast_config(server.base_url, output_retries=2))
        out, counts = run_task(_rows(), _task(), engine)
        assert server.request_count == 6  # re-sampled as the policy allows, then failed
    assert out["response"] == [None, None] and out["error"] == ["reason:unparseable"] * 2
    assert (
        "never closed" in counts.error_examples["unparseable"]
        or "no reasoning trace" in counts.error_examples["unparseable"]
    )


def test_free_text_requests_see_split_replies_in_the_canonical_layout():
    from star1_hub.teacher import ChatRequest

    with ScriptedServer(responder=_responder, reasoning_form="split") as server:
        engine = TeacherEngine(fast_config(server.base_url))
        (result,) = engine.run([ChatRequest(messages=[{"role": "user", "content": "q-c"}])])
    assert result.form == "split" and result.reasoning == "Check the policy for q-c."
    assert result.text == "<think>\nCheck the policy for q-c.\n</think>\n\nA careful answer to q-c."
