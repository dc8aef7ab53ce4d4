"""Preflight: a down endpoint, an unserved model, a too-small context or a missing key fail before sending."""

from __future__ import annotations

import pytest

from star1_hub.errors import RecipeError
from star1_hub.teacher import EndpointConfig
from star1_hub.teacher.preflight import PreflightError, preflight
from star1_hub.teacher.scripted_server import ScriptedServer
from star1_hub.teacher.serve import free_port


def _endpoint(base_url: str, **extra) -> EndpointConfig:
    return EndpointConfig.from_mapping({"base_url": base_url, "model": "deepseek-r1", **extra})


def test_a_healthy_endpoint_reports_its_models_and_context():
    with ScriptedServer(served_models=["deepseek-r1"], max_model_len=16384) as server:
        report = preflight(_endpoint(server.base_url), max_tokens=8000, longest_prompt_chars=6000)
        assert server.request_count == 0  # nothing was generated
    assert report.served_models == ["deepseek-r1"] and report.max_model_len == 16384
    assert report.needed_tokens == 8000 + 2001


def test_a_down_endpoint_names_the_fix():
    with pytest.raises(PreflightError, match="cannot reach .*star1 serve"):
        preflight(_endpoint(f"http://127.0.0.1:{free_port()}/v1"), max_tokens=10, timeout_s=5)


def test_an_unserved_model_names_the_served_ones():
    with ScriptedServer(served_models=["smollm2"]) as server:
        with pytest.raises(PreflightError, match=r"serves \['smollm2'\].*--served-model-name deepseek-r1"):
            preflight(_endpoint(server.base_url), max_tokens=10)


def test_a_too_small_context_names_the_max_model_len_needed():
    with ScriptedServer(served_models=["deepseek-r1"], max_model_len=2048) as server:
        with pytest.raises(PreflightError) as info:
            preflight(_endpoint(server.base_url, params={"max_tokens": 8000}), longest_prompt_tokens=500)
    assert "max_model_len=2048" in str(info.value) and "--max-model-len 8500" in str(info.value)


def test_the_scripted_server_rejects_an_oversized_request_like_vllm():
    from star1_hub.teacher import ChatRequest, TeacherEngine
    from tests.teacher.helpers import fast_config

    with ScriptedServer(max_model_len=2048) as server:
        engine = TeacherEngine(fast_config(server.base_url))
        (result,) = engine.run(
            [ChatRequest(messages=[{"role": "user", "content": "hi"}], params={"max_tokens": 8000})]
        )
    assert result.error == "bad_request" and "maximum context length is 2048" in result.error_detail


def test_a_missing_key_variable_is_named(monkeypatch):
    monkeypatch.delenv("STAR1_PREFLIGHT_KEY", raising=False)
    with ScriptedServer() as server:
        with pytest.raises(RecipeError, match="STAR1_PREFLIGHT_KEY"):
            preflight(_endpoint(server.base_url, api_key_env="STAR1_PREFLIGHT_KEY"), max_tokens=10)
