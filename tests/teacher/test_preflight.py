"""Preflight: a down endpoint, an unserved model, a too-small context or a missing key fail before sending."""

from __future__ import annotations

import pytest

from star1_hub.errors import RecipeError
from star1_hub.teacher import EndpointConfig
from star1_hub.teacher.preflight import PreflightError, preflight
from star1_hub.teacher.serve import free_port
from star1_hub.testing.scripted_server import ScriptedServer


def _endpoint(base_url: str, **extra) -> EndpointConfig:
    return EndpointConfig.from_mapping({"base_url": base_url, "model": "deepseek-r1", **extra})


def test_a_healthy_endpoint_reports_its_models_and_context():
    with ScriptedServer(served_models=["deepseek-r1"], max_model_len=16384) as server:
        report = preflight(_endpoint(server.base_url), max_tokens=8000, longest_prompt_chars=6000)
        assert server.request_count == 0  # nothing was generated
    endpoint, context = report.checks
    assert report.ok and endpoint["served_models"] == ["deepseek-r1"]
    assert context["max_model_len"] == 16384 and context["needed_tokens"] == 8000 + 2001


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


KEY = "sk-preflight-placeholder-0123456789abcdef"


def test_the_key_the_endpoint_names_is_sent(monkeypatch):
    monkeypatch.setenv("STAR1_PREFLIGHT_KEY", KEY)
    with ScriptedServer(served_models=["deepseek-r1"], api_key=KEY) as server:
        report = preflight(_endpoint(server.base_url, api_key_env="STAR1_PREFLIGHT_KEY"), max_tokens=10)
        assert server.refused_auth == 0 and server.authorizations == {f"Bearer {KEY}": 1}
    assert report.ok


def test_no_key_names_the_flag_to_pass(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with ScriptedServer(served_models=["deepseek-r1"], api_key=KEY) as server:
        with pytest.raises(PreflightError, match=r"HTTP 401 .*no API key was sent; pass --api-key-env VAR"):
            preflight(_endpoint(server.base_url), max_tokens=10)


@pytest.mark.parametrize("variable", ["STAR1_PREFLIGHT_KEY", "OPENAI_API_KEY"])
def test_a_refused_key_names_its_variable_never_the_key(monkeypatch, variable):
    wrong = "sk-wrong-placeholder-fedcba9876543210"
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv(variable, wrong)
    extra = {"api_key_env": variable} if variable != "OPENAI_API_KEY" else {}
    with ScriptedServer(served_models=["deepseek-r1"], api_key=KEY) as server:
        with pytest.raises(PreflightError) as info:
            preflight(_endpoint(server.base_url, **extra), max_tokens=10)
    message = str(info.value)
    assert (
        f"refused the API key (from {variable}; HTTP 401" in message and f"put a valid key in ${variable}" in message
    )
    assert wrong not in message and KEY not in message
    if variable == "OPENAI_API_KEY":  # the default variable: say how to name another one
        assert "or pass --api-key-env VAR" in message


def test_a_one_token_ping_sends_the_key_and_names_a_refusal(monkeypatch):
    from star1_hub.teacher.preflight import ping

    monkeypatch.setenv("STAR1_PREFLIGHT_KEY", KEY)
    with ScriptedServer(served_models=["deepseek-r1"], api_key=KEY) as server:
        ping(server.base_url, "deepseek-r1", "STAR1_PREFLIGHT_KEY")
        assert server.request_count == 1 and server.refused_auth == 0
        monkeypatch.setenv("STAR1_PREFLIGHT_KEY", "sk-wrong-placeholder-fedcba9876543210")
        with pytest.raises(PreflightError, match=r"refused the API key \(from STAR1_PREFLIGHT_KEY"):
            ping(server.base_url, "deepseek-r1", "STAR1_PREFLIGHT_KEY", key_flag="--judge-api-key-env")


def test_a_server_without_a_model_list_is_a_note_not_an_error():
    from star1_hub.teacher.preflight import ModelListing, check_served

    listing = ModelListing("http://127.0.0.1:1/v1", None, "no listing")
    check_served(listing, "anything")  # nothing to check against
    with pytest.raises(PreflightError, match=r"pass --guard-model with one of those"):
        check_served(ModelListing("http://127.0.0.1:1/v1", {"a": None}), "b", "--guard-model")
