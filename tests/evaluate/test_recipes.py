"""Recipes: the paper protocol's numbers, the DeepSeek sampling recipe, and sampled pass@1 over the endpoint."""

from __future__ import annotations

import pytest

from star1_hub.evaluate.generate import sampling_params
from star1_hub.evaluate.recipe import RecipeError, load_recipe
from star1_hub.evaluate.registry import all_tasks, select_tasks
from star1_hub.evaluate.runner import run_eval
from star1_hub.testing.scripted_server import ScriptedServer


def test_paper_protocol_numbers():
    paper = load_recipe("paper")
    tasks = all_tasks()
    assert paper.generation.temperature == 0 and paper.generation.repetition_penalty == 1.2 and paper.seed == 46
    budgets = {
        name: paper.budget_for(tasks[name])
        for name in ("strongreject", "xstest_safe", "aime24", "math500", "humaneval", "gpqa_diamond", "mmlu_pro")
    }
    assert budgets == {"strongreject": 8000, "xstest_safe": 8000, "aime24": 16384, "math500": 16384,
                       "humaneval": 16384, "gpqa_diamond": 32768, "mmlu_pro": 4096}  # fmt: skip
    params = sampling_params(paper, tasks["aime24"], 0)
    assert params == {"temperature": 0.0, "top_p": 1.0, "max_tokens": 16384, "seed": 46, "repetition_penalty": 1.2}


def test_deepseek_recipe_and_errors(tmp_path):
    deepseek = load_recipe("deepseek")
    assert (deepseek.generation.temperature, deepseek.generation.top_p, deepseek.samples_per_prompt) == (0.6, 0.95, 4)
    assert "repetition_penalty" not in sampling_params(deepseek, all_tasks()["math500"], 1)
    with pytest.raises(RecipeError, match="not found"):
        load_recipe("no-such-recipe")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ngeneration: {temprature: 1}\n")
    with pytest.raises(RecipeError, match="temprature"):
        load_recipe(bad)


def test_sampled_pass_at_1_over_the_endpoint(tmp_path):
    seen = []

    def responder(body):
        seen.append(body["seed"])
        return "</think>Answer: 56" if body["seed"] % 2 == 0 else "</think>Answer: 57"  # half the samples right

    math = [t for t in select_tasks("demo") if t.name == "demo_math"]
    with ScriptedServer(responder=responder) as server:
        run = run_eval("x/m", math, load_recipe("deepseek"), tmp_path, base_url=server.base_url, served_model="m",
                       max_samples=1, cache_dir=tmp_path / "cache")  # fmt: skip
    assert sorted(seen) == [46, 47, 48, 49]  # one request per sample, seeds offset by the sample index
    metrics = run.results["tasks"]["demo_math"]
    assert metrics["n_samples"] == 4 and metrics["pass@1"]["samples_per_prompt"] == 4
    assert metrics["headline"] == pytest.approx(50.0)
