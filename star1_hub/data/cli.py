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
    """Validate FILE, push it to the Hub with a dataset card and plot in ONE commit, then tag it.

    A bad file, a taken tag or a refused push ends with the reason on stderr and exit code 2 (see `star1 -v`).
    """
    from star1_hub.data.publish import publish_dataset
    from star1_hub.data.schema import DATASET_KINDS

    if kind not in DATASET_KINDS:
        raise typer.BadParameter(
            f"unknown kind {kind!r}; choose one of {', '.join(DATASET_KINDS)}", param_hint="--kind"
        )
    result = publish_dataset(file, repo, kind, tag=tag, private=private)  # type: ignore[arg-type]
    typer.echo(
        f"published {result.n_rows} rows to {result.repo_id} commit {result.commit_sha}"
        + (f" tag {result.tag}" if result.tag else "")
    )


@data_app.command("show")
def show(
    repo: str = typer.Argument(..., help="ORG/NAME[@REVISION] on the Hub, or a local folder."),
    config: str | None = typer.Option(
        None, "--config", help="Dataset config, e.g. a curation stage: classified, reasoned, scored, filtered …"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON object (for scripts)."),
    examples: int = typer.Option(3, "--rows", min=0, help="How many rows to show whole."),
) -> None:
    """Summarise one config of a dataset as stored: rows, ok / failed by reason, the stage's counts, columns,
    categories, sources, lengths, mean scores and the first rows. Works for every curation stage config,
    0-row configs included."""
    import json

    from star1_hub.data.load import load_config
    from star1_hub.data.summary import print_summary, summarise

    loaded = load_config(repo, config)
    summary = summarise(loaded.dataset, loaded.stage_record, examples=examples)
    if as_json:
        header = {
            "repo": loaded.repo_id,
            "revision": loaded.revision,
            "sha": loaded.sha,
            "config": loaded.config,
            "configs": loaded.configs,
        }
        typer.echo(json.dumps(header | summary, ensure_ascii=False, default=str))
        return
    sha = f" (commit {loaded.sha[:12]})" if loaded.sha else ""
    print_summary(summary, f"{loaded.label}{sha}")
    others = [name for name in loaded.configs if name != (loaded.config or "default")]
    if others:
        typer.echo(f"other configs: {', '.join(others)}")


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
