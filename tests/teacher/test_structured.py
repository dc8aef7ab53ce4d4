"""Structured output: response_format is sent, JSON is parsed strictly and validated, nothing is ever eval'd."""

from __future__ import annotations

import builtins
import json

import pytest

from star1_hub.teacher import ChatRequest, TeacherEngine, UnparseableOutput, parse_json_output
from star1_hub.teacher.scripted_server import ScriptedServer
from tests.teacher.helpers import fast_config

SCHEMA = {
    "type": "object",
    "properties": {"labels": {"type": "array", "items": {"enum": ["A", "B"]}, "minItems": 1, "maxItems": 2}},
    "required": ["labels"],
    "additionalProperties": False,
}


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
    requests = [
        ChatRequest(
            messages=[{"role": "user", "content": name}],
            params={"temperature": 0},
            schema=SCHEMA,
            schema_name="labels",
        )
        for name in answers
    ]
    with ScriptedServer(responder=responder) as server:
        results = TeacherEngine(fast_config(server.base_url, output_retries=1)).run(requests)
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
        "json_schema": {"name": "labels", "schema": SCHEMA, "strict": True},
    }


def test_without_structured_output_no_response_format_is_sent_and_fenced_json_is_accepted():
    bodies = []

    def responder(body):
        bodies.append(body)
        return 'Here you go:\n```json\n{"labels": ["B"]}\n```'

    with ScriptedServer(responder=responder) as server:
        engine = TeacherEngine(fast_config(server.base_url, structured_output=False))
        (result,) = engine.run([ChatRequest(messages=[{"role": "user", "content": "x"}], schema=SCHEMA)])
    assert "response_format" not in bodies[0]
    assert result.ok and result.parsed == {"labels": ["B"]}


def test_a_custom_parser_raising_unparseable_fails_the_request():
    def parser(text: str) -> int:
        if not text.strip().isdigit():
            raise UnparseableOutput(f"expected a number, got {text[:20]!r}")
        return int(text)

    with ScriptedServer(responder=lambda body: body["messages"][0]["content"]) as server:
        requests = [ChatRequest(messages=[{"role": "user", "content": c}]) for c in ("42", "forty-two")]
        results = TeacherEngine(fast_config(server.base_url, output_retries=0)).run(requests, parser=parser)
    assert results[0].parsed == 42 and results[1].error == "unparseable"
    assert "forty-two" in results[1].error_detail


@pytest.mark.parametrize("text", ["[1, 2,]", "NaN-ish", "{'a': 1}", "1 + 1", "os.system('x')"])
def test_parse_json_output_rejects_non_json(text):
    with pytest.raises(UnparseableOutput):
        parse_json_output(text)


def test_parse_json_output_names_the_violating_field():
    with pytest.raises(UnparseableOutput, match="labels/0"):
        parse_json_output(json.dumps({"labels": ["Z"]}), SCHEMA)
