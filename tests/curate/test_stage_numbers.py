"""Every figure of a stage run comes from one place: the live progress bar ends on the summary's ok / failed /
cached counts (answers served from the cache and cut-off outputs included), and the summary's reasoning `forms`
are the forms its rows record."""

from __future__ import annotations

import json
import re
from collections import Counter

from typer.testing import CliRunner

from star1_hub.curate.pipeline import StageOptions, run_stage
from star1_hub.teacher import EndpointConfig
from star1_hub.testing.scripted_server import ScriptedServer
from tests.plugins.curate import CURATE_QUESTIONS, StageResponder

BAR = re.compile(r"done (\d+) · failed (\d+) · truncated (\d+) · cached (\d+)")


def _classify(server, questions_repo, out, cache, *extra):
    from star1_hub.cli import app

    args = ["curate", "classify", "--input", questions_repo, "--output", out, "--base-url", server.base_url]
    args += ["--model", "scripted", "--cache-dir", str(cache), "--output-retries", "0", "--max-attempts", "1"]
    return CliRunner().invoke(app, [*args, "--push-partial", *extra])


def _bar_and_summary(output: str) -> tuple[dict[str, int], dict]:
    done, failed, truncated, cached = (int(n) for n in BAR.findall(output)[-1])  # the bar's last state
    summary, _ = json.JSONDecoder().raw_decode(output, output.index('{\n  "stage"'))
    return {"done": done, "failed": failed, "truncated": truncated, "cached": cached}, summary


def test_progress_bar_ends_on_the_summary_counts_with_cached_failures_and_truncations(
    questions_repo, curate_repo, tmp_path, monkeypatch
):
    monkeypatch.setenv("COLUMNS", "250")  # the bar on one line, as a wide terminal shows it
    out = curate_repo("numbers")
    faults = {"length": 0.4, "content_filter": 0.2}
    with ScriptedServer(responder=StageResponder(), faults=faults, served_models=["scripted"], seed=5) as server:
        first = _classify(server, questions_repo, out, tmp_path, "--limit", "6")
        again = _classify(server, questions_repo, out, tmp_path)  # the first 6 rows come from the cache
    for result in (first, again):
        assert result.exit_code == 0, result.output
        bar, summary = _bar_and_summary(result.output)
        assert bar["done"] == summary["ok"] and bar["failed"] == summary["failed"]
        assert bar["truncated"] == summary["failed_by_reason"].get("length", 0)
        assert bar["cached"] == summary["cached"]
    bar, summary = _bar_and_summary(again.output)
    assert summary["cached"] == 6 and summary["rows_in"] == len(CURATE_QUESTIONS)
    assert summary["failed"] > 0, "the faults made some rows fail (the case the bar used to show as 0)"


def _endpoint(server) -> EndpointConfig:
    return EndpointConfig(base_url=server.base_url, model="scripted", concurrency=4, max_attempts=2, timeout_s=10)


def test_summary_forms_are_the_forms_the_rows_record(questions_repo, curate_repo, tmp_path):
    from datasets import load_dataset

    out = curate_repo("forms")
    with ScriptedServer(responder=StageResponder(), served_models=["scripted"]) as server:
        sha, classified, _ = run_stage("classify", questions_repo, out, endpoint=_endpoint(server))
        assert classified.forms == {}  # classify records no reasoning form in its rows
        for output_format in ("json", "think"):
            config = f"reasoned-{output_format}"
            _, counts, _ = run_stage(
                "reason", f"{out}@{sha}", out, endpoint=_endpoint(server), output_config=config,
                options=StageOptions(output_format=output_format), cache_dir=tmp_path / output_format,
            )  # fmt: skip
            rows = load_dataset(out, config, split="train")
            recorded = Counter(r["provenance"]["reasoning_form"] for r in rows if r["error"] is None)
            assert counts.forms == dict(recorded) and sum(recorded.values()) == counts.ok > 0
            assert set(recorded) == ({"json"} if output_format == "json" else {"inline"})
