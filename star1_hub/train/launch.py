"""Start a recipe: in this process for one process, through `accelerate launch` for several (never a home-made
launcher). Multi-node runs pass `--num_machines/--machine_rank/--main_process_ip` through to accelerate.

`--dry-run` works on any machine (a CPU login node included): it parses the recipe, checks every dataset's
revision, rows and columns through the Hub API without downloading data or model (`preflight`), and prints the
batch and step arithmetic and the launch command. It never looks for a GPU.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from star1_hub.errors import Star1Error
from star1_hub.interrupt import kept_on_interrupt
from star1_hub.train.config import RecipeError, parse_recipe, resolve_recipe

logger = logging.getLogger(__name__)


class LaunchError(Star1Error, RuntimeError):
    """`accelerate launch` exited with an error."""


@dataclass
class DryRun:
    """What `star1 train --dry-run` found and would run."""

    command: list[str]
    lines: list[str] = field(default_factory=list)


def resolve_accelerate_config(value: str) -> Path:
    """Find an accelerate config relative to the working directory, or the packaged one of that name
    (`recipes/accelerate_configs/zero3.yaml`, `recipes/smoke/accelerate_zero2_cpu.yaml`)."""
    from star1_hub.train.resources import packaged_recipe_names, resolve_packaged

    found = resolve_packaged(value)
    if found is None or not found.is_file():
        configs = [name for name in packaged_recipe_names() if "accelerate" in name]
        raise RecipeError(
            f"accelerate config {value!r} not found (relative to {Path.cwd()}); packaged ones: {', '.join(configs)}"
        )
    return found.absolute()


def accelerate_command(recipe: str | Path, overrides: list[str], script_args) -> list[str]:
    """The `accelerate launch … -m star1_hub.train.sft --config RECIPE …` command for a multi-process recipe."""
    command = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(resolve_accelerate_config(script_args.accelerate_config)),
        "--num_processes",
        str(script_args.num_processes),
        "--num_machines",
        str(script_args.num_machines),
        "--machine_rank",
        str(script_args.machine_rank),
    ]
    if script_args.main_process_ip:
        command += ["--main_process_ip", script_args.main_process_ip]
    if script_args.main_process_port:
        command += ["--main_process_port", str(script_args.main_process_port)]
    return [*command, "-m", "star1_hub.train.sft", "--config", str(recipe), *overrides]


def launch_env() -> dict[str, str]:
    """Environment for the launched ranks: DeepSpeed's JIT ops are cached in our cache dir, not ~/.cache."""
    from star1_hub.home import star1_home

    env = dict(os.environ)
    env.setdefault("TORCH_EXTENSIONS_DIR", str(star1_home() / "torch_extensions"))
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env


def preflight_data(script_args):
    """Check every dataset source's revision, rows and columns (no download) before any process or model starts."""
    from star1_hub.train.preflight import check_sources

    return check_sources(script_args.sources(), script_args.question_column, script_args.response_column)


def _check_unknown_columns(checks, script_args) -> None:
    """A real run loads the sources whose columns the Hub metadata does not give (JSON files) and checks them now,
    before any process or model starts (a dry run only reports them)."""
    from star1_hub.train.data import check_columns, load_source

    for check in checks:
        if check.columns is None:
            dataset = load_source(check.source)
            check_columns(dataset, check.source.label, script_args.question_column, script_args.response_column)


def describe_dry_run(recipe: str | Path, overrides: list[str] | None = None) -> DryRun:
    """Parse, check the data through the Hub API, and describe the batch arithmetic and the launch command.

    Nothing is downloaded and no GPU is needed: the bf16 check of `TrainingArguments` is skipped, the embedded
    model is not materialised, the model repo is not contacted.
    """
    from star1_hub.train.arithmetic import recipe_arithmetic
    from star1_hub.train.preflight import total_rows

    overrides = list(overrides or [])
    recipe_file = resolve_recipe(recipe)
    script_args, training_args, model_args = parse_recipe(
        recipe_file, overrides, resolve_model=False, for_dry_run=True
    )
    checks = preflight_data(script_args)
    revision = f"@{model_args.model_revision}" if model_args.model_revision else ""
    lines = [
        f"recipe: {recipe} (sized for {script_args.hardware or 'unstated hardware'})",
        f"model: {model_args.model_name_or_path}{revision} (not contacted in a dry run: no weights are downloaded)",
        f"format: chat template {script_args.chat_template}, think_flag {script_args.think_flag}, "
        f"base_flag {script_args.base_flag}, loss_weighting {script_args.loss_weighting}",
        *[check.describe() for check in checks],
    ]
    rows = total_rows(checks)
    if rows is None:
        lines.append("steps: not computed: the row count of a dataset is unknown without reading it (see above)")
    else:
        lines += recipe_arithmetic(rows, script_args, training_args).describe()
    if script_args.num_processes == 1:
        command = [sys.executable, "-m", "star1_hub.train.sft", "--config", str(recipe), *overrides]
        lines.append("launch (one process, in `star1 train` itself; the same as): " + " ".join(command))
    else:
        command = accelerate_command(recipe, overrides, script_args)
        lines.append("launch: " + " ".join(command))
    return DryRun(command=command, lines=lines)


def train_recipe(recipe: str | Path, overrides: list[str] | None = None, dry_run: bool = False) -> Path | DryRun:
    """Run a recipe (the body of `star1 train`).

    Args:
        recipe: recipe YAML path (or a packaged `recipes/smoke/…` name).
        overrides: `--key value` strings overriding recipe keys.
        dry_run: only parse, check the data and describe what would run (see `describe_dry_run`).

    Returns:
        The output directory, or for a dry run a `DryRun` (the command and the lines to print).

    Raises:
        RecipeError: invalid recipe / overrides; DatasetColumnError: a dataset lacks a column;
        LaunchError: accelerate failed.
    """
    if dry_run:
        return describe_dry_run(recipe, overrides)
    overrides = list(overrides or [])
    script_args, training_args, model_args = parse_recipe(recipe, overrides)
    logger.info(
        "recipe %s: global batch %d (= %d per device x %d accumulation x %d processes)",
        recipe,
        training_args.per_device_train_batch_size
        * training_args.gradient_accumulation_steps
        * script_args.num_processes,
        training_args.per_device_train_batch_size,
        training_args.gradient_accumulation_steps,
        script_args.num_processes,
    )
    checks = preflight_data(script_args)
    _check_unknown_columns(checks, script_args)
    kept = (  # what a Ctrl-C leaves (`star1_hub.interrupt`): `resume_checkpoint` picks the newest up on a re-run
        f"checkpoints saved so far (if any) are in {training_args.output_dir}; re-run the same command to resume "
        "from the newest"
    )
    if script_args.num_processes == 1:
        from star1_hub.train.sft import run_sft

        with kept_on_interrupt(kept):
            return run_sft(script_args, training_args, model_args, recipe_path=str(recipe), overrides=overrides)
    command = accelerate_command(recipe, overrides, script_args)
    logger.info("launching: %s", " ".join(command))
    with kept_on_interrupt(kept):
        result = subprocess.run(command, env=launch_env(), check=False)
    if result.returncode != 0:
        raise LaunchError(f"accelerate launch exited with code {result.returncode}; command: {' '.join(command)}")
    return Path(training_args.output_dir)
