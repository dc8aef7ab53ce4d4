"""One EndpointConfig, loaded the same way from YAML blocks and from command-line flags."""

from __future__ import annotations

import pickle

import pytest

from star1_hub.errors import RecipeError
from star1_hub.teacher import EndpointConfig, EngineConfig, endpoint_from_flags


def test_yaml_block_and_flags_give_the_same_config():
    block = {
        "base_url": "http://127.0.0.1:8000/v1",
        "model": "deepseek-r1",
        "api_key_env": "MY_KEY",
        "params": {"temperature": 0.6, "max_tokens": 8000},
        "concurrency": 8,
        "retry_policy": "paper-r1",
    }
    from_yaml = EndpointConfig.from_mapping(block, where="star1.yaml: teacher")
    from_flags = endpoint_from_flags(
        base_url="http://127.0.0.1:8000/v1",
        model="deepseek-r1",
        api_key_env="MY_KEY",
        params=["temperature=0.6", "max_tokens=8000"],
        concurrency=8,
        rpm=None,
        retry_policy="paper-r1",
    )
    assert from_yaml == from_flags
    assert (from_yaml.max_attempts, from_yaml.output_retries) == (10, 9)


@pytest.mark.parametrize(
    ("block", "fragment"),
    [
        ({"base_url": "http://h/v1", "model": "m", "concurency": 3}, "unknown key(s) ['concurency']"),
        ({"base_url": "http://h/v1"}, "`model` is required"),
        ({"base_url": "http://h/v1", "model": "m", "api_key": "abc"}, "api_key_env"),
        ({"base_url": "http://h/v1", "model": "m", "concurrency": 0}, "`concurrency` = 0"),
        ({"base_url": "h", "model": "m"}, "http(s) URL"),
        ({"base_url": "http://h/v1", "model": "m", "retry_policy": "forever"}, "paper-r1"),
        ({"base_url": "http://h/v1", "model": "m", "api_key_env": "sk-abcdefghijklmnop"}, "NAME"),
    ],
)
def test_bad_blocks_name_the_source_the_key_and_the_fix(block, fragment):
    with pytest.raises(RecipeError) as info:
        EndpointConfig.from_mapping(block, where="build.yaml: judge")
    assert str(info.value).startswith("build.yaml: judge:") and fragment in str(info.value)


def test_engine_config_is_built_from_the_endpoint_and_never_pickles_a_key(monkeypatch):
    endpoint = EndpointConfig.from_mapping(
        {"base_url": "http://h/v1", "model": "m", "api_key_env": "STAR1_TEST_KEY", "timeout_s": None}
    )
    monkeypatch.setenv("STAR1_TEST_KEY", "secret-value-123456")
    config = endpoint.engine_config(stage="reason", cache_dir="cache")
    assert isinstance(config, EngineConfig) and config.stage == "reason" and config.timeout_s is None
    assert config.resolved_api_key() == "secret-value-123456"
    explicit = EngineConfig(base_url="http://h/v1", model="m", api_key="explicit-secret-abcdef")
    assert b"explicit-secret-abcdef" not in pickle.dumps(explicit)
    assert "secret" not in repr(config) + repr(endpoint) + repr(explicit)
    monkeypatch.delenv("STAR1_TEST_KEY")
    with pytest.raises(RecipeError, match="STAR1_TEST_KEY"):
        config.resolved_api_key()
