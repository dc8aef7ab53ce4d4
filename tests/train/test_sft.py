"""Real CPU training of the embedded model: full and LoRA runs reload and generate, runs resume from their last
checkpoint, a 2-process DeepSpeed ZeRO-2 run works, and a run is pushed to the local Hub with its model card."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from star1_hub.train.demo import train_demo_model

pytestmark = pytest.mark.slow
# Three xdist groups instead of one per module: the tests that read one run share a group (the run is made once),
# and the three runs (full, LoRA + resume, ZeRO-2) can go to different workers.
FULL_RUN = pytest.mark.xdist_group("heavy:tests/train/test_sft.py:full")
LORA_RUN = pytest.mark.xdist_group("heavy:tests/train/test_sft.py:lora")
ZERO2_RUN = pytest.mark.xdist_group("heavy:tests/train/test_sft.py:zero2")
RECIPES = Path(__file__).resolve().parents[2] / "recipes"
HUB_DATA = "star1-test/star1-short"
AUTO_PUSH_REPO = "star1-test/smollm2-lora-recipe-push"


SMOKE_COMMAND = ["train", "recipes/smoke/sft_full.yaml", "--max_steps", "2", "--output_dir", "run"]


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, embedded_model) -> Path:
    """`star1 train recipes/smoke/sft_full.yaml --max_steps 2` as a new user runs it, from a fresh directory: no
    ../shared, no checkout files under the working directory (the recipe and its 20-row sample come from the
    package). The one full fine-tuning run of this module: the full-SFT tests read its output."""
    from typer.testing import CliRunner

    from star1_hub.cli import app

    fresh = tmp_path_factory.mktemp("fresh")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(fresh)
        patch.setenv("STAR1_SHARED_DATA", str(fresh / "absent"))
        assert not (fresh / "recipes").exists()
        result = CliRunner().invoke(app, SMOKE_COMMAND)
    assert result.exit_code == 0, result.output
    return fresh / "run"


# The LoRA run's data: the 12 shortest rows of the 20-row STAR-1-format sample shipped in the package (about
# 100-140 tokens in the embedded template, half as long as the 12 shortest released rows); a LoRA step's cost is the
# forward and backward of its tokens, and what the LoRA tests check does not depend on the rows' length.
PACKAGED_SAMPLE = Path(__file__).resolve().parents[2] / "star1_hub" / "data" / "samples" / "star1_sample.json"


@pytest.fixture(scope="module")
def lora_run(local_hub, tmp_path_factory) -> Path:
    """LoRA run on data read from the local Hub at a branch, with a checkpoint after every step."""
    from datasets import Dataset
    from huggingface_hub import HfApi

    sample = json.loads(PACKAGED_SAMPLE.read_text())
    shortest = sorted(sample, key=lambda r: len(r["question"]) + len(r["response"]))[:12]
    rows = [{k: row[k] for k in ("id", "question", "response", "source")} for row in shortest]
    Dataset.from_list(rows[:2]).push_to_hub(HUB_DATA)
    HfApi().create_branch(HUB_DATA, repo_type="dataset", branch="release", exist_ok=True)
    Dataset.from_list(rows).push_to_hub(HUB_DATA, revision="release")
    return train_demo_model(
        HUB_DATA,
        tmp_path_factory.mktemp("lora") / "out",
        max_steps=2,
        revision="release",
        method="lora",
        extra_overrides=[
            "--save_strategy",
            "steps",
            "--save_steps",
            "1",
            "--push_to_hub",
            "true",
            "--hub_model_id",
            AUTO_PUSH_REPO,
            "--hub_revision",
            "auto",
        ],
    )


def _generate(model, tokenizer) -> tuple[int, int]:
    import torch

    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "How do I stay safe online?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    with torch.no_grad():
        out = model.generate(**prompt, max_new_tokens=6, do_sample=False)
    return prompt["input_ids"].shape[1], out.shape[1]


@FULL_RUN
def test_full_sft_saves_a_model_that_reloads_and_generates(full_run, embedded_model):
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    record = json.loads((full_run / "star1_training.json").read_text())
    assert record["global_step"] == 2 and len([e for e in record["log_history"] if "loss" in e]) == 2
    assert record["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    tokenizer = AutoTokenizer.from_pretrained(full_run)
    # Saved with the base model's own inference template (the training template's markers stay in training).
    assert tokenizer.chat_template == AutoTokenizer.from_pretrained(embedded_model).chat_template
    assert record["inference_chat_template"] == "the base tokenizer's own chat template"
    model = AutoModelForCausalLM.from_pretrained(full_run, dtype=torch.float32)
    n_prompt, n_total = _generate(model, tokenizer)
    assert n_total > n_prompt
    before, after = load_file(embedded_model / "model.safetensors"), load_file(full_run / "model.safetensors")
    changed = [k for k in after if not torch.equal(before[k], after[k])]
    assert changed, "two optimizer steps at lr 1e-5 must change the weights"
    assert (full_run / "training_loss.png").read_bytes()[:4] == b"\x89PNG"


@LORA_RUN
def test_lora_sft_on_hub_data_reloads_and_generates(lora_run):
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoTokenizer

    record = json.loads((lora_run / "star1_training.json").read_text())
    assert record["num_train_rows"] == 12  # the `release` branch, not the 2-row main
    assert record["datasets"][0]["name"] == HUB_DATA and record["datasets"][0]["revision"] == "release"
    assert (lora_run / "adapter_model.safetensors").is_file() and (lora_run / "checkpoint-2").is_dir()
    model = AutoPeftModelForCausalLM.from_pretrained(lora_run)
    n_prompt, n_total = _generate(model, AutoTokenizer.from_pretrained(lora_run))
    assert n_total > n_prompt


@LORA_RUN
def test_training_resumes_from_last_checkpoint(lora_run, tmp_path):
    """Mark checkpoint-2's adapter with a sentinel value; a resumed run continues from it, a fresh one could not."""
    import torch
    from safetensors.torch import load_file, save_file

    run = tmp_path / "resumed"
    shutil.copytree(lora_run, run, ignore=shutil.ignore_patterns("checkpoint-1"))
    adapter = run / "checkpoint-2" / "adapter_model.safetensors"
    weights = load_file(adapter)
    key = next(k for k in weights if "lora_B" in k)
    weights[key] = torch.full_like(weights[key], 0.5)
    save_file(weights, adapter, metadata={"format": "pt"})

    train_demo_model(
        HUB_DATA,
        run,
        max_steps=3,
        revision="release",
        method="lora",
        extra_overrides=["--save_strategy", "steps", "--save_steps", "1"],
    )
    record = json.loads((run / "star1_training.json").read_text())
    assert record["global_step"] == 3
    final = load_file(run / "adapter_model.safetensors")[key]
    assert torch.allclose(final, torch.full_like(final, 0.5), atol=0.01)  # one step of lr 2e-4 from the sentinel


@LORA_RUN
def test_push_with_model_card(lora_run, local_hub):
    from huggingface_hub import HfApi, ModelCard, hf_hub_download

    from star1_hub.train.publish import push_trained_model

    repo = "star1-test/smollm2-star1-lora"
    sha = push_trained_model(lora_run, repo, revision="exp-1")
    assert re.fullmatch(r"[0-9a-f]{40}", sha)
    api = HfApi()
    branches = {b.name: b.target_commit for b in api.list_repo_refs(repo).branches}
    assert branches["exp-1"] == sha
    files = set(api.list_repo_files(repo, revision="exp-1"))
    assert {
        "README.md",
        "training_loss.png",
        "adapter_model.safetensors",
        "tokenizer.json",
        "chat_template.jinja",
        "star1_training.json",
    } <= files
    assert not any(f.startswith("checkpoint-") for f in files)
    card = ModelCard.load(hf_hub_download(repo, "README.md", revision="exp-1"))
    data = card.data.to_dict()
    assert data["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert data["datasets"] == [HUB_DATA]
    assert data["model-index"] == [{"name": "smollm2-star1-lora", "results": []}]
    text = card.text
    assert f"`{HUB_DATA}` | `release` → `" in text  # dataset with requested and resolved revision
    assert "use_peft: true" in text and "lora_target_modules" in text  # recipe YAML embedded
    assert "| learning_rate | 0.0002 |" in text and "| global_batch_size | 2 |" in text
    assert "Hardware the recipe is sized for: CPU, 1 process" in text
    assert "![training loss](training_loss.png)" in text
    assert re.search(r"- trl 1\.\d+\.\d+", text) and "arXiv:2504.01903" in text
    assert "## Intended use and limitations" in text


@LORA_RUN
def test_recipe_push_to_hub_pushes_once_at_the_end(lora_run, local_hub):
    """`push_to_hub: true` in a recipe pushes the final model with its card to hub_model_id@hub_revision."""
    from huggingface_hub import HfApi

    api = HfApi()
    assert "auto" in {b.name for b in api.list_repo_refs(AUTO_PUSH_REPO).branches}
    files = set(api.list_repo_files(AUTO_PUSH_REPO, revision="auto"))
    assert {"README.md", "adapter_model.safetensors", "training_loss.png"} <= files
    assert not any(f.startswith("checkpoint-") for f in files)
    commits = api.list_repo_commits(AUTO_PUSH_REPO, revision="auto")
    assert sum("STAR-1 SFT" in c.title for c in commits) == 1  # no intermediate checkpoint pushes


# The ZeRO-2 run loads the embedded model truncated to its first 2 decoder layers (`num_hidden_layers` through the
# recipe's `model_init_kwargs`, as tests/train/test_loss_weighting.py does): the path under test (`accelerate
# launch` with the DeepSpeed config, two gloo ranks, partitioned optimizer states, gradient reduce-scatter, the
# gathered save) does not depend on the depth, while 30 layers made each rank's steps, its ZeRO buffers and the save
# several times as expensive. The saved model still holds the full embedding matrix (> 100 MB).
ZERO2_LAYERS = 2


@ZERO2_RUN
def test_zero2_two_cpu_processes(short_star1_jsonl, tmp_path):
    from transformers import AutoConfig

    from star1_hub.train.launch import train_recipe

    out = train_recipe(
        RECIPES / "smoke/sft_zero2.yaml",
        [
            "--dataset_name",
            str(short_star1_jsonl),
            "--output_dir",
            str(tmp_path / "z2"),
            "--model_init_kwargs",
            json.dumps({"num_hidden_layers": ZERO2_LAYERS}),
        ],
    )
    record = json.loads((out / "star1_training.json").read_text())
    assert record["global_step"] == 2 and record["hyperparameters"]["num_processes"] == 2
    assert record["hardware_used"].endswith("x 2 process(es)")
    assert len([e for e in record["log_history"] if "loss" in e]) == 2
    config = AutoConfig.from_pretrained(out)
    assert config.model_type == "llama" and config.num_hidden_layers == ZERO2_LAYERS  # the ranks got the override
    assert (out / "model.safetensors").stat().st_size > 100_000_000


@FULL_RUN
def test_smoke_recipe_trains_from_a_fresh_directory(full_run):
    """The record of `star1 train recipes/smoke/sft_full.yaml --max_steps 2` run from a fresh directory (the
    `full_run` fixture): the packaged recipe and sample, the command line, the effective recipe."""
    record = json.loads((full_run / "star1_training.json").read_text())
    assert record["global_step"] == 2 and record["num_train_rows"] == 20
    assert record["datasets"][0]["name"] == "star1_sample.json"
    assert record["recipe_path"] == "recipes/smoke/sft_full.yaml"
    assert record["command"] == "star1 train recipes/smoke/sft_full.yaml --max_steps 2 --output_dir run"
    effective = record["effective_recipe"]
    assert effective["max_steps"] == 2 and effective["output_dir"] == "run" and effective["max_length"] == 512
    assert "num_train_epochs" not in effective  # no effect when max_steps is set
    assert effective["model_name_or_path"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert record["loss_weighting"] == "per_sample"
