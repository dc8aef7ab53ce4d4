"""API keys on every eval endpoint: `star1 eval run` / `rejudge` send the generation server, the guard and the
judge each the key named by its own flag (`--api-key-env`, `--guard-api-key-env`, `--judge-api-key-env`), in the
preflight and in the run. Against servers that, like `vllm serve --api-key`, answer 401 without it: each role
passes with its key option, and fails (exit 2, nothing generated) with a message naming the variable or the flag
without it. The keys never appear in the output, results.json, the details or the request cache."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from star1_hub.testing.scripted_server import ScriptedServer
from tests.evaluate.eval_roles import eval_app, generation, judge

MODEL, GUARD, JUDGE = "my-org/STAR1-R1-Distill-7B", "meta-llama/Llama-Guard-3-8B", "Qwen/Qwen2.5-7B-Instruct"
KEYS = {  # placeholder keys, one per server (never real ones)
    "STAR1_TEST_GEN_KEY": "sk-gen-placeholder-0123456789abcdef",
    "STAR1_TEST_GUARD_KEY": "sk-guard-placeholder-0123456789abcdef",
    "STAR1_TEST_JUDGE_KEY": "sk-judge-placeholder-0123456789abcdef",
}
KEY_FLAGS = {  # role in the preflight report → (its flag, the variable the test gives it)
    "generation": ("--api-key-env", "STAR1_TEST_GEN_KEY"),
    "guard": ("--guard-api-key-env", "STAR1_TEST_GUARD_KEY"),
    "refusal judge": ("--judge-api-key-env", "STAR1_TEST_JUDGE_KEY"),
}


def guard(body: dict) -> str:  # the cpu-demo recipe's guard is "instructed": a JSON verdict
    return json.dumps({"verdict": "safe", "category": "none"}) if "response_format" in body else "safe"


@pytest.fixture
def app():
    return eval_app()


@pytest.fixture
def servers():
    """Generation, guard and judge servers, each requiring its own key."""
    with (
        ScriptedServer(responder=generation, served_models=[MODEL], max_model_len=40960, api_key=KEYS["STAR1_TEST_GEN_KEY"])
        as gen,
        ScriptedServer(responder=guard, served_models=[GUARD], max_model_len=40960, api_key=KEYS["STAR1_TEST_GUARD_KEY"])
        as grd,
        ScriptedServer(responder=judge, served_models=[JUDGE], max_model_len=40960, api_key=KEYS["STAR1_TEST_JUDGE_KEY"])
        as jdg,
    ):  # fmt: skip
        yield gen, grd, jdg


@pytest.fixture(autouse=True)
def no_default_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # a key a role was not given must not come from here


def _args(gen, grd, jdg, tmp_path, without: str | None = None) -> list[str]:
    args = ["eval", "run", "--model", MODEL, "--recipe", "cpu-demo", "--tasks", "demo_math,demo_xstest,demo_harmful",
            "--base-url", gen.base_url, "--guard-base-url", grd.base_url, "--guard-model", GUARD,
            "--judge-base-url", jdg.base_url, "--judge-model", JUDGE, "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    for role, (flag, variable) in KEY_FLAGS.items():
        if role != without:
            args += [flag, variable]
    return args


def _invoke(app, args, tmp_path, keys: dict[str, str] = KEYS):
    env = {"COLUMNS": "400", "STAR1_HOME": str(tmp_path / "home"), **keys}
    return CliRunner().invoke(app, args, env=env)


def _assert_no_key_in(text: str) -> None:
    for key in KEYS.values():
        assert key not in text


def test_preflight_sends_each_server_its_own_key(app, servers, tmp_path):
    gen, grd, jdg = servers
    result = _invoke(app, _args(gen, grd, jdg, tmp_path) + ["--preflight"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "preflight passed" in result.output
    assert [s.refused_auth for s in servers] == [0, 0, 0]
    assert gen.request_count == 0  # the preflight generates nothing
    assert gen.authorizations == {f"Bearer {KEYS['STAR1_TEST_GEN_KEY']}": 1}  # /v1/models, with the key
    _assert_no_key_in(result.output)


@pytest.mark.parametrize("role", list(KEY_FLAGS))
def test_a_role_without_its_key_option_names_the_flag(app, servers, tmp_path, role):
    gen, grd, jdg = servers
    result = _invoke(app, _args(gen, grd, jdg, tmp_path, without=role) + ["--preflight"], tmp_path)
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    flag = KEY_FLAGS[role][0]
    assert f"{role}:" in flat and f"no API key was sent; pass {flag} VAR" in flat
    assert "preflight failed: nothing was generated" in flat
    assert gen.request_count == 0
    assert flat.count("no API key was sent") == 1  # the roles given their key pass


@pytest.mark.parametrize("role", list(KEY_FLAGS))
def test_a_refused_key_names_its_variable_and_never_shows_the_key(app, servers, tmp_path, role):
    gen, grd, jdg = servers
    variable = KEY_FLAGS[role][1]
    wrong = "sk-wrong-placeholder-fedcba9876543210"
    result = _invoke(app, _args(gen, grd, jdg, tmp_path) + ["--preflight"], tmp_path, {**KEYS, variable: wrong})
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert f"refused the API key (from {variable}" in flat and f"put a valid key in ${variable}" in flat
    assert wrong not in result.output
    _assert_no_key_in(result.output)


def test_an_unset_key_variable_is_named(app, servers, tmp_path):
    gen, grd, jdg = servers
    keys = {k: v for k, v in KEYS.items() if k != "STAR1_TEST_JUDGE_KEY"}
    result = _invoke(app, _args(gen, grd, jdg, tmp_path) + ["--preflight"], tmp_path, keys)
    assert result.exit_code == 2
    assert "STAR1_TEST_JUDGE_KEY (api_key_env) is not set" in " ".join(result.output.split())


def test_a_key_given_instead_of_its_variable_name_is_refused(app, servers, tmp_path):
    gen, grd, jdg = servers
    args = _args(gen, grd, jdg, tmp_path, without="generation") + ["--api-key-env", KEYS["STAR1_TEST_GEN_KEY"]]
    result = _invoke(app, args + ["--preflight"], tmp_path)
    assert result.exit_code != 0 and gen.request_count == 0
    assert "looks like a key itself" in str(result.exception)
    assert KEYS["STAR1_TEST_GEN_KEY"] not in str(result.exception)


def test_a_run_and_a_rejudge_send_the_keys_and_store_none(app, servers, tmp_path):
    gen, grd, jdg = servers
    out = tmp_path / "run"
    result = _invoke(app, _args(gen, grd, jdg, tmp_path) + ["--output-dir", str(out)], tmp_path)
    assert result.exit_code == 0, result.output
    assert [s.refused_auth for s in servers] == [0, 0, 0]
    assert gen.request_count > 0 and grd.request_count > 0 and jdg.request_count > 0
    results = json.loads((out / "results.json").read_text())
    assert results["judge"]["guard_model"] == GUARD and results["tasks"]["demo_harmful"]["headline"] == 100.0
    rejudge = ["eval", "rejudge", str(out), "--guard-base-url", grd.base_url, "--guard-model", GUARD,
               "--guard-api-key-env", "STAR1_TEST_GUARD_KEY", "--judge-base-url", jdg.base_url,
               "--judge-model", JUDGE, "--judge-api-key-env", "STAR1_TEST_JUDGE_KEY",
               "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    again = _invoke(app, rejudge, tmp_path)
    assert again.exit_code == 0, again.output
    assert [s.refused_auth for s in servers] == [0, 0, 0]
    _assert_no_key_in(result.output + again.output)
    stored = [p for p in (*out.rglob("*"), *(tmp_path / "cache").rglob("*"), *(tmp_path / "home").rglob("*"))]
    assert any(p.suffix == ".parquet" for p in stored) and any("cache" in p.parts for p in stored if p.is_file())
    for path in stored:
        if path.is_file():
            data = path.read_bytes()
            for key in KEYS.values():
                assert key.encode() not in data, path
