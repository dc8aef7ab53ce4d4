"""Row-level isolation: whatever one response looks like, it fails that row only; secrets never persist."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import BaseModel, ConfigDict

from star1_hub.teacher import FAILURE_REASONS, LLMTask, TeacherEngine, run_task
from star1_hub.testing.scripted_server import ScriptedServer
from tests.teacher.helpers import fast_config

SECRET = "sk-star1-planted-0123456789abcdef-KEY"


class Label(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str


def _rows(n: int):
    from datasets import Dataset

    return Dataset.from_dict({"id": [f"r{i}" for i in range(n)], "question": [f"item {i}" for i in range(n)]})


def _responder(body):
    number = int(body["messages"][-1]["content"].split()[-1])
    if number % 10 == 3:
        return "[" * 50_000 + "]" * 50_000  # nested far past Python's recursion limit
    if number % 10 == 7:
        return json.dumps({"label": ["not", "a", "string"]})  # valid JSON, wrong type
    return json.dumps({"label": f"L{number}"})


def _task() -> LLMTask:
    return LLMTask(
        name="label",
        prompt=lambda row: row["question"],
        response_model=Label,
        parse=lambda row, value: {"label": value.label},
        params={"max_tokens": 32},
        produces=("label",),
    )


@pytest.mark.parametrize("transport", ["openai", "aiohttp"])
def test_a_stage_survives_a_profile_of_bad_bodies_usage_and_replies(transport):
    faults = {"bad_usage": 0.15, "not_chat": 0.1, "garbage": 0.1, "malformed": 0.05}
    with ScriptedServer(faults=faults, responder=_responder, seed=11) as server:
        engine = TeacherEngine(fast_config(server.base_url, transport=transport, structured_output=False))
        out, counts = run_task(_rows(60), _task(), engine)
        outcomes = server.outcomes()
    assert all(outcomes[kind] > 0 for kind in faults), outcomes  # every bad shape was really served
    assert len(out) == 60 and counts.rows_out == 60
    for i, (label, error) in enumerate(zip(out["label"], out["error"], strict=True)):
        if i % 10 in (3, 7):
            assert error == "label:unparseable" and label is None
        elif error is None:
            assert label == f"L{i}"
        else:
            assert error.removeprefix("label:") in FAILURE_REASONS
    assert counts.ok >= 40  # bad bodies are retried; only the bad replies stay failed
    assert (
        "nested too deeply" in counts.error_examples["unparseable"] or "Label" in counts.error_examples["unparseable"]
    )


def test_a_key_echoed_by_the_provider_is_in_no_file_the_run_wrote(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    log_file = tmp_path / "run.log"
    handler = logging.FileHandler(log_file)
    handler.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    for name in ("openai", "httpx2", "httpx", "star1_hub"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        with ScriptedServer(faults={"auth": 0.5}, responder=_responder, seed=2) as server:
            engine = TeacherEngine(
                fast_config(server.base_url, api_key=SECRET, cache_dir=tmp_path / "cache", structured_output=False)
            )
            out, counts = run_task(_rows(20), _task(), engine)
            assert server.authorizations[f"Bearer {SECRET}"] >= 20  # the key was sent (and echoed back)
        out.save_to_disk(str(tmp_path / "output"))
        (tmp_path / "counts.json").write_text(json.dumps(counts.to_dict()))
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    assert counts.failed_by_reason.get("auth", 0) > 0 and "REDACTED" in counts.error_examples["auth"]
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name.startswith("teacher_cache") for p in written) and log_file.stat().st_size > 0
    for path in written:
        assert SECRET.encode() not in path.read_bytes(), f"{path} holds the key"
    assert SECRET not in caplog.text
    assert SECRET not in repr(engine) + repr(engine.config) + json.dumps(engine.accounting.to_dict())
