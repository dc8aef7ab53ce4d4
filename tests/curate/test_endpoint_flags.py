"""One endpoint flag parser: every command builds its `EndpointConfig` through `endpoint_from_flags`, with flags
named as the YAML keys (`--timeout-s` for `timeout_s`; the old `--timeout` / `--request-timeout` kept as aliases),
and every endpoint key of a YAML block can be given as a `star1 curate` flag."""

from __future__ import annotations

import json

import pytest
import typer
from huggingface_hub import hf_hub_download
from typer.testing import CliRunner

from star1_hub.errors import RecipeError
from star1_hub.teacher import EndpointConfig, endpoint_from_flags
from star1_hub.testing.scripted_server import ScriptedServer
from tests.plugins.curate import StageResponder

# Endpoint keys whose flag is not `--<key with dashes>`: params come as --param k=v / --params JSON; structured
# output is on by default, so its flag turns it off.
SPECIAL_FLAGS = {"params": ("--param", "--params"), "structured_output": ("--no-structured-output",)}


def _options(command_path: list[str]) -> dict[str, list[str]]:
    """{parameter name: its option strings} of a `star1 …` command."""
    from star1_hub.cli import app

    command = typer.main.get_command(app)
    for name in command_path:  # through click's API: the root group loads a command's area when asked for it
        command = command.get_command(typer.Context(command), name)
    return {param.name: list(param.opts) for param in command.params}


def _flags(command_path: list[str]) -> set[str]:
    return {opt for opts in _options(command_path).values() for opt in opts}


@pytest.mark.parametrize("stage", ["classify", "reason", "score", "rewrite"])
def test_every_endpoint_key_is_a_curate_flag_named_after_it(stage):
    flags = _flags(["curate", stage])
    for key in (*EndpointConfig.field_names(), "retry_policy"):
        expected = SPECIAL_FLAGS.get(key, ("--" + key.replace("_", "-"),))
        assert set(expected) <= flags, f"endpoint key {key!r} has no flag {expected} on `star1 curate {stage}`"


def test_the_old_timeout_names_are_aliases_of_timeout_s():
    assert ["--timeout-s", "--timeout"] == _options(["curate", "classify"])["timeout_s"]
    assert ["--timeout-s", "--request-timeout"] == _options(["eval", "run"])["request_timeout"]


def test_every_eval_endpoint_takes_the_key_options_of_curation():
    assert {"--api-key-env", "--guard-api-key-env", "--judge-api-key-env"} <= _flags(["eval", "run"])
    assert {"--guard-api-key-env", "--judge-api-key-env"} <= _flags(["eval", "rejudge"])
    assert "--api-key-env" in _flags(["curate", "classify"])


def test_params_json_and_param_items_merge_items_last():
    endpoint = endpoint_from_flags(
        base_url="http://127.0.0.1:8000/v1",
        model="m",
        params_json='{"temperature": 0, "max_tokens": 100}',
        params=["max_tokens=200", "top_p=0.9"],
        timeout_s=30.0,
        transport="aiohttp",
        backoff_base_s=0.5,
    )
    assert endpoint.params == {"temperature": 0, "max_tokens": 200, "top_p": 0.9}
    assert (endpoint.timeout_s, endpoint.transport, endpoint.backoff_base_s) == (30.0, "aiohttp", 0.5)
    for bad, fragment in (("{not json", "--params is not valid JSON"), ("[1]", "--params must be a JSON object")):
        with pytest.raises(RecipeError, match=fragment):
            endpoint_from_flags(base_url="http://127.0.0.1:8000/v1", model="m", params_json=bad)


def test_curate_flags_reach_the_stage_through_the_yaml_parser(questions_repo, curate_repo, tmp_path):
    from star1_hub.cli import app

    out = curate_repo("flags")
    with ScriptedServer(responder=StageResponder()) as server:
        args = ["curate", "classify", "--input", questions_repo, "--output", out, "--base-url", server.base_url,
                "--model", "scripted-model", "--cache-dir", str(tmp_path), "--concurrency", "3",
                "--max-attempts", "2", "--output-retries", "1", "--timeout", "30", "--transport", "aiohttp",
                "--backoff-base-s", "0.01", "--backoff-max-s", "0.5"]  # fmt: skip
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        assert server.request_count > 0
    manifest = json.loads(open(hf_hub_download(out, "curation.json", repo_type="dataset")).read())
    options = manifest["configs"]["classified"]["options"]
    assert (options["concurrency"], options["max_attempts"], options["output_retries"]) == (3, 2, 1)


def test_a_bad_flag_value_names_the_flag_set_and_the_key(questions_repo, curate_repo, tmp_path):
    from star1_hub.cli import app

    args = ["curate", "classify", "--input", questions_repo, "--output", curate_repo("bad"), "--base-url",
            "http://127.0.0.1:9/v1", "--model", "m", "--transport", "carrier-pigeon", "--dry-run"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    flat = " ".join(result.output.split())
    assert "command-line flags: `transport` = 'carrier-pigeon' is invalid" in flat and "aiohttp" in flat
