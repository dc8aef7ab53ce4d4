"""Recipe configuration: our script arguments next to TRL's `ModelConfig` and `SFTConfig`, parsed by `TrlParser`
(the recipe YAML gives defaults, `--key value` on the command line overrides them).

A recipe is one flat YAML mapping over the three dataclasses. Unknown keys are rejected with the file name and
the closest valid key before anything is loaded.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from star1_hub.errors import RecipeError

__all__ = ["RecipeError", "Star1ScriptArguments", "global_batch_size", "parse_recipe", "read_recipe", "resolve_recipe"]


@dataclass
class Star1ScriptArguments:
    """Data, formatting and launch settings of a STAR-1 SFT run (TRL's own settings live in SFTConfig/ModelConfig)."""

    dataset_name: str | None = field(
        default=None,
        metadata={
            "help": "Hub dataset repo id (e.g. `UCSC-VLAA/STAR-1`) or a local .json/.jsonl/.parquet file/folder."
        },
    )
    dataset_revision: str | None = field(
        default=None,
        metadata={"help": "Branch, tag or commit of `dataset_name` on the Hub (pin it for reproducibility)."},
    )
    dataset_config: str | None = field(default=None, metadata={"help": "Dataset configuration name on the Hub."})
    dataset_train_split: str = field(default="train", metadata={"help": "Split of `dataset_name` to train on."})
    dataset_mixture: list[dict] | None = field(
        default=None,
        metadata={
            "help": "List of {name|path, revision, config, split, weight} entries mixed together instead of "
            "`dataset_name`; weight multiplies the row count (0.5 = half, 2 = twice)."
        },
    )
    question_column: str = field(default="question", metadata={"help": "Column with the user prompt."})
    response_column: str = field(
        default="response", metadata={"help": "Column with the teacher response `<think>…</think> answer`."}
    )
    think_flag: int = field(
        default=1, metadata={"help": "1: train on the reasoning trace; 0: empty/no thinking block (paper §4.2)."}
    )
    base_flag: int = field(
        default=0,
        metadata={"help": "instruct models: 1. Acts only with think_flag 0: answer only, no think tags (spec §8.2)."},
    )
    chat_template: str = field(
        default="auto",
        metadata={
            "help": "auto | r1-distill-qwen | r1-distill-llama | qwen2.5-instruct | llama-3.1-instruct | embedded | "
            "tokenizer | path/to/template.jinja"
        },
    )
    loss_weighting: str = field(
        default="per_sample",
        metadata={
            "help": "per_sample: each sample's mean token loss, averaged over the step's samples (the paper's "
            "micro-batch-1 accumulation); token: one mean over every supervised token of the step (TRL's default)."
        },
    )
    hardware: str | None = field(
        default=None, metadata={"help": "Hardware the recipe is sized for (recorded in the model card)."}
    )
    accelerate_config: str | None = field(
        default=None, metadata={"help": "accelerate config file used when more than one process is launched."}
    )
    num_processes: int = field(
        default=1, metadata={"help": "Total processes (GPUs) over all machines, as `accelerate launch` counts them."}
    )
    num_machines: int = field(default=1, metadata={"help": "Number of nodes."})
    machine_rank: int = field(default=0, metadata={"help": "Rank of this node (multi-node)."})
    main_process_ip: str | None = field(default=None, metadata={"help": "Address of node 0 (multi-node)."})
    main_process_port: int | None = field(default=None, metadata={"help": "Port on node 0 (multi-node)."})

    def __post_init__(self):
        from star1_hub.train.data import DatasetSource
        from star1_hub.train.loss import LOSS_WEIGHTINGS

        if self.think_flag not in (0, 1) or self.base_flag not in (0, 1):
            raise RecipeError(f"think_flag and base_flag must be 0 or 1, got {self.think_flag} and {self.base_flag}")
        if self.loss_weighting not in LOSS_WEIGHTINGS:
            raise RecipeError(f"loss_weighting {self.loss_weighting!r} is not one of {', '.join(LOSS_WEIGHTINGS)}")
        if bool(self.dataset_name) == bool(self.dataset_mixture):
            raise RecipeError("set exactly one of `dataset_name` or `dataset_mixture` in the recipe")
        if self.dataset_mixture:
            self.dataset_mixture = [
                entry if isinstance(entry, dict) else vars(entry) for entry in self.dataset_mixture
            ]
            for index, entry in enumerate(self.dataset_mixture):
                DatasetSource.from_dict(entry, index)
        if self.num_processes < 1 or self.num_machines < 1 or self.num_machines > self.num_processes:
            raise RecipeError(
                f"num_processes ({self.num_processes}) is the total over all {self.num_machines} machines; "
                "it must be >= num_machines >= 1"
            )
        if self.num_processes > 1 and not self.accelerate_config:
            raise RecipeError(
                f"num_processes={self.num_processes} needs `accelerate_config` (e.g. "
                "recipes/accelerate_configs/zero3.yaml)"
            )

    def sources(self):
        """The dataset sources as `DatasetSource` objects (one for `dataset_name`, several for a mixture)."""
        from star1_hub.train.data import DatasetSource
        from star1_hub.train.resources import resolve_packaged

        if self.dataset_mixture:
            return [DatasetSource.from_dict(entry, i) for i, entry in enumerate(self.dataset_mixture)]
        local = resolve_packaged(self.dataset_name)
        return [
            DatasetSource(
                name=None if local else self.dataset_name,
                path=str(local) if local else None,
                revision=self.dataset_revision,
                config=self.dataset_config,
                split=self.dataset_train_split,
            )
        ]


EMBEDDED_ALIAS = "embedded"  # `model_name_or_path: embedded` = the SmolLM2-135M checkpoint shipped with the package


def dataclass_types() -> tuple[type, ...]:
    """The dataclasses a recipe is parsed into, in order: script, training (SFTConfig), model."""
    from trl import ModelConfig, SFTConfig

    return (Star1ScriptArguments, SFTConfig, ModelConfig)


def resolve_recipe(path: str | Path) -> Path:
    """The recipe file: `path` relative to the working directory, or the packaged recipe of that name.

    Raises:
        RecipeError: neither exists (the message lists the packaged recipes).
    """
    from star1_hub.train.resources import packaged_recipe_names, resolve_packaged

    found = resolve_packaged(path)
    if found is None or not found.is_file():
        raise RecipeError(
            f"recipe {str(path)!r} does not exist (relative to {Path.cwd()}); packaged recipes: "
            f"{', '.join(packaged_recipe_names())}"
        )
    return found


def read_recipe(path: str | Path) -> dict[str, Any]:
    """Read a recipe YAML and reject unknown keys, naming the file and the closest valid key."""
    path = resolve_recipe(path)
    try:
        recipe = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise RecipeError(f"recipe {path} is not valid YAML ({getattr(exc, 'problem', exc)} at{where})") from exc
    if not isinstance(recipe, dict):
        raise RecipeError(f"recipe {path} must be a YAML mapping of key: value")
    valid = {f.name for cls in dataclass_types() for f in fields(cls)}
    for key in recipe:
        if key not in valid:
            close = difflib.get_close_matches(key, sorted(valid), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise RecipeError(
                f"{path}: unknown key {key!r}{hint} (keys come from Star1ScriptArguments, SFTConfig, ModelConfig)"
            )
    return recipe


def parse_recipe(
    path: str | Path, overrides: list[str] | None = None, resolve_model: bool = True, for_dry_run: bool = False
):
    """Parse a recipe plus `--key value` overrides into (script_args, training_args, model_args).

    Args:
        path: recipe file (relative to the working directory, or a packaged `recipes/…` name).
        overrides: `--key value` strings.
        resolve_model: turn `model_name_or_path: embedded` into the local checkpoint (materialising it once).
        for_dry_run: parse on a machine without the recipe's hardware: the bf16-needs-a-GPU check of
            `TrainingArguments` is skipped (nothing is trained), every other check runs.

    Raises:
        RecipeError: unknown key in the file or on the command line, or invalid values.
    """
    from trl import TrlParser

    path = resolve_recipe(path)
    read_recipe(path)
    overrides = list(overrides or [])
    parser = TrlParser(dataclass_types())

    def reject(message: str):  # argparse would print its whole usage text and exit
        raise RecipeError(f"{path}: {message} (in the recipe or the overrides {overrides})")

    parser.error = reject
    # TrainingArguments refuses bf16 without a GPU unless use_cpu is set; a dry run only parses and prints.
    extra = ["--use_cpu", "true"] if for_dry_run else []
    try:
        script_args, training_args, model_args, remaining = parser.parse_args_and_config(
            ["--config", str(path), *overrides, *extra], return_remaining_strings=True
        )
    except RecipeError:
        raise
    except ValueError as exc:  # a dataclass __post_init__ rejected a value
        raise RecipeError(f"{path}: {exc}") from exc
    if remaining:
        raise RecipeError(f"unknown command-line override(s) {remaining} for recipe {path}")
    if not model_args.model_name_or_path:
        raise RecipeError(f"{path}: `model_name_or_path` is required")
    if model_args.model_name_or_path == EMBEDDED_ALIAS and resolve_model:
        from star1_hub.embedded import embedded_model_path

        model_args.model_name_or_path = str(embedded_model_path())
    return script_args, training_args, model_args


def global_batch_size(script_args: Star1ScriptArguments, training_args) -> int:
    """Sequences per optimizer step: per-device batch x gradient accumulation x total processes."""
    return (
        training_args.per_device_train_batch_size
        * training_args.gradient_accumulation_steps
        * script_args.num_processes
    )
