"""`star1 curate collect --output REPO [--tag collected-v1] [--sources A,B] [--skip-test-set wildchat] [--local-dir DIR]
[--limit K]`

Collects the 18 training sources, deduplicates and decontaminates them against every evaluation set
(docs/curation.md) and pushes the result as config `collected` of the output dataset repo, with a card section, plot
and manifest, in one commit (tagged with `--tag`, so the stages can read `REPO@TAG`).
`register_collect(curate_app)` adds the command to the `star1 curate` group.
"""

from __future__ import annotations

from pathlib import Path

import typer

from star1_hub.data.wildchat import WILDCHAT_REPO


def _names(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [v.strip() for v in value.split(",") if v.strip()]
    return names or None


def collect_command(
    output: str | None = typer.Option(
        None, "--output", help="Dataset repo to push config `collected` to, e.g. me/STAR-41K."
    ),
    sources: str | None = typer.Option(None, "--sources", help="Comma-separated training sources (default: all 18)."),
    test_sets: str | None = typer.Option(
        None, "--test-sets", help="Comma-separated test sets (default: all, WildChat too)."
    ),
    skip_test_set: list[str] = typer.Option(
        [],
        "--skip-test-set",
        help="Leave this test set out of decontamination (repeatable, e.g. wildchat); recorded in the card.",
    ),
    wildchat_repo: str = typer.Option(
        WILDCHAT_REPO, "--wildchat-repo", help="WildChat release holding the toxic rows (gated; request access)."
    ),
    local_dir: Path | None = typer.Option(
        None,
        "--local-dir",
        help="Folder of <SourceName>.{csv,tsv,json,jsonl,txt,parquet} files used instead of downloads.",
    ),
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="Read at most K prompts per training source (test sets stay complete)."
    ),
    no_embeddings: bool = typer.Option(
        False, "--no-embeddings", help="Skip the two MiniLM steps (TF-IDF + n-gram only)."
    ),
    embedding_threads: int | None = typer.Option(
        None, "--embedding-threads", min=1, help="torch threads for MiniLM (1 is faster on a busy CPU)."
    ),
    save_dir: Path | None = typer.Option(
        None, "--save-dir", help="Also write collected.jsonl, manifest.json, counts.png here."
    ),
    tag: str | None = typer.Option(
        None, "--tag", help="Tag the pushed commit (e.g. collected-v1); the stages then read --input REPO@TAG."
    ),
    private: bool = typer.Option(False, "--private", help="Create the output repo as private."),
) -> None:
    """Collect, dedup and decontaminate the STAR-1 prompt sources; publish STAR-41K config `collected`."""
    from rich.console import Console
    from rich.markup import escape

    from star1_hub.collect.collect import CollectOptions, collect, push_collected, save_local
    from star1_hub.collect.source_loader import SourceError

    console = Console()
    if output is None and save_dir is None:
        raise typer.BadParameter("give --output REPO (push to the Hub) and/or --save-dir DIR (write files)")
    if local_dir is not None and not local_dir.is_dir():
        raise typer.BadParameter(f"--local-dir {local_dir} is not a folder")
    if tag is not None and output is None:
        raise typer.BadParameter("--tag names a commit of --output REPO: give --output too")
    if tag is not None:  # a taken tag fails now, not after the collection run
        from star1_hub.hub.commit import TagExistsError, ensure_tag_free

        try:
            ensure_tag_free(output, tag)
        except TagExistsError as exc:
            Console(stderr=True).print("[red]error:[/red]", escape(str(exc)), soft_wrap=True)
            raise typer.Exit(code=2) from None
    options = CollectOptions(
        sources=_names(sources),
        test_sets=_names(test_sets),
        skip_test_sets=list(skip_test_set),
        wildchat_repo=wildchat_repo,
        local_dir=local_dir,
        limit=limit,
        use_embeddings=not no_embeddings,
        embedding_threads=embedding_threads,
    )
    try:
        with console.status("collecting…") as status:
            result = collect(options, progress=lambda line: (status.update(line), console.log(line)))
    except (SourceError, ValueError) as exc:  # one clear message on stderr, status 2 (also outside `star1`)
        Console(stderr=True).print("[red]error:[/red]", escape(str(exc)), soft_wrap=True)
        raise typer.Exit(code=2) from exc
    console.print(f"collected {len(result.questions)} prompts from {len(result.manifest['sources'])} sources")
    for entry in result.manifest["test_sets"]:
        console.print(f"  {entry['name']}: caught {entry['caught_total']} training rows")
    if save_dir is not None:
        console.print(f"wrote {save_local(result, save_dir)}")
    if output is not None:
        commit = push_collected(result, output, tag=tag, private=private)
        tagged = f", tag {tag}: read it with --input {output}@{tag}" if tag else ""
        console.print(f"pushed {output} config `collected` at {commit}{tagged}")


def register_collect(curate_app: typer.Typer) -> None:
    """Add `collect` to the `star1 curate` command group."""
    curate_app.command("collect")(collect_command)
