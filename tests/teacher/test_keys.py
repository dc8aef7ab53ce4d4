"""API keys are sent to the endpoint but never appear in logs, cache files, summaries or reprs."""

from __future__ import annotations

import io
import json
import logging

import pytest
from rich.console import Console

from star1_hub.teacher import EngineConfig, TeacherEngine
from star1_hub.testing.scripted_server import ScriptedServer
from tests.teacher.helpers import fast_config, questions

SECRET = "sk-star1-test-0123456789-SECRET"


def _everything_written(tmp_path, caplog, engine: TeacherEngine) -> str:
    console = Console(file=io.StringIO(), width=200)
    engine.accounting.print_summary(console)
    files = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    return "\n".join(
        [
            caplog.text,
            console.file.getvalue(),
            json.dumps(engine.accounting.to_dict()),
            repr(engine),
            repr(engine.config),
            files.decode("latin-1"),
        ]
    )


@pytest.mark.parametrize("transport", ["openai", "aiohttp"])
def test_api_key_from_config_is_sent_but_never_written(tmp_path, caplog, transport):
    caplog.set_level(logging.DEBUG)
    for name in ("openai", "httpx2", "httpx", "httpcore", "aiohttp", "star1_hub"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    faults = {"server_error": 0.2, "rate_limit": 0.1, "length": 0.1}
    with ScriptedServer(faults=faults, retry_after_s=0.01) as server:
        engine = TeacherEngine(
            fast_config(server.base_url, api_key=SECRET, cache_dir=tmp_path / "cache", transport=transport)
        )
        results = engine.run(questions(40))
        assert server.authorizations[f"Bearer {SECRET}"] >= 40  # the key really was used
    assert any(not r.ok for r in results) or engine.accounting.retries > 0  # error paths were exercised
    assert caplog.records, "nothing was logged: the test would prove nothing"
    assert SECRET not in _everything_written(tmp_path, caplog, engine)


def test_api_key_from_environment(monkeypatch, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with ScriptedServer() as server:
        engine = TeacherEngine(fast_config(server.base_url, api_key=None, cache_dir=tmp_path / "cache"))
        engine.run(questions(3))
        assert server.authorizations[f"Bearer {SECRET}"] == 3
    assert SECRET not in _everything_written(tmp_path, caplog, engine)
    assert SECRET not in repr(EngineConfig(base_url="http://127.0.0.1:8000/v1", model="m", api_key=SECRET))
