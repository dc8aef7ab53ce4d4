"""Model cards tell the truth: effective recipe values and command, the base model's license, and an Evaluation
section regenerated from `model-index` with the samples each score rests on."""

from __future__ import annotations

import pytest
import yaml
from huggingface_hub import EvalResult, ModelCard

from star1_hub.cards import render_card, template_names
from star1_hub.cards.model_card import (
    EVAL_END,
    EVAL_START,
    NO_SCORES,
    base_model_license,
    sample_args,
    with_evaluation_section,
)
from star1_hub.hub.card_push import push_card

CONTEXT = {
    "model_id": "org/tuned",
    "model_name": "tuned",
    "revision": "main",
    "base_model": "HuggingFaceTB/SmolLM2-135M-Instruct",
    "base_model_revision": "main",
    "datasets": [{"name": "org/STAR-1", "revision": "v1", "sha": "a" * 40, "weight": 1.0}],
    "hub_datasets": ["org/STAR-1"],
    "num_train_rows": 20,
    "recipe_path": "recipes/smoke/sft_full.yaml",
    "recipe_yaml": "max_steps: 2\ndataset_name: ../shared/data/STAR-1.json\nnum_train_epochs: 3.0",
    "chat_template": "r1-qwen",
    "think_flag": 1,
    "base_flag": 0,
    "hyperparameters": {"learning_rate": 1e-5, "max_steps": 4},
    "hardware_stated": "CPU",
    "hardware_used": "2 CPU cores",
    "global_step": 4,
    "final_loss": "1.2345",
    "loss_curve": "training_loss.png",
    "framework_versions": {"trl": "1.16.0"},
    "citation": "@article{x}",
}


def _front_matter(card: str) -> dict:
    return yaml.safe_load(card.split("---\n", 2)[1])


def test_templates_are_package_data():
    assert {"model_card.md.jinja", "dataset_card.md.jinja", "leaderboard_readme.md.jinja"} <= set(template_names())
    with pytest.raises(ValueError, match="model_card.md.jinja"):
        render_card("no_such_card.md.jinja")


def test_model_card_shows_effective_values_command_and_license():
    card = render_card(
        "model_card.md.jinja",
        **CONTEXT,
        license="apache-2.0",
        command="star1 train recipes/smoke/sft_full.yaml --max_steps 4 --dataset_name org/STAR-1@v1",
        effective_recipe={"max_steps": 4, "dataset_name": "org/STAR-1@v1", "learning_rate": 1e-5},
    )
    assert _front_matter(card)["license"] == "apache-2.0"
    assert "--max_steps 4 --dataset_name org/STAR-1@v1" in card
    recipe = card.split("Effective values", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    assert yaml.safe_load(recipe) == {"max_steps": 4, "dataset_name": "org/STAR-1@v1", "learning_rate": 1e-5}
    assert "num_train_epochs" not in card and "../shared/data" not in card and "max_steps: 2" not in card
    assert EVAL_START in card and NO_SCORES in card


def test_model_card_of_an_older_caller_still_renders_the_raw_recipe():
    card = render_card("model_card.md.jinja", **CONTEXT)
    assert "max_steps: 2" in card and _front_matter(card)["license"] == "other"


def _result(name: str, value: float, n: int, full: int, recipe: str = "cpu-demo") -> EvalResult:
    return EvalResult(
        task_type="text-generation",
        dataset_type=f"star1-hub/{name}",
        dataset_name=name,
        metric_type="pass@1",
        metric_value=value,
        metric_name=f"pass@1 % [{recipe}]",
        metric_args=sample_args(n, n, full),
        source_name="star1-hub",
        source_url="http://hub/datasets/org/details_tuned",
    )


def test_evaluation_section_is_regenerated_with_scores_and_samples():
    card = render_card("model_card.md.jinja", **CONTEXT, license="apache-2.0")
    first = with_evaluation_section(card, [_result("math500", 12.5, 8, 500)])
    assert "| math500 | pass@1 % [cpu-demo] | 12.5 | 8 / 500 ⚠ |" in first and NO_SCORES not in first
    second = with_evaluation_section(first, [_result("math500", 14.0, 500, 500), _result("aime24", 3.3, 30, 30)])
    assert second.count(EVAL_START) == 1 and second.count(EVAL_END) == 1
    assert "| math500 | pass@1 % [cpu-demo] | 14.0 | 500 / 500 |" in second and "12.5" not in second
    assert "| aime24 |" in second and "## Intended use" in second


def test_evaluation_section_replaces_a_hand_written_one():
    text = "# m\n\n## Evaluation\n\nuntil then there are none.\n\n## Citation\n\nx\n"
    out = with_evaluation_section(text, [_result("aime24", 3.3, 30, 30)])
    assert "until then" not in out and out.index(EVAL_START) < out.index("## Citation")


def test_card_with_scores_round_trips_through_the_hub(hub_api, make_repo_id):
    repo_id = make_repo_id("model-card")
    hub_api.create_repo(repo_id)
    push_card(render_card("model_card.md.jinja", **CONTEXT, license="apache-2.0"), repo_id)
    card = ModelCard.load(repo_id)
    card.data.eval_results = [_result("math500", 12.5, 8, 500)]
    card.data.model_name = "tuned"
    card.text = with_evaluation_section(card.text, card.data.eval_results)
    push_card(str(card), repo_id)
    loaded = ModelCard.load(repo_id)
    assert loaded.data.eval_results[0].metric_args == {"n_prompts": 8, "n_samples": 8, "full_set": 500}
    assert "| math500 | pass@1 % [cpu-demo] | 12.5 | 8 / 500 ⚠ |" in loaded.text


def test_license_follows_the_base_model(hub_api, make_repo_id):
    base = make_repo_id("base")
    hub_api.create_repo(base)
    push_card("---\nlicense: llama3.1\n---\n# base\n", base)
    assert base_model_license(base) == "llama3.1"
    assert base_model_license("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B") == "mit"  # not on this Hub: known table
    assert base_model_license("nobody/unknown-model") == "other"


def test_star1_eval_publish_regenerates_the_evaluation_section(hub_api, make_repo_id):
    """`update_model_card` (what `star1 eval --org` runs) fills model-index AND the readable score table."""
    from star1_hub.evaluate.publish import update_model_card
    from star1_hub.evaluate.registry import get_task
    from tests.leaderboard.fixtures import make_results

    repo_id = make_repo_id("eval-card")
    hub_api.create_repo(repo_id)
    push_card(render_card("model_card.md.jinja", **CONTEXT, license="apache-2.0"), repo_id)
    results = make_results(repo_id, n_prompts=3)
    results["config"]["task_sources"] = {}
    tasks = {name: get_task(name) for name in results["tasks"]}
    entries = update_model_card(repo_id, results, tasks, "http://hub/datasets/org/details")
    card = ModelCard.load(repo_id)
    assert len(card.data.eval_results) == entries and NO_SCORES not in card.text
    assert "| demo_harmful | safety rate (guard, full output) % [cpu-demo] | 50.0 | 3 / 8 ⚠ |" in card.text
    update_model_card(repo_id, make_results(repo_id, n_prompts=8) | {"config": results["config"]}, tasks, "u")
    again = ModelCard.load(repo_id)
    assert again.text.count(EVAL_START) == 1 and "| 50.0 | 8 / 8 |" in again.text
