"""`run_curation_demo` and the `star1 curate` CLI against the scripted server and the local Hub."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from star1_hub.curate.demo import run_curation_demo
from star1_hub.testing.scripted_server import ScriptedServer
from tests.plugins.curate import CURATE_QUESTIONS, StageResponder


def test_demo_chain_reports_honest_counts_and_tags_the_build(questions_repo, curate_repo, tmp_path):
    from datasets import load_dataset
    from huggingface_hub import HfApi

    out = curate_repo("demo")
    with ScriptedServer(
        faults={"length": 0.2}, responder=StageResponder(), seed=1, served_models=["scripted"]
    ) as server:
        result = run_curation_demo(
            questions_repo, out, server.base_url, "scripted", n_select=3, cache_dir=tmp_path, tag="demo-build"
        )
    stages = result["stages"]
    assert list(stages) == ["classify", "reason", "score", "filter", "select"]
    n = len(CURATE_QUESTIONS)
    assert stages["classify"]["rows_in"] == n
    for name in ("classify", "reason", "score"):
        s = stages[name]
        assert s["ok"] + s["failed"] + s["skipped"] + s["upstream_errors"] == n
    assert stages["filter"]["rows_out"] == stages["select"]["rows_in"]
    assert stages["select"]["rows_out"] == min(3, stages["filter"]["rows_out"])
    tags = {t.name for t in HfApi().list_repo_refs(out, repo_type="dataset").tags}
    assert "demo-build" in tags
    selected = load_dataset(out, revision="demo-build", split="train")
    assert len(selected) == stages["select"]["rows_out"]


def test_cli_classify_dry_run_and_run(questions_repo, curate_repo, tmp_path):
    from star1_hub.cli import app

    runner = CliRunner()
    out = curate_repo("cli")
    with ScriptedServer(responder=StageResponder(), served_models=["scripted"]) as server:
        args = [
            "curate",
            "classify",
            "--input",
            questions_repo,
            "--output",
            out,
            "--base-url",
            server.base_url,
            "--model",
            "scripted",
            "--cache-dir",
            str(tmp_path),
            "--limit",
            "4",
        ]
        dry = runner.invoke(app, [*args, "--dry-run", "--price-in", "2.5"])
        assert dry.exit_code == 0, dry.output
        assert json.loads(dry.output)["requests"] == 4
        assert server.request_count == 0
        result = runner.invoke(app, [*args, "--tag", "cli-1"])
        assert result.exit_code == 0, result.output
        assert server.request_count == 4
    assert '"ok": 4' in result.output


def test_cli_llm_stage_without_model_is_a_clear_error(questions_repo, curate_repo):
    from star1_hub.cli import app

    result = CliRunner().invoke(app, ["curate", "score", "--input", questions_repo, "--output", curate_repo("x")])
    assert result.exit_code != 0
    assert "--base-url and --model" in result.output
