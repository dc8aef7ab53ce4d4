"""A stage pointed at a down endpoint, an unserved model or a too-small context fails before sending anything,
names the fix, and pushes nothing (through `star1 curate`, the build runner and `run_stage`)."""

from __future__ import annotations

import socket

import pytest
from huggingface_hub import HfApi
from typer.testing import CliRunner

from star1_hub.curate.pipeline import run_stage
from star1_hub.teacher import EndpointConfig
from star1_hub.teacher.preflight import PreflightError
from star1_hub.testing.scripted_server import ScriptedServer
from tests.plugins.curate import StageResponder


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def _pushed(repo: str) -> bool:
    try:
        return any(f.endswith(".parquet") for f in HfApi().list_repo_files(repo, repo_type="dataset"))
    except Exception:  # noqa: BLE001 - the repo does not exist: nothing was pushed
        return False


def _cli(args: list[str]):
    from star1_hub.cli import app

    return CliRunner().invoke(app, args)


def test_down_endpoint_fails_before_sending(questions_repo, curate_repo, tmp_path):
    out = curate_repo("down")
    result = _cli(
        ["curate", "classify", "--input", questions_repo, "--output", out, "--base-url", _closed_port_url()]
        + ["--model", "gpt-4o", "--cache-dir", str(tmp_path)]
    )
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert "cannot reach" in flat and "star1 serve" in flat and "nothing was sent" in flat
    assert not _pushed(out)


def test_unserved_model_fails_before_sending(questions_repo, curate_repo, tmp_path):
    out = curate_repo("unserved")
    with ScriptedServer(responder=StageResponder(), served_models=["smollm2"]) as server:
        result = _cli(
            ["curate", "classify", "--input", questions_repo, "--output", out, "--base-url", server.base_url]
            + ["--model", "deepseek-r1", "--cache-dir", str(tmp_path)]
        )
        assert server.request_count == 0
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert "does not serve the model 'deepseek-r1'" in flat and "--served-model-name" in flat
    assert not _pushed(out)


def test_context_too_small_for_r1_budget_fails_before_sending(questions_repo, curate_repo, tmp_path):
    """The README's embedded teacher has max_model_len 2048; the reason stage's paper budget is 8,000 tokens."""
    out = curate_repo("context")
    with ScriptedServer(responder=StageResponder(), max_model_len=2048, served_models=["scripted"]) as server:
        classify = EndpointConfig(base_url=server.base_url, model="scripted", params={"max_tokens": 96})
        sha, _, _ = run_stage("classify", questions_repo, out, endpoint=classify, cache_dir=tmp_path / "c")
        sent = server.request_count
        result = _cli(
            ["curate", "reason", "--input", f"{out}@{sha}", "--output", out, "--base-url", server.base_url]
            + ["--model", "scripted", "--cache-dir", str(tmp_path / "r")]
        )
        assert server.request_count == sent  # the reason stage sent nothing
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert "max_model_len=2048" in flat and "max_tokens=8000" in flat and "--param max_tokens=" in flat
    assert "reasoned" not in {f.split("/")[0] for f in HfApi().list_repo_files(out, repo_type="dataset")}


def test_build_checks_every_endpoint_before_the_first_stage(questions_repo, curate_repo, tmp_path):
    from star1_hub.curate.builds import build_star1

    with ScriptedServer(responder=StageResponder(), served_models=["scripted"]) as server:
        good = {"base_url": server.base_url, "model": "scripted"}
        config = {
            "_path": "star1.yaml",
            "input": questions_repo,
            "input_config": "collected",
            "star41k_repo": curate_repo("b41k"),
            "star1_repo": curate_repo("b1"),
            "cache_dir": str(tmp_path),
            "classifier": good,
            "teacher": {"base_url": _closed_port_url(), "model": "deepseek-r1"},
            "judge": good,
        }
        with pytest.raises(PreflightError, match="cannot reach"):
            build_star1(config)
        assert server.request_count == 0  # not even the classifier ran
    assert not _pushed(config["star41k_repo"])
