"""Start a recipe: in this process for one process, through `accelerate launch` for several (never a home-made
launcher). Multi-node runs pass `--num_machines/--machine_rank/--main_process_ip` through to accelerate."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from star1_hub.train.config import RecipeError, global_batch_size, parse_recipe

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent.parent


class LaunchError(RuntimeError):
    """`accelerate launch` exited with an error."""


def resolve_accelerate_config(value: str) -> Path:
    """Find an accelerate config given relative to the working directory or to the repository root."""
    for candidate in (Path(value), REPO_ROOT / value):
        if candidate.is_file():
            return candidate.resolve()
    raise RecipeError(f"accelerate config {value!r} not found (relative to {Path.cwd()} or {REPO_ROOT})")


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


def preflight_data(script_args) -> None:
    """Load every dataset source and check its columns before any process or model starts."""
    from star1_hub.train.data import check_columns, load_source

    for source in script_args.sources():
        check_columns(load_source(source), source.label, script_args.question_column, script_args.response_column)


def train_recipe(recipe: str | Path, overrides: list[str] | None = None, dry_run: bool = False) -> Path | list[str]:
    """Run a recipe (the body of `star1 train`).

    Args:
        recipe: recipe YAML path.
        overrides: `--key value` strings overriding recipe keys.
        dry_run: only parse, check the data and return the command that would run.

    Returns:
        The output directory, or for a dry run the command (a list; `["in-process"]` for one process).

    Raises:
        RecipeError: invalid recipe / overrides; DatasetColumnError: a dataset lacks a column;
        LaunchError: accelerate failed.
    """
    overrides = list(overrides or [])
    script_args, training_args, model_args = parse_recipe(recipe, overrides)
    logger.info(
        "recipe %s: global batch %d (= %d per device x %d accumulation x %d processes)",
        recipe,
        global_batch_size(script_args, training_args),
        training_args.per_device_train_batch_size,
        training_args.gradient_accumulation_steps,
        script_args.num_processes,
    )
    preflight_data(script_args)
    if script_args.num_processes == 1:
        if dry_run:
            return ["in-process"]
        from star1_hub.train.sft import run_sft

        return run_sft(script_args, training_args, model_args, recipe_path=str(recipe))
    command = accelerate_command(recipe, overrides, script_args)
    if dry_run:
        return command
    logger.info("launching: %s", " ".join(command))
    result = subprocess.run(command, env=launch_env(), check=False)
    if result.returncode != 0:
        raise LaunchError(f"accelerate launch exited with code {result.returncode}; command: {' '.join(command)}")
    return Path(training_args.output_dir)
