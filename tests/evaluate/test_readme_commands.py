"""The README's `star1 eval` commands, parsed by the CLI and run against vLLM-shaped test servers; preflight,
failures that are never scores, and a plain re-run after the fix."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tests.evaluate.eval_roles import eval_app, generation, judge
from tests.evaluate.vllm_shaped import VllmShapedServer

README = Path(__file__).resolve().parents[2] / "README.md"

MODEL, GUARD, JUDGE = "my-org/STAR1-R1-Distill-7B", "meta-llama/Llama-Guard-3-8B", "Qwen/Qwen2.5-7B-Instruct"


def readme_eval_commands() -> list[list[str]]:
    """Every `star1 eval …` line of the README's eval block, continuation lines joined, comments dropped."""
    text = README.read_text()
    block = text.split("<!-- eval-commands -->", 1)[1].split("<!-- /eval-commands -->", 1)[0]
    joined = re.sub(r"\\\n\s*", " ", block)
    commands = []
    for line in joined.splitlines():
        line = line.split("  #", 1)[0].strip()
        if line.startswith("star1 eval"):
            commands.append(shlex.split(line)[1:])
    return commands


def guard(body: dict) -> str:
    return "safe"


@pytest.fixture
def app():
    return eval_app()


@pytest.fixture
def servers():
    with (
        VllmShapedServer({MODEL: 40960}, generation) as gen,
        VllmShapedServer({GUARD: 16384}, guard) as grd,
        VllmShapedServer({JUDGE: 16384}, judge) as jdg,
    ):
        yield gen, grd, jdg


def _wire(args: list[str], gen, grd, jdg) -> list[str]:
    urls = {"http://127.0.0.1:8000/v1": gen.base_url, "http://127.0.0.1:8001/v1": grd.base_url,
            "http://127.0.0.1:8002/v1": jdg.base_url}  # fmt: skip
    return [urls.get(a, a) for a in args]


def _invoke(app, args, tmp_path):
    env = {"COLUMNS": "200", "STAR1_HOME": str(tmp_path / "home")}
    return CliRunner().invoke(app, args, env=env)


def test_readme_lists_the_eval_commands():
    kinds = [c[:2] for c in readme_eval_commands()]
    assert kinds.count(["eval", "run"]) == 3 and ["eval", "tasks"] in kinds and ["eval", "rejudge"] in kinds
    for command in readme_eval_commands():
        if "--judge-model" in command and "--guard-model" in command:
            assert command[command.index("--judge-model") + 1] != command[command.index("--guard-model") + 1]


def test_readme_commands_run_against_scripted_servers(app, servers, tmp_path, eval_task_sources):
    gen, grd, jdg = servers
    for command in readme_eval_commands():
        args = _wire(command, gen, grd, jdg)
        if args[:2] == ["eval", "run"] and "--preflight" not in args:
            if "--backend" in args:  # the CPU line (in-process model, slow): its parse and preflight only
                args = [a if a != "./tiny-model" else str(tmp_path) for a in args] + ["--preflight"]
            else:  # the full paper run needs every benchmark: run it on the demo tasks, to a known folder
                args += ["--tasks", "demo_math,demo_xstest,demo_harmful", "--output-dir", str(tmp_path / "run")]
                args = [a for a in args if a not in ("--org", "my-org")]
        if args[:2] == ["eval", "rejudge"]:
            args = [str(tmp_path / "run") if a == "eval-results/RUN" else a for a in args]
        result = _invoke(app, args, tmp_path)
        assert result.exit_code == 0, (args, result.output)
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["judge"]["guard_model"] == GUARD and results["judge"]["model"] == JUDGE
    assert results["tasks"]["demo_harmful"]["headline"] == 100.0  # judged by the guard, not the refusal judge
    assert results["config"]["served_model"] == MODEL and results["config"]["reasoning"]["reasoning_model"]


def _preflight_command(gen, grd, jdg) -> list[str]:
    (command,) = [c for c in readme_eval_commands() if "--preflight" in c]
    return _wire(command, gen, grd, jdg)


def test_preflight_names_the_context_needed_and_sends_no_generation(app, tmp_path):
    with (
        VllmShapedServer({MODEL: 2048}, generation) as gen,
        VllmShapedServer({GUARD: 16384}, guard) as grd,
        VllmShapedServer({JUDGE: 16384}, judge) as jdg,
    ):
        result = _invoke(app, _preflight_command(gen, grd, jdg), tmp_path)
        assert result.exit_code != 0
        assert "--max-model-len 34816" in result.output and "context 2048" in result.output
        assert gen.chat_requests[MODEL] == 0  # nothing generated
    with (
        VllmShapedServer({MODEL: 40960}, generation) as gen,
        VllmShapedServer({GUARD: 16384}, guard) as grd,
        VllmShapedServer({JUDGE: 16384}, judge) as jdg,
    ):
        result = _invoke(app, _preflight_command(gen, grd, jdg), tmp_path)
        assert result.exit_code == 0, result.output
        assert gen.chat_requests[MODEL] == 0 and grd.chat_requests[GUARD] == 1 and jdg.chat_requests[JUDGE] == 1


def test_preflight_names_an_unserved_model(app, tmp_path):
    with (
        VllmShapedServer({"smollm2": 40960}, generation) as gen,
        VllmShapedServer({GUARD: 16384}, guard) as grd,
        VllmShapedServer({JUDGE: 16384}, judge) as jdg,
    ):
        result = _invoke(app, _preflight_command(gen, grd, jdg), tmp_path)
        assert result.exit_code != 0 and f"--served-model-name {MODEL}" in result.output
        assert gen.chat_requests["smollm2"] == 0


def test_judge_roles_are_separate(app, servers, tmp_path):
    gen, grd, jdg = servers
    args = _wire(
        ["eval", "run", "--model", MODEL, "--base-url", "http://127.0.0.1:8000/v1", "--tasks", "demo_harmful",
         "--judge-base-url", "http://127.0.0.1:8002/v1", "--judge-model", JUDGE, "--output-dir", str(tmp_path / "o"),
         "--recipe", "cpu-demo"], gen, grd, jdg,
    )  # fmt: skip
    result = _invoke(app, args, tmp_path)
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "o" / "results.json").read_text())
    assert grd.chat_requests[GUARD] == 0 and results["judge"]["guard_model"] is None  # no guard: never the judge
    assert results["tasks"]["demo_harmful"]["headline"] is None
    assert "safety_rate_full" not in results["tasks"]["demo_harmful"]


def test_server_down_exits_nonzero_publishes_nothing_and_a_rerun_generates(app, tmp_path, local_hub):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = ["eval", "run", "--model", MODEL, "--tasks", "demo_math", "--recipe", "cpu-demo",
            "--base-url", f"http://127.0.0.1:{port}/v1", "--org", "nobody-publishes"]  # fmt: skip
    result = _invoke(app, args + ["--output-dir", str(tmp_path / "a")], tmp_path)
    assert result.exit_code != 0 and "does not answer /v1/models" in result.output
    assert not (tmp_path / "a").exists()  # preflight stopped it before any data was loaded
    with VllmShapedServer({MODEL: 40960}, generation, port=port) as gen:
        result = _invoke(app, args[:-2] + ["--output-dir", str(tmp_path / "b")], tmp_path)
        assert result.exit_code == 0, result.output
        assert gen.chat_requests[MODEL] == 4
    metrics = json.loads((tmp_path / "b" / "results.json").read_text())["tasks"]["demo_math"]
    assert metrics["n"] == 4 and metrics["n_errors"] == 0


def _is_7x8(body) -> bool:
    return "7 \\times 8" in body["messages"][-1]["content"]


def test_failed_generation_is_excluded_counted_and_blocks_publishing(app, tmp_path):
    """One prompt the server refuses (400): never scored as a wrong answer; the task is flagged, eval exits 1 and
    publishes nothing; --allow-failures accepts it; after the fix --retry-failed sends only that row."""
    broken = {"on": True}

    def fail(body):
        return (400, "This model's maximum context length is 64 tokens.") if broken["on"] and _is_7x8(body) else None

    with VllmShapedServer({MODEL: 40960}, generation, fail=fail) as gen:
        args = ["eval", "run", "--model", MODEL, "--tasks", "demo_math", "--recipe", "cpu-demo",
                "--base-url", gen.base_url, "--org", "nobody-publishes"]  # fmt: skip
        result = _invoke(app, args + ["--output-dir", str(tmp_path / "a")], tmp_path)
        assert result.exit_code == 1 and "nothing published" in result.output
        assert "maximum context length is 64" in result.output  # the server's own words
        metrics = json.loads((tmp_path / "a" / "results.json").read_text())["tasks"]["demo_math"]
        assert metrics["n_errors"] == 1 and metrics["n"] == 3 and metrics["incomplete"]
        assert metrics["pass@1"]["n"] == 3  # the failure is not a 0
        assert not (tmp_path / "a" / "published.json").exists()

        broken["on"] = False
        sent = gen.chat_requests[MODEL]
        retry = args[:-2] + ["--retry-failed", "--output-dir", str(tmp_path / "b")]
        result = _invoke(app, retry, tmp_path)
        assert result.exit_code == 0, result.output
        assert gen.chat_requests[MODEL] - sent == 1  # only the failed row was generated again
        metrics = json.loads((tmp_path / "b" / "results.json").read_text())["tasks"]["demo_math"]
        assert metrics["n"] == 4 and not metrics["incomplete"]


def test_transient_failure_is_generated_again_by_a_plain_rerun(app, tmp_path):
    down = {"on": True}

    def fail(body):
        # an overloaded server's 503 says when to come back; "at once" keeps the engine's retries of the failing
        # row from waiting out its default back-off (the claim is about the re-run, not about the wait)
        return (503, "server overloaded", {"Retry-After": "0"}) if down["on"] and _is_7x8(body) else None

    with VllmShapedServer({MODEL: 40960}, generation, fail=fail) as gen:
        args = ["eval", "run", "--model", MODEL, "--tasks", "demo_math", "--recipe", "cpu-demo",
                "--base-url", gen.base_url]  # fmt: skip
        assert _invoke(app, args + ["--output-dir", str(tmp_path / "a")], tmp_path).exit_code == 1
        down["on"] = False
        sent = gen.chat_requests[MODEL]
        result = _invoke(app, args + ["--output-dir", str(tmp_path / "b")], tmp_path)
        assert result.exit_code == 0, result.output
        assert gen.chat_requests[MODEL] - sent == 1


def test_allow_failures_exits_zero_with_the_task_flagged(app, tmp_path):
    def fail(body):
        return (400, "bad request") if _is_7x8(body) else None

    with VllmShapedServer({MODEL: 40960}, generation, fail=fail) as gen:
        args = ["eval", "run", "--model", MODEL, "--tasks", "demo_math", "--recipe", "cpu-demo",
                "--base-url", gen.base_url, "--allow-failures", "--output-dir", str(tmp_path / "a")]  # fmt: skip
        result = _invoke(app, args, tmp_path)
        assert result.exit_code == 0 and "incomplete" in result.output


def test_each_run_gets_its_own_folder_and_no_total_timeout_locally(app, servers, tmp_path, monkeypatch):
    gen, _, _ = servers
    monkeypatch.chdir(tmp_path)
    args = [
        "eval",
        "run",
        "--model",
        MODEL,
        "--tasks",
        "demo_math",
        "--recipe",
        "cpu-demo",
        "--base-url",
        gen.base_url,
    ]
    for _ in range(2):
        assert _invoke(app, args, tmp_path).exit_code == 0
    folders = sorted((tmp_path / "eval-results").iterdir())
    assert len(folders) == 2 and all((f / "results.json").is_file() for f in folders)
    config = json.loads((folders[0] / "results.json").read_text())["config"]
    assert config["request_timeout_s"] is None  # a local server: no total timeout by default
    assert _invoke(app, args + ["--request-timeout", "900"], tmp_path).exit_code == 0
    newest = max((tmp_path / "eval-results").iterdir(), key=lambda f: f.stat().st_mtime)
    assert json.loads((newest / "results.json").read_text())["config"]["request_timeout_s"] == 900


def test_serve_defaults_follow_the_model_and_the_recipe(monkeypatch):
    from star1_hub import serve_cli
    from star1_hub.teacher import serve

    seen = {}

    def fake_start(model, port, served_model_name, max_model_len, *rest, **options):
        seen.update(model=model, served=served_model_name, context=max_model_len)
        raise serve.ServeError("not starting vLLM in this test")

    monkeypatch.setattr(serve, "start_vllm", fake_start)
    application = typer.Typer()
    serve_cli.register(application)
    application.command("noop")(lambda: None)  # a second command keeps `serve` a subcommand
    result = CliRunner().invoke(application, ["serve", "--model", MODEL, "--recipe", "paper"])
    assert result.exit_code == 2 and seen == {"model": MODEL, "served": MODEL, "context": 32768 + 2048}
    CliRunner().invoke(application, ["serve", "--model", "embedded"])
    assert seen["served"] == "smollm2" and seen["context"] == 2048


@pytest.mark.parametrize(
    ("broken", "fixed", "message"),
    [
        ({MODEL: 2048}, {MODEL: 4096}, "--max-model-len 2144"),  # cpu-demo: largest budget 96 + 2048 prompt tokens
        ({"smollm2": 4096}, {MODEL: 4096}, f"--served-model-name {MODEL}"),
    ],
    ids=["context too small", "model not served"],
)
def test_misconfigured_server_fails_before_sending_and_a_rerun_after_the_fix_generates(
    app, tmp_path, broken, fixed, message
):
    args = ["eval", "run", "--model", MODEL, "--tasks", "demo_math", "--recipe", "cpu-demo", "--org", "nobody"]
    with VllmShapedServer(broken, generation) as gen:
        result = _invoke(app, args + ["--base-url", gen.base_url, "--output-dir", str(tmp_path / "a")], tmp_path)
        assert result.exit_code != 0 and message in result.output
        assert sum(gen.chat_requests.values()) == 0 and not (tmp_path / "a").exists()
    with VllmShapedServer(fixed, generation) as gen:
        run = args[:-2] + ["--base-url", gen.base_url, "--output-dir", str(tmp_path / "b")]
        result = _invoke(app, run, tmp_path)
        assert result.exit_code == 0, result.output
        assert gen.chat_requests[MODEL] == 4
