"""`star1 eval run` end to end on CPU with the embedded model (in-process lighteval backend), and `star1 eval tasks`
(`--list-tasks` kept as an alias)."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from tests.evaluate.eval_roles import eval_app


@pytest.fixture(scope="module")
def app():
    return eval_app()


@pytest.mark.parametrize("args", [["eval", "tasks"], ["eval", "--list-tasks"]])
def test_list_tasks(app, args):
    result = CliRunner().invoke(app, args, env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    for name in (
        "strongreject",
        "jbb",
        "wildchat",
        "wildjailbreak",
        "xstest_safe",
        "xstest_unsafe",
        "aime24",
        "math500",
        "gpqa_diamond",
        "mmlu_pro",
        "humaneval",
        "demo_math",
    ):
        assert name in result.output
    assert "JailbreakBench/JBB-Behaviors" in result.output and "313" in result.output


@pytest.mark.slow
def test_star1_eval_inprocess_cpu(app, embedded_model, eval_task_sources, tmp_path):
    recipe = yaml.safe_load(open("recipes/eval/cpu-demo.yaml"))
    recipe |= {"name": "cpu-tiny", "budgets": {"safety": 6, "default": 6}}  # a few tokens: this checks plumbing
    recipe_path = tmp_path / "cpu-tiny.yaml"
    recipe_path.write_text(yaml.safe_dump(recipe))
    out = tmp_path / "out"
    args = [
        "eval",
        "run",
        "--model",
        str(embedded_model),
        "--tasks",
        "xstest_safe,math500",
        "--recipe",
        str(recipe_path),
        "--backend",
        "inprocess",
        "--max-samples",
        "2",
        "--output-dir",
        str(out),
    ]
    for name in ("xstest_safe", "math500"):
        args += ["--task-source", f"{name}={eval_task_sources[name]}"]
    before = sorted(p.name for p in embedded_model.iterdir())
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["backend"] == "inprocess" and results["config"]["recipe"]["name"] == "cpu-tiny"
    for name in ("xstest_safe", "math500"):
        metrics = results["tasks"][name]
        assert metrics["n_prompts"] == 2 and metrics["n_samples"] == 2
        details = pq.read_table(out / "details" / f"{name}.parquet").to_pylist()
        assert all(0 < s["completion_tokens"] <= 6 for s in details)  # the recipe's budget was applied
        # a generation that used the whole budget without EOS is recorded as truncated and counted
        assert [s["finish_reason"] for s in details] == [
            "length" if s["completion_tokens"] == 6 else "stop" for s in details
        ]
        assert metrics["truncated"] == sum(s["finish_reason"] == "length" for s in details)
    assert results["tasks"]["xstest_safe"]["headline_metric"] == "compliance_rate_string_match"
    assert results["judge"] is None and results["timings"]["generate_s"] > 0
    # the model folder is left clean (lighteval's sample cache is disabled)
    assert sorted(p.name for p in embedded_model.iterdir()) == before


def test_inprocess_backend_leaves_autograd_on(embedded_model):
    """lighteval disables autograd process-wide when its transformers backend loads; we restore the caller's mode."""
    import torch

    from star1_hub.evaluate.generate import load_inprocess_model
    from star1_hub.evaluate.recipe import load_recipe

    assert torch.is_grad_enabled()
    load_inprocess_model(str(embedded_model), None, load_recipe("cpu-demo"))
    assert torch.is_grad_enabled()
