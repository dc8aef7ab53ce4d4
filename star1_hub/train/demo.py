"""A few CPU training steps of the embedded model, for `make demo` and quick end-to-end checks."""

from __future__ import annotations

import logging
from pathlib import Path

from star1_hub.train.resources import packaged_recipes_dir

logger = logging.getLogger(__name__)

# Packaged with star1_hub (read through importlib.resources), so the demo runs from an installed wheel too.
SMOKE_RECIPES = {"full": "smoke/sft_full.yaml", "lora": "smoke/sft_lora.yaml"}


def train_demo_model(
    dataset_path_or_repo: str | Path,
    output_dir: str | Path,
    max_steps: int = 4,
    revision: str | None = None,
    method: str = "full",
    max_length: int = 512,
    extra_overrides: list[str] | None = None,
) -> Path:
    """Fine-tune the embedded SmolLM2-135M on a STAR-1-shaped dataset for a few steps on CPU.

    Args:
        dataset_path_or_repo: a local .json/.jsonl/.parquet file (or folder) or a Hub dataset repo id.
        output_dir: where the model, tokenizer (with the base model's inference chat template),
            `star1_training.json` and `training_loss.png` are written; push it with `push_trained_model(output_dir, repo_id)`.
        max_steps: optimizer steps (batch 2 each; ~10-20 s per step on 2 cores for full fine-tuning).
        revision: dataset revision when `dataset_path_or_repo` is a Hub repo.
        method: "full" (reload with AutoModelForCausalLM) or "lora" (reload with peft's AutoPeftModelForCausalLM).
        max_length: longest conversation kept, in tokens (longer rows are dropped, not cut).
        extra_overrides: further `--key value` recipe overrides.

    Returns:
        The output directory.
    """
    from star1_hub.train.config import parse_recipe
    from star1_hub.train.sft import run_sft

    if method not in SMOKE_RECIPES:
        raise ValueError(f"unknown method {method!r}; choose one of {sorted(SMOKE_RECIPES)}")
    recipe = packaged_recipes_dir() / SMOKE_RECIPES[method]
    overrides = [
        "--dataset_name",
        str(dataset_path_or_repo),
        "--output_dir",
        str(output_dir),
        "--max_steps",
        str(max_steps),
        "--max_length",
        str(max_length),
    ]
    if revision:
        overrides += ["--dataset_revision", revision]
    overrides += list(extra_overrides or [])
    script_args, training_args, model_args = parse_recipe(recipe, overrides)
    logger.info("demo training: %s, %d steps, %s", dataset_path_or_repo, max_steps, method)
    return run_sft(script_args, training_args, model_args, recipe_path=str(recipe), overrides=overrides)
