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
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

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


def _record_fields(
    script_args: Star1ScriptArguments,
    training_args,
    model_args,
    world_size: int,
    template_name: str,
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
        "chat_template": template_name,
        "think_flag": script_args.think_flag,
        "base_flag": script_args.base_flag,
        "loss_weighting": script_args.loss_weighting,
        "hardware_stated": script_args.hardware,
        "hyperparameters": {
            "learning_rate": training_args.learning_rate,
            "num_train_epochs": training_args.num_train_epochs,
            "max_steps": training_args.max_steps,
            "per_device_train_batch_size": training_args.per_device_train_batch_size,
            "gradient_accumulation_steps": training_args.gradient_accumulation_steps,
            "num_processes": world_size,
            "global_batch_size": training_args.per_device_train_batch_size
            * training_args.gradient_accumulation_steps
            * world_size,
            "lr_scheduler_type": str(
                getattr(training_args.lr_scheduler_type, "value", training_args.lr_scheduler_type)
            ),
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
        },
    }


def run_sft(
    script_args: Star1ScriptArguments,
    training_args,
    model_args,
    recipe_path: str | None = None,
    overrides: list[str] | None = None,
) -> Path:
    """Train, save (with the base family's inference chat template) and optionally push; return the output directory.

    Args:
        script_args: data / formatting / launch settings.
        training_args: a `trl.SFTConfig`.
        model_args: a `trl.ModelConfig`.
        recipe_path: the recipe file, embedded into the model card.
        overrides: the `--key value` overrides the recipe was parsed with (recorded with their effect).
    """
    import torch
    from transformers import AutoTokenizer, set_seed
    from trl import get_peft_config

    from star1_hub.train.loss import make_trainer_class

    overrides = list(overrides or [])
    # The values as parsed, before this function adapts a few of them for TRL (max_length, push_to_hub).
    effective = (
        effective_recipe(read_recipe(recipe_path), overrides, (script_args, training_args, model_args))
        if recipe_path
        else {}
    )
    # Some libraries switch autograd off process-wide as an import side effect (lighteval's transformers backend
    # does); training in the same process must not inherit that.
    torch.set_grad_enabled(True)
    set_seed(training_args.seed)
    tokenizer = AutoTokenizer.from_pretrained(
        model_args.model_name_or_path,
        revision=model_args.model_revision,
        trust_remote_code=training_args.trust_remote_code,
    )
    base_template = own_chat_template(tokenizer)
    template_name = apply_training_template(tokenizer, script_args.chat_template)
    saved_template, saved_template_source = inference_template(template_name, base_template)
    sources = script_args.sources()
    dataset = load_mixture(
        sources,
        script_args.question_column,
        script_args.response_column,
        script_args.think_flag,
        script_args.base_flag,
        seed=training_args.seed,
    )
    training_args.assistant_only_loss = True
    max_length = training_args.max_length
    if training_args.padding_free and not training_args.packing and training_args.max_length:
        dataset = _drop_overlong(dataset, tokenizer, training_args.max_length)
        training_args.max_length = None
    push = training_args.push_to_hub
    training_args.push_to_hub = False  # we push once, at the end, with our own card
    model_init_kwargs = {"revision": model_args.model_revision, "dtype": model_args.dtype or "auto"}
    if model_args.attn_implementation:
        model_init_kwargs["attn_implementation"] = model_args.attn_implementation
    training_args.model_init_kwargs = {**model_init_kwargs, **(training_args.model_init_kwargs or {})}

    trainer = make_trainer_class()(
        model=model_args.model_name_or_path,
        args=training_args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=get_peft_config(model_args),
        loss_weighting=script_args.loss_weighting,
    )
    trainer.train(resume_from_checkpoint=resume_checkpoint(training_args))
    output_dir = Path(training_args.output_dir)
    trainer.save_model(str(output_dir))  # writes the tokenizer too, still with the training chat template
    if trainer.is_world_process_zero():
        # The saved model is served like its base: same generation prompt (R1: `<｜Assistant｜><think>\n`).
        save_inference_template(tokenizer, output_dir, saved_template)
        logger.info("saved with %s", saved_template_source)
        from star1_hub.train.publish import push_trained_model, write_loss_curve

        provenance = [resolve_provenance(source) for source in sources]
        fields = _record_fields(
            script_args,
            training_args,
            model_args,
            trainer.args.world_size,
            template_name,
            provenance,
            recipe_path,
            overrides,
            effective,
            len(dataset),
            max_length,
        )
        fields["inference_chat_template"] = saved_template_source
        write_training_record(output_dir, trainer, fields)
        write_loss_curve(output_dir)
        if push:
            sha = push_trained_model(output_dir, training_args.hub_model_id, revision=training_args.hub_revision)
            logger.info("pushed %s@%s (%s)", training_args.hub_model_id, training_args.hub_revision or "main", sha)
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
