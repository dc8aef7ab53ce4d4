"""`star1 data show REPO --config STAGE` for every config a real curation chain pushes, 0-row configs included.

The chain runs on the local Hub against the scripted OpenAI-compatible server with injected faults, so the
configs hold what real runs hold: failed rows with an `error` reason, rows without a response (skipped `Other`
items, failures) and without a score, and — with a judge that never gives full marks — an empty `filtered`
and `default` config (which `datasets` refuses to load on its own).
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from typer.testing import CliRunner

from star1_hub.teacher import EndpointConfig
from star1_hub.testing.scripted_server import ScriptedServer
from tests.plugins.curate import StageResponder

FAULTS = {"server_error": 0.15, "malformed": 0.1, "length": 0.1}
CONFIGS = ("classified", "reasoned", "scored", "filtered", "default", "rewritten")


@pytest.fixture(scope="module")
def curated_repo(local_hub, questions_repo, tmp_path_factory):
    """A repo with every safety-path config (filter and select keep 0 rows) plus the benign `rewritten` config."""
    import uuid

    from star1_hub.curate.pipeline import StageOptions, run_stage

    source_ref = questions_repo  # the curate tests' CURATE_QUESTIONS, pushed once per session
    out = f"show-tests/star41k-{uuid.uuid4().hex[:8]}"
    cache = tmp_path_factory.mktemp("show-cache")
    responder = StageResponder(low_score_every=1)  # every row misses full marks on one criterion
    with ScriptedServer(faults=FAULTS, responder=responder, retry_after_s=0.01, seed=5) as server:
        endpoint = EndpointConfig(
            base_url=server.base_url, model="scripted-model", concurrency=4, max_attempts=1, backoff_base_s=0.01
        )
        sha, _, _ = run_stage("classify", source_ref, out, endpoint=endpoint, cache_dir=cache / "classify")
        for stage in ("reason", "score"):
            sha, _, _ = run_stage(stage, f"{out}@{sha}", out, endpoint=endpoint, cache_dir=cache / stage)
        sha, _, _ = run_stage("filter", f"{out}@{sha}", out)
        sha, _, _ = run_stage("select", f"{out}@{sha}", out, options=StageOptions(n=5))
        run_stage(
            "rewrite",
            source_ref,
            out,
            endpoint=endpoint,
            options=StageOptions(benign=True),
            input_config="collected",
            cache_dir=cache / "rewrite",
        )
    return out


def _show(*args: str, columns: int = 80):
    from star1_hub.cli import app

    return CliRunner().invoke(app, ["data", "show", *args], env={"COLUMNS": str(columns)})


def _stored_rows(repo: str, config: str) -> list[dict]:
    from star1_hub.curate.versioning import load_stage_output

    return load_stage_output(repo, config).to_list()


@pytest.mark.parametrize("config", CONFIGS)
def test_every_config_shows_counts_reasons_and_rows_in_80_columns(curated_repo, config):
    rows = _stored_rows(curated_repo, config)
    result = _show(curated_repo, "--config", config)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    assert f"config {config}" in result.output and "@default" not in result.output
    assert curated_repo in result.output  # the repo id is never cut
    assert any(line.startswith("│ rows") and f"│ {len(rows)} " in line for line in lines)
    errors = Counter(row["error"] for row in rows if row.get("error"))
    if errors:
        reason, count = errors.most_common(1)[0]
        assert f"{reason} {count}" in " ".join(result.output.replace("│", " ").split())
    if config == "filtered":  # the rows it dropped are gone: their reasons come from the stage's counts
        assert "stage reasons" in result.output and "stage counts" in result.output
    if rows:
        assert "first " in result.output and str(rows[0]["id"]) in result.output
    else:
        assert "no rows in this config" in result.output


def test_the_chain_produced_what_the_show_test_needs(curated_repo):
    scored = _stored_rows(curated_repo, "scored")
    assert any(row["response"] is None for row in scored), "a failed or skipped row has no response"
    assert any(row["error"] is None for row in scored) and any(row["error"] for row in scored)
    assert _stored_rows(curated_repo, "filtered") == [] and _stored_rows(curated_repo, "default") == []


@pytest.mark.parametrize("config", ["scored", "filtered"])
def test_json_summary_parses_and_matches_the_data(curated_repo, config):
    rows = _stored_rows(curated_repo, config)
    result = _show(curated_repo, "--config", config, "--json", "--rows", "2")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["repo"] == curated_repo and summary["config"] == config
    assert set(CONFIGS) <= set(summary["configs"])
    assert summary["rows"] == len(rows)
    counts = summary["stage_counts"]  # the manifest's counts of the same push
    assert counts["rows_out"] == len(rows)
    if config == "scored":  # failed rows stay in the data with their reason
        assert summary["failed_by_reason"] == dict(Counter(row["error"] for row in rows if row["error"]))
    else:  # filter keeps only passing rows: the reasons for the others are in the stage counts
        assert "failed_by_reason" not in summary
        assert counts["dropped"] == counts["rows_in"] == sum(counts["failed_by_reason"].values()) > 0
    assert summary["examples"] == json.loads(json.dumps(rows[:2], default=str))
    if config == "scored":
        scored = [row["score"] for row in rows if row["score"]]
        assert summary["scored_rows"] == len(scored)
        key = "Content_Safety_Compliance"
        assert summary["mean_scores"][key] == round(sum(s[key] for s in scored) / len(scored), 2)


def test_unknown_config_names_the_config_and_lists_the_real_ones(curated_repo):
    result = _show(curated_repo, "--config", "scoredd")
    assert result.exit_code == 2
    assert "'scoredd'" in result.output and "scored" in result.output and "classified" in result.output


def test_offline_show_reads_the_downloaded_snapshot(curated_repo):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from huggingface_hub import snapshot_download

    snapshot_download(curated_repo, repo_type="dataset")  # what `hf download REPO --repo-type dataset` does
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "COLUMNS": "80"}
    star1 = str(Path(sys.executable).with_name("star1"))
    for config in ("scored", "filtered"):
        args = [star1, "data", "show", curated_repo, "--config", config, "--json"]
        result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["rows"] == len(_stored_rows(curated_repo, config))
