"""Structured output: a task's response model gives the schema sent as `response_format`; the reply is read as strict
JSON (or located in the text without structured output) and validated by that model; nothing is ever eval'd."""

from __future__ import annotations

import builtins
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from star1_hub.teacher import ChatRequest, LLMTask, TeacherEngine, UnparseableOutput
from star1_hub.teacher.engine import make_reply
from star1_hub.testing.scripted_server import ScriptedServer
from tests.teacher.helpers import fast_config


class Labels(BaseModel):
    model_config = ConfigDict(extra="forbid")
    labels: list[Literal["A", "B"]] = Field(min_length=1, max_length=2)


TASK = LLMTask(
    name="labels",
    prompt=lambda row: row["question"],
    response_model=Labels,
    parse=lambda row, value: {"labels": value.labels},
    params={"temperature": 0},
)


def _answers(tmp_path):
    marker = tmp_path / "executed"
    return {
        "valid": '{"labels": ["A", "B"]}',
        "not-json": "labels: A",
        "python-literal": "{'labels': ['A'],}",  # what the original eval() accepted
        "code": f"__import__('pathlib').Path({str(marker)!r}).touch()",
        "wrong-type": '{"labels": "A"}',
        "out-of-enum": '{"labels": ["C"]}',
        "extra-key": '{"labels": ["A"], "why": "x"}',
        "empty": "",
    }


def _requests(names, structured: bool) -> list[ChatRequest]:
    return [TASK.request_for({"id": name, "question": name}, None, structured) for name in names]


def test_structured_output_is_requested_parsed_and_validated(tmp_path, monkeypatch):
    answers = _answers(tmp_path)
    bodies = []

    def responder(body):
        bodies.append(body)
        return answers[body["messages"][0]["content"]]

    evaluated = []
    real_eval = builtins.eval

    def spy_eval(source, *args, **kwargs):  # libraries may eval their own code (namedtuple); record everything
        evaluated.append(source)
        return real_eval(source, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", spy_eval)
    with ScriptedServer(responder=responder) as server:
        results = TeacherEngine(fast_config(server.base_url, output_retries=1)).run(_requests(answers, True))
    by_name = dict(zip(answers, results, strict=True))
    assert by_name["valid"].ok and by_name["valid"].parsed == {"labels": ["A", "B"]}
    for name in answers:
        if name != "valid":
            assert by_name[name].error == "unparseable", name
            assert by_name[name].attempts == 2 and by_name[name].error_detail, name
    assert not (tmp_path / "executed").exists()
    assert not [src for src in evaluated if any(answer and answer in str(src) for answer in answers.values())]
    assert bodies[0]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "labels", "schema": TASK.schema, "strict": True},
    }


def test_without_structured_output_no_response_format_is_sent_and_fenced_json_is_accepted():
    bodies = []

    def responder(body):
        bodies.append(body)
        return 'Here you go:\n```json\n{"labels": ["B"]}\n```'

    with ScriptedServer(responder=responder) as server:
        engine = TeacherEngine(fast_config(server.base_url, structured_output=False))
        (result,) = engine.run(_requests(["x"], False))
    assert "response_format" not in bodies[0]
    assert result.ok and result.parsed == {"labels": ["B"]}


def test_a_request_parse_raising_unparseable_fails_the_request():
    def number(reply) -> int:
        if not reply.content.strip().isdigit():
            raise UnparseableOutput(f"expected a number, got {reply.content[:20]!r}")
        return int(reply.content)

    with ScriptedServer(responder=lambda body: body["messages"][0]["content"]) as server:
        requests = [ChatRequest(messages=[{"role": "user", "content": c}], parse=number) for c in ("42", "forty-two")]
        results = TeacherEngine(fast_config(server.base_url, output_retries=0)).run(requests)
    assert results[0].parsed == 42 and results[1].error == "unparseable"
    assert "forty-two" in results[1].error_detail


@pytest.mark.parametrize("text", ["[1, 2,]", "NaN-ish", "{'a': 1}", "1 + 1", "os.system('x')"])
def test_structured_output_reads_strict_json_only(text):
    with pytest.raises(UnparseableOutput, match="not valid JSON"):
        TASK.value_of(make_reply({"text": text, "finish_reason": "stop"}), structured=True)


def test_a_response_model_violation_names_the_field():
    reply = make_reply({"text": '{"labels": ["Z"]}', "finish_reason": "stop"})
    for structured in (True, False):
        with pytest.raises(UnparseableOutput, match="does not match Labels at labels/0"):
            TASK.value_of(reply, structured)
