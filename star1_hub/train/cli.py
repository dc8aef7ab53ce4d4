"""`star1 train RECIPE.yaml [--key value ...]`: supervised fine-tuning from a YAML recipe."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the `train` command to the `star1` CLI."""

    @app.command(
        "train",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        help="Fine-tune a model from a recipe: `star1 train recipes/smoke/sft_full.yaml --max_steps 4`. Any recipe "
        "key can be overridden with `--key value`. Recipes with num_processes > 1 run through `accelerate launch`. "
        "`--dry-run` works without a GPU: it checks the data through the Hub API (no download) and prints the batch "
        "arithmetic and the launch command.",
    )
    def train(
        ctx: typer.Context,
        recipe: Path = typer.Argument(..., help="Recipe YAML (see recipes/; packaged recipes/smoke/… work anywhere)."),
        dry_run: bool = typer.Option(
            False, "--dry-run", help="Parse, check the data (no download), print the arithmetic and launch command."
        ),
    ) -> None:
        from star1_hub.train.config import RecipeError
        from star1_hub.train.data import DatasetColumnError, DatasetSourceError
        from star1_hub.train.launch import LaunchError, train_recipe
        from star1_hub.train.templates import ChatTemplateError

        try:
            result = train_recipe(recipe, ctx.args, dry_run=dry_run)
        except (RecipeError, DatasetColumnError, DatasetSourceError, ChatTemplateError, LaunchError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        if dry_run:
            for line in result.lines:
                typer.echo(line)  # unwrapped, so the launch line can be copied
        else:
            typer.echo(f"model saved to {result}")
