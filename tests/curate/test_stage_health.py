"""A stage whose rows all failed, or whose failures are dominated by one configuration error, exits non-zero,
keeps its cache, pushes nothing unless `--push-partial`, and shows the server's own error text per reason."""

from __future__ import annotations

from huggingface_hub import HfApi
from typer.testing import CliRunner

from star1_hub.curate.pipeline import unhealthy_reason
from star1_hub.curate.stage import StageCounts
from star1_hub.testing.scripted_server import ScriptedServer
from tests.plugins.curate import CURATE_QUESTIONS, StageResponder


def _configs(repo: str) -> set[str]:
    try:
        files = HfApi().list_repo_files(repo, repo_type="dataset")
    except Exception:  # noqa: BLE001 - the repo was never created: nothing was pushed
        return set()
    return {f.split("/")[0] for f in files if f.endswith(".parquet")}


def _classify(server, questions_repo, out, tmp_path, *extra):
    from star1_hub.cli import app

    args = ["curate", "classify", "--input", questions_repo, "--output", out, "--base-url", server.base_url]
    args += ["--model", "scripted", "--cache-dir", str(tmp_path), *extra]
    return CliRunner().invoke(app, args)


def test_all_rows_failing_pushes_nothing_keeps_the_cache_and_push_partial_publishes(
    questions_repo, curate_repo, tmp_path
):
    out = curate_repo("all-failed")
    prose = lambda body: "I think this is about privacy, probably."  # noqa: E731 - never the asked JSON
    with ScriptedServer(responder=prose, served_models=["scripted"]) as server:
        failed = _classify(server, questions_repo, out, tmp_path, "--output-retries", "0")
        sent = server.request_count
        assert failed.exit_code == 1, failed.output
        assert "nothing pushed" in failed.output and "unparseable" in failed.output
        assert "classified" not in _configs(out)
        partial = _classify(server, questions_repo, out, tmp_path, "--output-retries", "0", "--push-partial")
        assert server.request_count == sent  # the cache kept every paid answer: nothing re-sent
    assert partial.exit_code == 0, partial.output
    assert "classified" in _configs(out)
    assert sent == len(CURATE_QUESTIONS)


def test_configuration_error_dominating_shows_the_server_text(questions_repo, curate_repo, tmp_path):
    out = curate_repo("auth")
    with ScriptedServer(responder=StageResponder(), faults={"auth": 1.0}, served_models=["scripted"]) as server:
        result = _classify(server, questions_repo, out, tmp_path)
    assert result.exit_code == 1, result.output
    flat = " ".join(result.output.split())
    assert "failed with auth" in flat and "server said" in flat
    assert "classified" not in _configs(out)


def test_unhealthy_reason_rules():
    healthy = StageCounts(stage="s", sent=10, ok=9, failed=1, failed_by_reason={"length": 1})
    assert unhealthy_reason(healthy) is None
    assert unhealthy_reason(StageCounts(stage="s")) is None  # nothing was sent (e.g. every row upstream-failed)
    dominated = StageCounts(
        stage="s", sent=10, ok=5, failed=5, failed_by_reason={"bad_request": 5},
        error_examples={"bad_request": "max_tokens=8000 cannot be greater than max_model_len=2048"},
    )  # fmt: skip
    assert "max_model_len=2048" in unhealthy_reason(dominated)
    everything = StageCounts(stage="s", sent=3, ok=0, failed=3, failed_by_reason={"length": 2, "unparseable": 1})
    assert unhealthy_reason(everything).startswith("all 3 requests failed (most: length x2")
    from_cache = StageCounts(stage="s", cached=4, ok=0, failed=4, failed_by_reason={"unparseable": 4})
    assert unhealthy_reason(from_cache).startswith("all 4 requests failed")  # a cached re-run is judged the same
