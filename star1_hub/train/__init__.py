"""Supervised fine-tuning on STAR-1 with TRL: recipes, chat templates, launch, publishing.

Modules: `config` (recipe parsing), `templates` (training chat templates), `data` (datasets -> conversations),
`loss` (per-sample loss weighting), `arithmetic` (batch / step counts), `preflight` (data checks without
download), `launch` (in-process or `accelerate launch`, `--dry-run`), `sft` (the training run), `record` (the
training record), `publish` (card + push), `resources` (packaged recipes and sample data), `demo`.

Public API (heavy libraries are imported inside the functions):
    train_recipe(recipe, overrides)            -- body of `star1 train`
    run_sft(script_args, training_args, model_args)
    push_trained_model(output_dir, hub_model_id, revision=None) -> commit sha
    train_demo_model(dataset_path_or_repo, output_dir, max_steps=4) -> Path
"""

from __future__ import annotations

__all__ = ["push_trained_model", "run_sft", "train_demo_model", "train_recipe"]


def __getattr__(name: str):
    if name == "push_trained_model":
        from star1_hub.train.publish import push_trained_model

        return push_trained_model
    if name == "run_sft":
        from star1_hub.train.sft import run_sft

        return run_sft
    if name == "train_recipe":
        from star1_hub.train.launch import train_recipe

        return train_recipe
    if name == "train_demo_model":
        from star1_hub.train.demo import train_demo_model

        return train_demo_model
    raise AttributeError(name)
