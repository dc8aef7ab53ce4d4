"""The training record `star1_training.json`: everything the model card needs about a finished run (base model,
data with resolved revisions, the recipe as written and as it took effect, hyper-parameters, hardware, versions,
loss log), so a later push needs no live trainer. Written by `sft.run_sft`, read by `publish`."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

TRAINING_RECORD = "star1_training.json"


def hardware_description() -> str:
    """The accelerator this process trains on, e.g. `8 x NVIDIA H100 80GB HBM3` or `CPU (16 cores, x86_64)`."""
    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}"
    return f"CPU ({os.cpu_count()} cores, {platform.machine()})"


def framework_versions() -> dict[str, str]:
    """Versions of the libraries that shaped the run (for the model card)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("star1-hub", "torch", "transformers", "trl", "accelerate", "datasets", "peft", "deepspeed"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            continue
    return out


def _override_keys(overrides: list[str]) -> list[str]:
    return [item[2:].split("=", 1)[0] for item in overrides if item.startswith("--")]


def effective_recipe(recipe: dict[str, Any], overrides: list[str], parsed: tuple) -> dict[str, Any]:
    """The recipe's keys plus the overridden ones, with the values the run used (after overrides and parsing).

    Keys that had no effect are left out: `num_train_epochs` when `max_steps` is set.
    """
    keys = list(recipe) + [key for key in _override_keys(overrides) if key not in recipe]
    training_args = parsed[1]
    values = {}
    for key in keys:
        if key == "num_train_epochs" and training_args.max_steps > 0:
            continue
        for dataclass_object in parsed:
            if hasattr(dataclass_object, key):
                value = getattr(dataclass_object, key)
                values[key] = getattr(value, "value", value)  # enums (lr_scheduler_type, …) as their text
                break
    return values


def write_training_record(output_dir: Path, trainer, fields: dict[str, Any]) -> Path:
    """Write the record: `fields` (what the caller knows about the run) plus the trainer's state and versions."""
    record = {
        **fields,
        "hardware_used": f"{hardware_description()} x {trainer.args.world_size} process(es)",
        "global_step": trainer.state.global_step,
        "log_history": trainer.state.log_history,
        "framework_versions": framework_versions(),
    }
    path = Path(output_dir) / TRAINING_RECORD
    path.write_text(json.dumps(record, indent=2, default=str))
    return path
