"""Each stage end to end: local Hub in, scripted OpenAI-compatible server with faults, local Hub out."""

from __future__ import annotations

import json

import pytest

from star1_hub.curate.classify import classify_features
from star1_hub.curate.filter import final_features
from star1_hub.curate.pipeline import StageOptions, estimate_stage, run_stage
from star1_hub.curate.reason import reason_features
from star1_hub.curate.rewrite import rewrite_features
from star1_hub.data.schema import CATEGORIES, OTHER_LABEL, SAFETY_SCORE_KEYS
from star1_hub.policies import POLICY_VERSION, policies_for
from star1_hub.teacher import FAILURE_REASONS, EndpointConfig
from star1_hub.testing.scripted_server import ScriptedServer
from tests.plugins.curate import CURATE_QUESTIONS, StageResponder

FAULTS = {"rate_limit": 0.1, "server_error": 0.1, "malformed": 0.05, "length": 0.1, "content_filter": 0.05}
MODEL = "scripted-model"


def endpoint(server, structured: bool = True) -> EndpointConfig:
    return EndpointConfig(
        base_url=server.base_url,
        model=MODEL,
        concurrency=8,
        max_attempts=4,
        backoff_base_s=0.01,
        timeout_s=10,
        structured_output=structured,
    )


def load(repo_at_sha: str, config: str):
    from datasets import load_dataset

    repo, sha = repo_at_sha.split("@")
    return load_dataset(repo, config, revision=sha, split="train")


def assert_errors_are_reasons(rows, stage: str):
    for row in rows:
        if row["error"] is not None and row["error"].startswith(f"{stage}:"):
            reason = row["error"].split(":", 1)[1]
            assert reason in FAILURE_REASONS or reason in ("skipped_other", "bad_input"), row["error"]


@pytest.fixture
def scripted(stage_responder):
    with ScriptedServer(faults=FAULTS, responder=stage_responder, retry_after_s=0.01, seed=3) as server:
        yield server


def test_safety_chain_on_scripted_server_with_faults(questions_repo, curate_repo, scripted, stage_responder, tmp_path):
    out = curate_repo("star41k")
    ids = {i for i, _, _ in CURATE_QUESTIONS}

    # classify
    sha, counts, record = run_stage(
        "classify", questions_repo, out, endpoint=endpoint(scripted), cache_dir=tmp_path / "classify"
    )
    classified = load(f"{out}@{sha}", "classified")
    assert classified.features == classify_features()
    assert {r["id"] for r in classified} == ids
    assert counts.rows_in == counts.rows_out == len(ids) and counts.ok + counts.failed == len(ids)
    assert counts.ok == sum(r["error"] is None for r in classified)
    assert scripted.request_count > len(ids)  # the injected faults forced retries
    for row in classified:
        if row["error"] is None:
            assert 1 <= len(row["category"]) <= 4 and len(set(row["category"])) == len(row["category"])
            assert set(row["category"]) <= {*CATEGORIES, OTHER_LABEL}
            assert row["provenance"]["policy_version"] == POLICY_VERSION
            assert row["provenance"]["classifier"] == MODEL
        else:
            assert row["category"] is None
    assert_errors_are_reasons(classified, "classify")
    assert record["input"]["sha"] == questions_repo.split("@")[1]

    # reason: Other items are never sent
    sha, counts, _ = run_stage(
        "reason", f"{out}@{sha}", out, endpoint=endpoint(scripted), cache_dir=tmp_path / "reason"
    )
    reasoned = load(f"{out}@{sha}", "reasoned")
    assert reasoned.features == reason_features()
    others = [r for r in classified if r["error"] is None and OTHER_LABEL in r["category"]]
    assert others, "the scripted classifier labels the harmless questions Other"
    sent = stage_responder.questions("reason")
    for row in others:
        assert not any(row["question"] in prompt for prompt in sent)
    by_id = {r["id"]: r for r in reasoned}
    for row in classified:
        out_row = by_id[row["id"]]
        if row["error"] is not None:
            assert out_row["error"] == row["error"]  # upstream failures pass through unchanged
        elif OTHER_LABEL in row["category"]:
            assert out_row["error"] == "reason:skipped_other" and out_row["response"] is None
        elif out_row["error"] is None:
            assert out_row["response"].startswith("<think>\n") and out_row["response"].count("</think>") == 1
            assert out_row["provenance"]["policy_sha256"] == policies_for(row["category"])[1]
    assert counts.skipped == len(others)
    assert counts.upstream_errors == sum(r["error"] is not None for r in classified)
    assert_errors_are_reasons(reasoned, "reason")

    # score
    sha, counts, _ = run_stage("score", f"{out}@{sha}", out, endpoint=endpoint(scripted), cache_dir=tmp_path / "score")
    scored = load(f"{out}@{sha}", "scored")
    assert scored.features == reason_features(with_score=True)
    for row in scored:
        if row["error"] is None:
            assert set(row["score"]) == set(SAFETY_SCORE_KEYS) and all(0 <= v <= 10 for v in row["score"].values())
            assert row["provenance"]["judge"] == MODEL
        else:
            assert row["score"] is None
    assert_errors_are_reasons(scored, "score")

    # filter: only error-free, non-Other, all-10 rows survive, and the counts say why the others left
    sha, counts, _ = run_stage("filter", f"{out}@{sha}", out)
    filtered = load(f"{out}@{sha}", "filtered")
    assert filtered.features == final_features()
    expected = [r["id"] for r in scored if r["error"] is None and all(v == 10 for v in r["score"].values())]
    assert sorted(r["id"] for r in filtered) == sorted(expected)
    assert counts.rows_out + counts.dropped == counts.rows_in == len(ids)
    assert sum(counts.failed_by_reason.values()) == counts.dropped

    # select into the default config; fewer rows than asked → all kept and the note says so
    sha, counts, _ = run_stage("select", f"{out}@{sha}", out, options=StageOptions(n=len(ids) + 5), tag="build-1")
    selected = load(f"{out}@build-1", "default")
    assert len(selected) == len(filtered) == counts.rows_out
    assert "fewer than the requested" in counts.note

    # the card and manifest of the final commit describe every stage
    from huggingface_hub import HfApi, hf_hub_download

    files = HfApi().list_repo_files(out, repo_type="dataset", revision=sha)
    for config in ("classified", "reasoned", "scored", "filtered", "default"):
        assert f"plots/{config}.png" in files
    manifest = json.loads(open(hf_hub_download(out, "curation.json", repo_type="dataset", revision=sha)).read())
    assert manifest["configs"]["classified"]["accounting"]["succeeded"] >= 1
    assert manifest["configs"]["reasoned"]["params"]["temperature"] == 0.6
    readme = open(hf_hub_download(out, "README.md", repo_type="dataset", revision=sha)).read()
    assert POLICY_VERSION in readme and questions_repo.split("@")[1] in readme and MODEL in readme


def test_rerun_of_a_finished_stage_sends_nothing_and_gives_the_same_rows(questions_repo, curate_repo, tmp_path):
    responder = StageResponder()
    with ScriptedServer(responder=responder) as server:
        out = curate_repo("resume")
        sha1, counts1, _ = run_stage("classify", questions_repo, out, endpoint=endpoint(server), cache_dir=tmp_path)
        sent = server.request_count
        sha2, counts2, record = run_stage(
            "classify", questions_repo, out, endpoint=endpoint(server), cache_dir=tmp_path
        )
        assert server.request_count == sent
        assert record["accounting"]["cached_hits"] == len(CURATE_QUESTIONS)
    assert load(f"{out}@{sha1}", "classified").to_list() == load(f"{out}@{sha2}", "classified").to_list()
    assert sha1 != sha2 and counts1.ok == counts2.ok
    n = len(CURATE_QUESTIONS)  # the summary says where the answers came from
    assert (counts1.sent, counts1.cached, counts2.sent, counts2.cached) == (n, 0, 0, n)


def test_fenced_json_with_trailing_commas_parses_without_structured_output(questions_repo, curate_repo, tmp_path):
    with ScriptedServer(responder=StageResponder(fenced=True)) as server:
        out = curate_repo("fenced")
        sha, counts, _ = run_stage(
            "classify", questions_repo, out, endpoint=endpoint(server, structured=False), cache_dir=tmp_path
        )
    assert counts.ok == len(CURATE_QUESTIONS) and counts.failed == 0


def test_benign_chain_rewrite_reason_score_filter(questions_repo, curate_repo, tmp_path):
    responder = StageResponder(low_score_every=2)
    options = StageOptions(benign=True)
    with ScriptedServer(faults={"server_error": 0.1, "length": 0.1}, responder=responder, seed=5) as server:
        out = curate_repo("benign")
        sha, counts, _ = run_stage(
            "rewrite", questions_repo, out, endpoint=endpoint(server), options=options, cache_dir=tmp_path / "rw"
        )
        rewritten = load(f"{out}@{sha}", "rewritten")
        assert rewritten.features == rewrite_features()
        for row in rewritten:
            if row["error"] is None:
                assert row["question"].startswith("How do I bake bread") and row["original_question"]
                assert row["provenance"]["rewriter"] == MODEL
        sha, _, _ = run_stage(
            "reason", f"{out}@{sha}", out, endpoint=endpoint(server), options=options, cache_dir=tmp_path / "rs"
        )
        # benign reasoning prompts carry no policies
        assert all("Policy Objective" not in prompt for prompt in responder.questions("reason"))
        sha, _, _ = run_stage(
            "score", f"{out}@{sha}", out, endpoint=endpoint(server), options=options, cache_dir=tmp_path / "sc"
        )
        scored = load(f"{out}@{sha}", "scored")
        sha, counts, _ = run_stage("filter", f"{out}@{sha}", out, options=options)
    final = load(f"{out}@{sha}", "default")
    assert final.features == final_features(benign=True)
    expected = sorted(r["id"] for r in scored if r["error"] is None and set(r["score"].values()) == {5})
    assert sorted(final["id"]) == expected
    assert set(final["source"]) <= {"4o_rewrite"}
    assert counts.dropped == len(CURATE_QUESTIONS) - len(expected)


def test_dry_run_estimate_calls_nothing(questions_repo):
    from star1_hub.curate.versioning import load_stage_input

    source = load_stage_input(questions_repo, "collected")
    unreachable = EndpointConfig(base_url="http://127.0.0.1:9/v1", model="gpt-4o")
    estimate = estimate_stage(
        "classify", source.dataset, unreachable, StageOptions(), price_in_per_m=2.5, price_out_per_m=10.0
    )
    assert estimate["requests"] == len(CURATE_QUESTIONS)
    assert estimate["prompt_tokens_est"] > 100 * len(CURATE_QUESTIONS)
    assert estimate["cost_usd_est"] > 0


def test_bad_input_reference_names_the_problem(curate_repo):
    from star1_hub.curate.versioning import StageInputError, load_stage_input

    with pytest.raises(StageInputError, match="not found"):
        load_stage_input(curate_repo("missing") + "@main")
    with pytest.raises(StageInputError, match="org/name"):
        load_stage_input("no-slash")


def test_judge_answer_in_the_papers_fenced_format_parses_without_structured_output(
    questions_repo, curate_repo, tmp_path
):
    """The original judge prompt shows a fenced JSON example with a trailing comma; answers copying it are read."""
    with ScriptedServer(responder=StageResponder(fenced=True)) as server:
        out = curate_repo("fenced-score")
        plain = endpoint(server, structured=False)
        sha, _, _ = run_stage("classify", questions_repo, out, endpoint=plain, cache_dir=tmp_path / "c")
        sha, _, _ = run_stage("reason", f"{out}@{sha}", out, endpoint=plain, cache_dir=tmp_path / "r")
        sha, counts, _ = run_stage("score", f"{out}@{sha}", out, endpoint=plain, cache_dir=tmp_path / "s")
    assert counts.failed == 0 and counts.ok == len(CURATE_QUESTIONS) - counts.upstream_errors > 0
    scored = load(f"{out}@{sha}", "scored")
    assert all(set(r["score"]) == set(SAFETY_SCORE_KEYS) for r in scored if r["error"] is None)
