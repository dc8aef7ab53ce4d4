"""`star1 data …` commands: publish a released STAR-* file to the Hub, show a dataset at a revision."""

from __future__ import annotations

from pathlib import Path

import typer

data_app = typer.Typer(help="Validate, publish and inspect STAR-1 / STAR-41K / STAR-benign-915 datasets.")


@data_app.command("publish")
def publish(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Released JSON / JSONL file."),
    repo: str = typer.Option(..., "--repo", help="Target dataset repo, ORG/NAME."),
    kind: str = typer.Option("star1", "--kind", help="star1 | star41k | benign915."),
    tag: str | None = typer.Option(None, "--tag", help="Tag the published commit (e.g. v1)."),
    private: bool = typer.Option(False, help="Create the repo as private."),
) -> None:
    """Validate FILE, push it to the Hub with a dataset card and plot in ONE commit, then tag it."""
    from rich.console import Console

    from star1_hub.data.normalise import DataValidationError
    from star1_hub.data.publish import TagExistsError, publish_dataset
    from star1_hub.data.schema import DATASET_KINDS

    console = Console()
    if kind not in DATASET_KINDS:
        console.print(f"[red]error:[/] unknown --kind {kind!r}; choose one of {', '.join(DATASET_KINDS)}")
        raise typer.Exit(2)
    try:
        result = publish_dataset(file, repo, kind, tag=tag, private=private)  # type: ignore[arg-type]
    except (DataValidationError, TagExistsError) as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from exc
    console.print(
        f"published {result.n_rows} rows to [bold]{result.repo_id}[/] commit {result.commit_sha}"
        + (f" tag {result.tag}" if result.tag else "")
    )


@data_app.command("show")
def show(
    repo: str = typer.Argument(..., help="ORG/NAME[@REVISION] on the Hub, or a local folder."),
    kind: str = typer.Option("star1", "--kind", help="star1 | star41k | benign915."),
    config: str | None = typer.Option(None, "--config", help="Dataset config (curation stage) name."),
) -> None:
    """Load a dataset with its typed features and print a summary table."""
    from rich.console import Console

    from star1_hub.data.load import load_star1
    from star1_hub.data.summary import summary_table

    repo_id, _, revision = repo.partition("@")
    dataset = load_star1(repo_id, revision=revision or None, kind=kind, name=config)  # type: ignore[arg-type]
    Console().print(summary_table(dataset, f"{repo_id}@{revision or 'main'}"))


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
