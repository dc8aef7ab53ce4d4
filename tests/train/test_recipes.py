"""Every recipe parses through TrlParser, carries the paper's hyper-parameters, and its stated hardware gives the
global batch it claims (128 for the paper recipes); the step table in the docs is what the recipes compute."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from star1_hub.train.arithmetic import arithmetic_table_rows
from star1_hub.train.config import RecipeError, global_batch_size, parse_recipe, read_recipe
from star1_hub.train.data import build_target
from star1_hub.train.launch import accelerate_command

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
R1_RECIPES = sorted(RECIPES.glob("DeepSeek-R1-Distill-*/sft/*.yaml"))
INSTRUCT_RECIPES = sorted(RECIPES.glob("*-Instruct/sft/*.yaml"))
PAPER_RECIPES = R1_RECIPES + INSTRUCT_RECIPES
SMOKE_RECIPES = sorted((RECIPES / "smoke").glob("sft_*.yaml"))
INSTRUCT_MODELS = {
    "Qwen2.5-1.5B-Instruct": "Qwen",
    "Qwen2.5-7B-Instruct": "Qwen",
    "Qwen2.5-14B-Instruct": "Qwen",
    "Qwen2.5-32B-Instruct": "Qwen",
    "Llama-3.1-8B-Instruct": "meta-llama",
}
RELEASED_ROWS = {"UCSC-VLAA/STAR-1": 1000, "UCSC-VLAA/STAR-benign-915": 915}
HEADER = re.compile(
    r"^# hardware: (?P<hw>.+?) \| per-device batch (?P<bs>\d+) x grad accumulation (?P<ga>\d+) x (?P<n>\d+) "
    r"(?:GPUs|process(?:es)?) = global batch (?P<total>\d+)$",
    re.MULTILINE,
)


def _parse(path: Path):
    # bf16 recipes are for GPUs: parse them the way `--dry-run` does on a CPU machine (no GPU check, no model).
    return parse_recipe(path, [], resolve_model=False, for_dry_run=True)


def test_all_expected_recipes_exist():
    models = {p.parts[-3] for p in R1_RECIPES}
    assert models == {f"DeepSeek-R1-Distill-Qwen-{s}" for s in ("1.5B", "7B", "14B", "32B")} | {
        "DeepSeek-R1-Distill-Llama-8B"
    }
    assert {p.name for p in R1_RECIPES} == {"config_star1.yaml", "config_star1_benign.yaml", "config_nothink.yaml"}
    assert len(R1_RECIPES) == 15 and len(SMOKE_RECIPES) == 3
    assert {p.parts[-3] for p in INSTRUCT_RECIPES} == set(INSTRUCT_MODELS)
    assert {p.name for p in INSTRUCT_RECIPES} == {"config_star1.yaml", "config_nothink.yaml"}


@pytest.mark.parametrize("path", PAPER_RECIPES + SMOKE_RECIPES, ids=lambda p: "/".join(p.parts[-3:]))
def test_recipe_parses_and_header_matches_batch(path):
    script, training, model = _parse(path)
    header = HEADER.search(path.read_text())
    assert header, f"{path} lacks the '# hardware: … = global batch N' header"
    bs, ga, n, total = (int(header[k]) for k in ("bs", "ga", "n", "total"))
    assert (bs, ga, n) == (
        training.per_device_train_batch_size,
        training.gradient_accumulation_steps,
        script.num_processes,
    )
    assert global_batch_size(script, training) == bs * ga * n == total
    assert script.hardware == header["hw"]
    if script.num_processes > 1:
        assert (RECIPES.parent / script.accelerate_config).is_file()


def _table_rows(text: str) -> list[str]:
    """Rows of the 8-column step table (other tables list recipes too)."""
    return [line for line in text.splitlines() if line.startswith("| `") and line.count(" | ") == 7]


def test_step_table_in_docs_is_what_the_recipes_compute():
    """recipes/README.md and docs/deviations.md carry the step / warm-up / repeated-sample table; recompute it."""
    recipes = []
    for path in PAPER_RECIPES:
        script, training, _ = _parse(path)
        names = [e["name"] for e in script.dataset_mixture] if script.dataset_mixture else [script.dataset_name]
        recipes.append((str(path.relative_to(RECIPES)), sum(RELEASED_ROWS[n] for n in names), script, training))
    expected = arithmetic_table_rows(recipes)
    assert _table_rows((RECIPES / "README.md").read_text()) == expected
    assert _table_rows((RECIPES.parent / "docs" / "deviations.md").read_text()) == expected
    # The layouts avoid accelerate's repeated rows wherever 1,000 rows split evenly over the processes.
    for line in expected:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[1] == "1000" and not cells[2].endswith("× 16"):
            assert cells[6] == "0", line


@pytest.mark.parametrize("path", PAPER_RECIPES, ids=lambda p: "/".join(p.parts[-3:]))
def test_paper_recipe_defaults(path):
    script, training, model = _parse(path)
    assert global_batch_size(script, training) == 128
    assert training.learning_rate == 1e-5 and training.num_train_epochs == 5
    assert str(training.lr_scheduler_type.value) == "cosine" and training.warmup_steps == 0.05
    assert (training.adam_beta1, training.adam_beta2, training.weight_decay) == (0.9, 0.95, 1e-4)
    assert training.max_length == 8192 and training.bf16 and training.gradient_checkpointing
    assert training.seed == 2002 and training.padding_free
    assert script.accelerate_config.endswith("zero3.yaml")
    assert script.loss_weighting == "per_sample"
    folder = path.parts[-3]
    if folder in INSTRUCT_MODELS:  # the paper's "traditional LLM" comparison (spec §8.2)
        assert model.model_name_or_path == f"{INSTRUCT_MODELS[folder]}/{folder}"
        assert script.chat_template == ("llama-3.1-instruct" if "Llama" in folder else "qwen2.5-instruct")
        assert script.base_flag == 1 and script.dataset_name == "UCSC-VLAA/STAR-1"
        # The original code's default for instruct models trains on the trace in think tags (think_flag 1);
        # answer-only is the "w/o think" variant.
        assert script.think_flag == (0 if path.name == "config_nothink.yaml" else 1)
        assert build_target("<think>\ntrace\n</think>\n\nanswer", script.think_flag, script.base_flag) == (
            "answer" if script.think_flag == 0 else "<think>\ntrace\n</think>\n\nanswer"
        )
        return
    assert model.model_name_or_path == f"deepseek-ai/{folder}"
    assert script.chat_template == ("r1-distill-llama" if "Llama" in folder else "r1-distill-qwen")
    if path.name == "config_nothink.yaml":
        assert script.think_flag == 0 and script.base_flag == 0
    elif path.name == "config_star1_benign.yaml":
        names = [entry["name"] for entry in script.dataset_mixture]
        assert names == ["UCSC-VLAA/STAR-1", "UCSC-VLAA/STAR-benign-915"] and script.think_flag == 1
    else:
        assert script.dataset_name == "UCSC-VLAA/STAR-1" and script.think_flag == 1


def test_32b_recipe_is_multi_node_and_launches_through_accelerate(tmp_path):
    path = RECIPES / "DeepSeek-R1-Distill-Qwen-32B/sft/config_star1.yaml"
    script, _, _ = _parse(path)
    assert script.num_machines == 2 and script.num_processes == 16
    script.machine_rank, script.main_process_ip = 1, "10.0.0.1"
    command = accelerate_command(path, ["--max_steps", "3"], script)
    joined = " ".join(command)
    assert "accelerate.commands.launch --config_file" in joined and command[
        command.index("--config_file") + 1
    ].endswith("recipes/accelerate_configs/zero3.yaml")
    for flag, value in (
        ("--num_processes", "16"),
        ("--num_machines", "2"),
        ("--machine_rank", "1"),
        ("--main_process_ip", "10.0.0.1"),
    ):
        assert command[command.index(flag) + 1] == value
    assert command[-6:] == ["-m", "star1_hub.train.sft", "--config", str(path), "--max_steps", "3"]


def test_packaged_recipes_are_the_checkout_ones():
    """One source of truth: recipes/smoke and recipes/accelerate_configs are symlinks into the package."""
    from star1_hub.train.resources import packaged_recipes_dir

    for name in ("smoke", "accelerate_configs"):
        assert (RECIPES / name).is_symlink()
        assert (RECIPES / name).resolve() == (packaged_recipes_dir() / name).resolve()


def test_packaged_recipe_is_found_outside_the_checkout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    script, training, _ = parse_recipe("recipes/smoke/sft_zero2.yaml", [], resolve_model=False)
    assert script.sources()[0].path.endswith("star1_hub/data/samples/star1_sample.json")
    command = accelerate_command("recipes/smoke/sft_zero2.yaml", [], script)
    assert Path(command[command.index("--config_file") + 1]).is_file()
    with pytest.raises(RecipeError, match="recipes/smoke/sft_full.yaml"):
        parse_recipe("recipes/smoke/no_such.yaml")


@pytest.mark.parametrize("name", ["ddp", "zero2", "zero3", "zero3_offload", "fsdp"])
def test_accelerate_configs(name):
    config = yaml.safe_load((RECIPES / "accelerate_configs" / f"{name}.yaml").read_text())
    expected = {"ddp": "MULTI_GPU", "fsdp": "FSDP"}.get(name, "DEEPSPEED")
    assert config["distributed_type"] == expected and config["use_cpu"] is False
    if expected == "DEEPSPEED":
        ds = config["deepspeed_config"]
        # an external deepspeed_config_file plus mixed_precision is rejected by accelerate (env-notes §5)
        assert "deepspeed_config_file" not in ds
        assert ds["zero_stage"] == (2 if name == "zero2" else 3)
        assert (ds["offload_param_device"] == "cpu") == (name == "zero3_offload")


def test_unknown_recipe_key_names_file_and_suggestion(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((RECIPES / "smoke/sft_full.yaml").read_text().replace("learning_rate:", "learning_rte:"))
    with pytest.raises(RecipeError, match=r"bad.yaml: unknown key 'learning_rte'; did you mean 'learning_rate'"):
        read_recipe(bad)


def test_unknown_override_is_rejected():
    with pytest.raises(RecipeError, match="unknown command-line override"):
        parse_recipe(RECIPES / "smoke/sft_full.yaml", ["--no_such_flag", "1"])


def test_bad_override_value_is_one_error_naming_the_value():
    with pytest.raises(RecipeError, match="invalid int value: 'two'") as excinfo:
        parse_recipe(RECIPES / "smoke/sft_full.yaml", ["--max_steps", "two"], resolve_model=False)
    assert "sft_full.yaml" in str(excinfo.value) and len(str(excinfo.value).splitlines()) == 1


def test_broken_yaml_names_file_and_line(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("learning_rate: 1.0e-5\nmax_steps: [2\n")
    with pytest.raises(RecipeError, match=r"broken.yaml is not valid YAML .* line 3"):
        read_recipe(bad)


def test_multi_process_recipe_requires_accelerate_config(tmp_path):
    bad = tmp_path / "multi.yaml"
    bad.write_text((RECIPES / "smoke/sft_full.yaml").read_text().replace("num_processes: 1", "num_processes: 4"))
    with pytest.raises(RecipeError, match="num_processes=4 needs `accelerate_config`"):
        parse_recipe(bad)
