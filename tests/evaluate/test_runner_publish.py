"""`run_eval` over the endpoint backend (scripted OpenAI-compatible servers), caching, and publishing to the
local Hub: details dataset, model-card model-index, leaderboard README and plot."""

from __future__ import annotations

import json
import uuid

import pyarrow.parquet as pq
import pytest

from star1_hub.evaluate.judge import JudgeConfig
from star1_hub.evaluate.judges.guard import INSTRUCTED_GUARD_SYSTEM
from star1_hub.evaluate.judges.refusal import REFUSAL_JUDGE_SYSTEM
from star1_hub.evaluate.judges.strongreject import RUBRIC_SYSTEM
from star1_hub.evaluate.recipe import load_recipe
from star1_hub.evaluate.registry import select_tasks
from star1_hub.evaluate.runner import run_eval
from star1_hub.testing.scripted_server import ScriptedServer


def generator(body):
    prompt = body["messages"][-1]["content"]
    if "Answer: $ANSWER" in prompt:
        return "<think>maybe \\boxed{1}</think>\nAnswer: 56" if "7 \\times 8" in prompt else "</think>Answer: 0"
    if "?" in prompt:
        return "<think>Risky? No.</think>Sure, here is a short answer."
    return "<think>Risky.</think>I'm sorry, I can't help."


def judge(body):
    first = body["messages"][0]
    if first["role"] == "system" and first["content"] == RUBRIC_SYSTEM:
        return json.dumps({"refused": 1, "convincing": 1, "specific": 1})
    if first["role"] == "system" and first["content"] == REFUSAL_JUDGE_SYSTEM:
        reply = body["messages"][-1]["content"]
        return json.dumps({"label": "2_full_refusal" if "sorry" in reply else "1_full_compliance"})
    assert first["content"] == INSTRUCTED_GUARD_SYSTEM and "response_format" in body  # cpu-demo: guard_mode instructed
    unsafe = "Sure" in body["messages"][-1]["content"].split("[ASSISTANT]", 1)[1]
    return json.dumps({"verdict": "unsafe", "category": "S1"} if unsafe else {"verdict": "safe", "category": "none"})


@pytest.fixture
def servers():
    with (
        ScriptedServer(responder=generator, faults={"length": 0.25}, seed=3) as gen,
        ScriptedServer(responder=judge) as jdg,
    ):
        yield gen, jdg


def _run(gen, jdg, out, cache, model="evaltest/tiny"):
    return run_eval(
        model,
        select_tasks("demo"),
        load_recipe("cpu-demo"),
        out,
        backend="endpoint",
        base_url=gen.base_url,
        served_model="tiny",
        cache_dir=cache,
        judge=JudgeConfig.from_flags(jdg.base_url, "judge", jdg.base_url, "judge", cache_dir=cache, note="scripted"),
    )


def test_run_eval_records_everything_and_reruns_for_free(servers, tmp_path):
    gen, jdg = servers
    run = _run(gen, jdg, tmp_path / "run1", tmp_path / "cache")
    results = json.loads(run.results_path.read_text())
    recipe = results["config"]["recipe"]
    assert (
        recipe["seed"] == 46
        and recipe["generation"]["repetition_penalty"] == 1.2
        and recipe["budgets"]["safety"] == 64
    )
    assert results["config"]["task_sources"]["demo_math"].endswith("demo_math.jsonl")
    assert set(results["tasks"]) == {"demo_xstest", "demo_harmful", "demo_math"}
    assert results["judge"]["note"] == "scripted"

    details = {name: pq.read_table(path).to_pylist() for name, path in run.detail_paths.items()}
    assert sum(len(v) for v in details.values()) == 20
    truncated = sum(s["finish_reason"] == "length" for v in details.values() for s in v)
    assert truncated > 0 and results["summary"]["truncated"] == truncated  # injected length faults are counted
    assert all(s["truncated"] == (s["finish_reason"] == "length") for v in details.values() for s in v)
    reasoning = results["config"]["reasoning"]
    assert reasoning["reasoning_model"] and reasoning["decided_by"] == "outputs contain think tags"
    assert results["model"]["revision_sha"] is None and "evaltest/tiny" in results["model"]["revision_note"]
    math = results["tasks"]["demo_math"]
    expected = sum(s["score"] for s in details["demo_math"]) / 4 * 100
    assert math["headline"] == pytest.approx(expected)
    for s in details["demo_math"]:
        if "7 \\times 8" in s["prompt"] and s["finish_reason"] == "stop":
            assert s["extracted"] == "56" and s["score"] == 1.0  # the \boxed{1} in the trace did not count
    harmful = results["tasks"]["demo_harmful"]
    assert harmful["safety_rate_full"]["n"] + harmful["safety_rate_full"]["n_excluded"] == 8
    assert "strongreject_score" in harmful and "safety_rate_answer" in harmful
    assert results["summary"]["safety_average"] == harmful["headline"]
    assert results["summary"]["reasoning_average"] == math["headline"]

    sent_gen, sent_judge = gen.request_count, jdg.request_count
    again = _run(gen, jdg, tmp_path / "run2", tmp_path / "cache")
    assert (gen.request_count, jdg.request_count) == (sent_gen, sent_judge)  # everything came from the cache
    assert again.results["tasks"] == results["tasks"]
    assert again.results["accounting"]["generation"]["requests_sent"] == 0


def test_publish_to_local_hub(servers, tmp_path, local_hub):
    from huggingface_hub import HfApi, ModelCard, hf_hub_download

    from star1_hub.evaluate.publish import publish
    from star1_hub.leaderboard import load_rows

    org = f"evaltest{uuid.uuid4().hex[:6]}"
    model_repo = f"{org}/tiny"
    api = HfApi()
    api.create_repo(model_repo, exist_ok=True)
    api.upload_file(
        path_or_fileobj=b"---\nlicense: apache-2.0\n---\n# tiny\n", path_in_repo="README.md", repo_id=model_repo
    )

    gen, jdg = servers
    tasks = {t.name: t for t in select_tasks("demo")}
    sha_evaluated = api.model_info(model_repo).sha
    run = _run(gen, jdg, tmp_path / "run", tmp_path / "cache", model=model_repo)
    published = publish(run, org, tasks, "demo", model_repo)

    # a Hub id without @revision: the commit it resolved to is recorded with the results
    assert run.results["model"]["revision"] is None
    assert run.results["model"]["revision_sha"] == sha_evaluated
    card = ModelCard.load(model_repo)
    assert card.data.license == "apache-2.0"  # existing metadata kept
    entries = {(r.dataset_name, r.metric_type): r.metric_value for r in card.data.eval_results}
    assert entries[("demo_math", "pass@1")] == pytest.approx(round(run.results["tasks"]["demo_math"]["headline"], 2))
    assert ("demo_xstest", "compliance_rate_llm") in entries
    assert published["model_card_entries"] == len(card.data.eval_results)

    files = set(api.list_repo_files(published["details_repo"], repo_type="dataset"))
    assert {"demo_math/details.parquet", "demo_harmful/details.parquet", "results.json", "README.md"} <= files
    readme = open(hf_hub_download(published["details_repo"], "README.md", repo_type="dataset")).read()
    assert "config_name: demo_xstest" in readme

    board = published["leaderboard_repo"]
    assert board == f"{org}/star1-leaderboard"
    assert "safety_vs_reasoning.png" in api.list_repo_files(board, repo_type="dataset")
    rows = load_rows(org)
    assert len(rows) == 1 and rows[0]["task:demo_math"] == run.results["tasks"]["demo_math"]["headline"]
    assert rows[0]["safety_average"] == run.results["summary"]["safety_average"] is not None

    publish(run, org, tasks, "demo", model_repo)  # re-publishing replaces, never duplicates
    assert len(load_rows(org)) == 1
    assert len(ModelCard.load(model_repo).data.eval_results) == published["model_card_entries"]


def test_rejudge_reuses_generations(servers, tmp_path):
    from star1_hub.evaluate.runner import rejudge

    gen, jdg = servers
    run = _run(gen, jdg, tmp_path / "run", tmp_path / "cache")
    sent_gen = gen.request_count
    # a different judge model on the same server: new judge requests, no generation requests
    before = jdg.request_count
    judge_2 = JudgeConfig.from_flags(jdg.base_url, "judge-2", jdg.base_url, "judge-2", cache_dir=tmp_path / "cache")
    again = rejudge(run.output_dir, judge_2)
    assert gen.request_count == sent_gen and jdg.request_count > before
    assert again.results["judge"]["model"] == "judge-2"
    assert again.results["tasks"]["demo_math"] == run.results["tasks"]["demo_math"]  # reasoning untouched
    after = jdg.request_count
    rejudge(
        run.output_dir,
        JudgeConfig.from_flags(jdg.base_url, "judge-2", jdg.base_url, "judge-2", cache_dir=tmp_path / "cache"),
    )
    assert jdg.request_count == after  # a finished judgement costs 0 requests
