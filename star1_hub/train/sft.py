"""star1 train recipes/smoke/sft_full.yaml [--key value ...]

Supervised fine-tuning of a reasoning model on STAR-1 with TRL's `SFTTrainer`. `star1 train` parses the recipe and,
when it asks for more than one process, re-launches this module through accelerate:

    accelerate launch --config_file recipes/accelerate_configs/zero3.yaml --num_processes 8 \\
        -m star1_hub.train.sft --config recipes/DeepSeek-R1-Distill-Qwen-7B/sft/config_star1.yaml

What it adds to a plain TRL run: a training chat template that keeps the `<think>` trace and puts the loss on the
assistant turn including its EOS, while the saved model gets the inference template of its base family (the base
and the fine-tuned model are generated from the same prompt); the paper's per-sample loss weighting (`loss.py`); STAR-1 rows turned into
conversations per `think_flag`/`base_flag`; dataset
mixtures with weights and a column check before any model is loaded; automatic resume from the last checkpoint;
a training record (`star1_training.json`) and loss curve next to the saved model; push with a model card.

`run_sft` reads top to bottom: tokenizer and templates (`load_tokenizer`), data (`load_mixture`), the arguments
adapted to TRL (`fit_to_trl`), `build_trainer`, train, `save_for_inference`, then on the main process the record
(`record_run`) and the push (`publish_run`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, NamedTuple

from star1_hub.train.config import Star1ScriptArguments, global_batch_size, parse_recipe, read_recipe, resolve_recipe
from star1_hub.train.data import load_mixture, resolve_provenance
from star1_hub.train.record import effective_recipe, write_training_record
from star1_hub.train.resources import display_path
from star1_hub.train.templates import (
    apply_training_template,
    inference_template,
    own_chat_template,
    save_inference_template,
)

logger = logging.getLogger(__name__)


def resume_checkpoint(training_args) -> str | None:
    """The checkpoint to resume from: an explicit path, or the newest `checkpoint-*` in output_dir (auto)."""
    from transformers.trainer_utils import get_last_checkpoint

    value = training_args.resume_from_checkpoint
    if isinstance(value, str) and value.lower() in ("false", "no", "none", ""):
        return None
    if value not in (None, True) and str(value).lower() not in ("true", "auto"):
        return str(value)
    if not os.path.isdir(training_args.output_dir):
        return None
    last = get_last_checkpoint(training_args.output_dir)
    if last:
        logger.info("resuming from %s", last)
    return last


def _drop_overlong(dataset, tokenizer, max_length: int):
    """Padding-free without packing: TRL does not truncate, so drop (and count) rows longer than max_length."""
    lengths = dataset.map(
        lambda row: {
            "_n": len(tokenizer.apply_chat_template(row["messages"], tokenize=True, return_dict=True)["input_ids"])
        },
        desc="measuring lengths",
    )["_n"]
    keep = [i for i, n in enumerate(lengths) if n <= max_length]
    if len(keep) < len(dataset):
        logger.warning(
            "dropping %d of %d rows longer than max_length=%d", len(dataset) - len(keep), len(dataset), max_length
        )
    return dataset.select(keep)


class Templates(NamedTuple):
    """The chat templates of a run: the training one installed on the tokenizer, the one the model is saved with."""

    training: str  # the name `apply_training_template` returned
    inference: str  # the template text the saved model gets
    inference_source: str  # where that text comes from (recorded)


def load_tokenizer(model_args, training_args, chat_template: str):
    """The base tokenizer with the training template installed, and the run's `Templates`."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(
        model_args.model_name_or_path,
        revision=model_args.model_revision,
        trust_remote_code=training_args.trust_remote_code,
    )
    base_template = own_chat_template(tokenizer)  # read before the training template replaces it
    name = apply_training_template(tokenizer, chat_template)
    return tokenizer, Templates(name, *inference_template(name, base_template))


def fit_to_trl(dataset, tokenizer, training_args, model_args):
    """Adapt the parsed arguments to what TRL does, and the dataset with them; return the dataset.

    Loss on the assistant turn only; padding-free without packing drops overlong rows (TRL would not truncate);
    no push from the trainer (the run pushes once, at the end, with its own card); the model is loaded at the
    recipe's revision / dtype / attention implementation."""
    training_args.assistant_only_loss = True
    if training_args.padding_free and not training_args.packing and training_args.max_length:
        dataset = _drop_overlong(dataset, tokenizer, training_args.max_length)
        training_args.max_length = None
    training_args.push_to_hub = False
    model_init_kwargs = {"revision": model_args.model_revision, "dtype": model_args.dtype or "auto"}
    if model_args.attn_implementation:
        model_init_kwargs["attn_implementation"] = model_args.attn_implementation
    training_args.model_init_kwargs = {**model_init_kwargs, **(training_args.model_init_kwargs or {})}
    return dataset


def build_trainer(script_args: Star1ScriptArguments, training_args, model_args, dataset, tokenizer):
    """TRL's `SFTTrainer` with the paper's per-sample loss weighting (`loss.make_trainer_class`)."""
    from trl import get_peft_config

    from star1_hub.train.loss import make_trainer_class

    return make_trainer_class()(
        model=model_args.model_name_or_path,
        args=training_args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
        loss_weighting=script_args.loss_weighting,
    )


def save_for_inference(trainer, tokenizer, templates: Templates) -> Path:
    """Save the model (every process: ZeRO-3 gathers); the main process re-saves the tokenizer with the inference
    template, so the saved model is served like its base (same generation prompt, R1: `<｜Assistant｜><think>\n`)."""
    output_dir = Path(trainer.args.output_dir)
    trainer.save_model(str(output_dir))  # writes the tokenizer too, still with the training chat template
    if trainer.is_world_process_zero():
        save_inference_template(tokenizer, output_dir, templates.inference)
        logger.info("saved with %s", templates.inference_source)
    return output_dir


def record_fields(
    script_args: Star1ScriptArguments,
    training_args,
    model_args,
    *,
    world_size: int,
    templates: Templates,
    provenance: list[dict[str, Any]],
    recipe_path: str | None,
    overrides: list[str],
    effective: dict[str, Any],
    num_rows: int,
    max_length: int | None,
) -> dict[str, Any]:
    """What the training record says about the run besides the trainer's state."""
    from star1_hub.embedded import EMBEDDED_SOURCE_ID, embedded_model_dir

    recipe_text, recipe_shown = "", None
    if recipe_path:
        recipe_file = resolve_recipe(recipe_path)
        recipe_text, recipe_shown = recipe_file.read_text(), display_path(recipe_file)
    effective = dict(effective)
    base_model = model_args.model_name_or_path
    if Path(base_model).resolve() == embedded_model_dir().resolve():
        base_model = EMBEDDED_SOURCE_ID  # the local cache path means nothing on the Hub
        if "model_name_or_path" in effective:
            effective["model_name_or_path"] = EMBEDDED_SOURCE_ID
    command = " ".join(["star1 train", recipe_shown or "(programmatic run)", *overrides])
    return {
        "base_model": base_model,
        "base_model_revision": model_args.model_revision,
        "datasets": provenance,
        "num_train_rows": num_rows,
        "recipe_path": recipe_shown,
        "recipe_yaml": recipe_text,
        "recipe_overrides": list(overrides),
        "effective_recipe": effective,
        "command": command,
        "chat_template": templates.training,
        "inference_chat_template": templates.inference_source,
        "think_flag": script_args.think_flag,
        "base_flag": script_args.base_flag,
        "loss_weighting": script_args.loss_weighting,
        "hardware_stated": script_args.hardware,
        "hyperparameters": _hyperparameters(script_args, training_args, model_args, world_size, max_length),
    }


def _hyperparameters(script_args, training_args, model_args, world_size: int, max_length: int | None) -> dict:
    return {
        "learning_rate": training_args.learning_rate,
        "num_train_epochs": training_args.num_train_epochs,
        "max_steps": training_args.max_steps,
        "per_device_train_batch_size": training_args.per_device_train_batch_size,
        "gradient_accumulation_steps": training_args.gradient_accumulation_steps,
        "num_processes": world_size,
        "global_batch_size": training_args.per_device_train_batch_size
        * training_args.gradient_accumulation_steps
        * world_size,
        "lr_scheduler_type": str(getattr(training_args.lr_scheduler_type, "value", training_args.lr_scheduler_type)),
        "warmup_steps": training_args.warmup_steps,
        "adam_beta1": training_args.adam_beta1,
        "adam_beta2": training_args.adam_beta2,
        "weight_decay": training_args.weight_decay,
        "max_length": max_length,
        "bf16": training_args.bf16,
        "gradient_checkpointing": training_args.gradient_checkpointing,
        "seed": training_args.seed,
        "packing": training_args.packing,
        "padding_free": training_args.padding_free,
        "loss_weighting": script_args.loss_weighting,
        "use_liger_kernel": training_args.use_liger_kernel,
        "use_peft": model_args.use_peft,
        "lora_r": model_args.lora_r if model_args.use_peft else None,
    }


def record_run(output_dir: Path, trainer, fields: dict[str, Any]) -> None:
    """Write the training record (`star1_training.json`) and the loss curve next to the saved model."""
    from star1_hub.train.publish import write_loss_curve

    write_training_record(output_dir, trainer, fields)
    write_loss_curve(output_dir)


def publish_run(output_dir: Path, hub_model_id: str, revision: str | None) -> None:
    """Push the saved model with its card and loss curve in one commit (`push_to_hub: true` in the recipe)."""
    from star1_hub.train.publish import push_trained_model

    sha = push_trained_model(output_dir, hub_model_id, revision=revision)
    logger.info("pushed %s@%s (%s)", hub_model_id, revision or "main", sha)


def run_sft(
    script_args: Star1ScriptArguments,
    training_args,
    model_args,
    recipe_path: str | None = None,
    overrides: list[str] | None = None,
) -> Path:
    """Train, save (with the base family's inference chat template), record and optionally push; return the
    output directory.

    Args:
        script_args: data / formatting / launch settings.
        training_args: a `trl.SFTConfig`.
        model_args: a `trl.ModelConfig`.
        recipe_path: the recipe file, embedded into the model card.
        overrides: the `--key value` overrides the recipe was parsed with (recorded with their effect).
    """
    import torch
    from transformers import set_seed

    overrides = list(overrides or [])
    parsed = (script_args, training_args, model_args)
    # The values as parsed, before `fit_to_trl` adapts a few of them for TRL (max_length, push_to_hub).
    effective = effective_recipe(read_recipe(recipe_path), overrides, parsed) if recipe_path else {}
    max_length, push = training_args.max_length, training_args.push_to_hub
    # Some libraries switch autograd off process-wide as an import side effect (lighteval's transformers backend
    # does); training in the same process must not inherit that.
    torch.set_grad_enabled(True)
    set_seed(training_args.seed)

    tokenizer, templates = load_tokenizer(model_args, training_args, script_args.chat_template)
    sources = script_args.sources()
    dataset = load_mixture(
        sources,
        script_args.question_column,
        script_args.response_column,
        script_args.think_flag,
        script_args.base_flag,
        seed=training_args.seed,
    )
    dataset = fit_to_trl(dataset, tokenizer, training_args, model_args)
    trainer = build_trainer(script_args, training_args, model_args, dataset, tokenizer)
    trainer.train(resume_from_checkpoint=resume_checkpoint(training_args))
    output_dir = save_for_inference(trainer, tokenizer, templates)

    if trainer.is_world_process_zero():
        fields = record_fields(
            *parsed,
            world_size=trainer.args.world_size,
            templates=templates,
            provenance=[resolve_provenance(source) for source in sources],
            recipe_path=recipe_path,
            overrides=overrides,
            effective=effective,
            num_rows=len(dataset),
            max_length=max_length,
        )
        record_run(output_dir, trainer, fields)
        if push:
            publish_run(output_dir, training_args.hub_model_id, training_args.hub_revision)
    if hasattr(trainer, "end"):
        trainer.end()
    return output_dir


def main(argv: list[str] | None = None) -> Path:
    """Entry point for `python -m star1_hub.train.sft --config RECIPE.yaml [--key value ...]` (used by accelerate)."""
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if "--config" not in args:
        raise SystemExit("usage: python -m star1_hub.train.sft --config RECIPE.yaml [--key value ...]")
    index = args.index("--config")
    recipe = args[index + 1]
    overrides = args[:index] + args[index + 2 :]
    script_args, training_args, model_args = parse_recipe(recipe, overrides)
    logger.info("global batch = %d", global_batch_size(script_args, training_args))
    return run_sft(script_args, training_args, model_args, recipe_path=recipe, overrides=overrides)


if __name__ == "__main__":
    from star1_hub.logs import configure_logging, verbose_requested

    configure_logging(verbose_requested())  # quiet library noise unless the parent ran `star1 -v`
    main()
