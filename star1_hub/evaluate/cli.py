"""`star1 eval --model PATH|REPO[@REV] --suite safety --recipe recipes/eval/paper.yaml` and `star1 leaderboard show`.

    star1 eval --list-tasks
    star1 eval --model ORG/model --suite all --recipe paper --base-url http://127.0.0.1:8000/v1 --served-model m \\
        --judge-base-url http://127.0.0.1:8001/v1 --judge-model llama-guard --org ORG
    star1 eval --model ./my-model --suite demo --recipe cpu-demo --backend inprocess --max-samples 2
    star1 eval --rejudge eval-results/RUN --judge-base-url URL --judge-model M   # judges only, no generation
    star1 leaderboard show --org ORG
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import typer

logger = logging.getLogger(__name__)

leaderboard_app = typer.Typer(help="The STAR-1 leaderboard dataset on the Hub.", no_args_is_help=True)


def _parse_sources(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, source = pair.partition("=")
        if not sep or not name or not source:
            raise typer.BadParameter(f"--task-source expects NAME=SOURCE, got {pair!r}")
        out[name.strip()] = source.strip()
    return out


def list_tasks_table() -> list[dict]:
    """Rows for `--list-tasks`: name, suite, kind, source (after env overrides), size."""
    from star1_hub.evaluate.registry import all_tasks

    return [
        {
            "name": t.name,
            "suite": t.suite,
            "kind": t.kind,
            "source": t.resolve_source() + (f" [{t.hub_config}]" if t.hub_config else "") + f" ({t.split})",
            "samples": t.expected_size if t.expected_size is not None else "varies",
            "description": t.description,
        }
        for t in all_tasks().values()
    ]


def eval_command(
    model: str = typer.Option(
        None, "--model", help="Local model folder, or Hub repo owner/name or owner/name@revision."
    ),
    suite: str = typer.Option("safety", "--suite", help="safety | reasoning | all | demo"),
    recipe: str = typer.Option(
        "paper", "--recipe", help="Recipe YAML path or name in recipes/eval/ (paper, deepseek, cpu-demo)."
    ),
    base_url: str = typer.Option(
        None, "--base-url", help="OpenAI-compatible server serving the model (endpoint backend)."
    ),
    served_model: str = typer.Option(
        None, "--served-model", help="Model name on that server (default: --model without @revision)."
    ),
    backend: str = typer.Option(
        None, "--backend", help="endpoint | inprocess (default: endpoint when --base-url is set)."
    ),
    max_samples: int = typer.Option(None, "--max-samples", help="Evaluate only the first K rows of each task."),
    tasks: str = typer.Option(None, "--tasks", help="Comma-separated task names (overrides --suite)."),
    task_source: list[str] = typer.Option(
        [], "--task-source", help="NAME=SOURCE (file, folder, owner/name or owner/name@rev); repeatable."
    ),
    judge_base_url: str = typer.Option(
        None, "--judge-base-url", help="OpenAI-compatible server for the refusal/rubric judges."
    ),
    judge_model: str = typer.Option(None, "--judge-model", help="Judge model name on that server."),
    guard_base_url: str = typer.Option(
        None, "--guard-base-url", help="Server of the Llama-Guard judge (default: judge server)."
    ),
    guard_model: str = typer.Option(None, "--guard-model", help="Guard model name (default: --judge-model)."),
    output_dir: Path = typer.Option(None, "--output-dir", help="Where results.json and details/ go."),
    cache_dir: Path = typer.Option(None, "--cache-dir", help="Request cache (default: $STAR1_HOME/eval-cache)."),
    org: str = typer.Option(None, "--org", help="Publish details, model-index and leaderboard under this Hub org."),
    model_repo: str = typer.Option(
        None, "--model-repo", help="Model repo whose card gets the scores (default: --model if a repo)."
    ),
    rejudge_dir: Path = typer.Option(
        None, "--rejudge", help="Re-run only the judges on the stored generations of this run folder."
    ),
    list_tasks: bool = typer.Option(
        False, "--list-tasks", help="Print every task with its source and sample count, then exit."
    ),
) -> None:
    """Evaluate a model on the safety / reasoning suites, judge, and publish the scores."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if list_tasks:
        table = Table(title="star1 eval tasks")
        for column in ("name", "suite", "kind", "source", "samples", "description"):
            table.add_column(column)
        for row in list_tasks_table():
            table.add_row(*(str(row[c]) for c in ("name", "suite", "kind", "source", "samples", "description")))
        console.print(table)
        return
    if rejudge_dir is not None:
        from star1_hub.evaluate.judge import JudgeConfig
        from star1_hub.evaluate.runner import rejudge
        from star1_hub.home import star1_home

        if not (judge_base_url and judge_model):
            raise typer.BadParameter("--rejudge needs --judge-base-url and --judge-model")
        judge = JudgeConfig(
            base_url=judge_base_url,
            model=judge_model,
            guard_base_url=guard_base_url,
            guard_model=guard_model,
            cache_dir=cache_dir or star1_home() / "eval-cache",
        )
        run = rejudge(rejudge_dir, judge)
        console.print(json.dumps(run.results["summary"], indent=2, default=str))
        console.print(f"rejudged: {run.results_path}  judge accounting: {run.results['accounting']['judges']}")
        return
    if not model:
        raise typer.BadParameter("--model is required (or use --list-tasks)")

    from star1_hub.evaluate.judge import JudgeConfig
    from star1_hub.evaluate.recipe import load_recipe
    from star1_hub.evaluate.registry import select_tasks
    from star1_hub.evaluate.runner import model_short_name, parse_model_ref, run_eval
    from star1_hub.home import star1_home

    selected = select_tasks(suite, [t.strip() for t in tasks.split(",")] if tasks else None)
    the_recipe = load_recipe(recipe)
    backend = backend or ("endpoint" if base_url else "inprocess")
    cache = cache_dir or star1_home() / "eval-cache"
    out = output_dir or Path("eval-results") / f"{model_short_name(model)}-{the_recipe.name}-{suite}"
    judge = None
    if judge_base_url and judge_model:
        judge = JudgeConfig(
            base_url=judge_base_url,
            model=judge_model,
            guard_base_url=guard_base_url,
            guard_model=guard_model,
            cache_dir=cache,
        )
    elif any(t.kind in ("harmful", "overrefusal") for t in selected):
        console.print("[yellow]no --judge-base-url/--judge-model: safety tasks get string-match refusal rates only[/]")
    run = run_eval(
        model,
        selected,
        the_recipe,
        out,
        backend=backend,
        base_url=base_url,
        served_model=served_model or parse_model_ref(model)[0],
        max_samples=max_samples,
        cache_dir=cache,
        task_sources=_parse_sources(task_source),
        judge=judge,
    )
    table = Table(title=f"{model} — recipe {the_recipe.name} ({backend})")
    for column in ("task", "metric", "value", "95% CI", "n", "excluded", "truncated"):
        table.add_column(column)
    for name, metrics in run.results["tasks"].items():
        headline = metrics.get(metrics["headline_metric"]) or {}
        ci = headline.get("ci95")
        table.add_row(
            name,
            metrics["headline_metric"],
            "–" if metrics["headline"] is None else f"{metrics['headline']:.1f}",
            "–" if not ci else f"[{ci[0]:.1f}, {ci[1]:.1f}]",
            str(headline.get("n", metrics["n_samples"])),
            str(headline.get("n_excluded", 0)),
            str(metrics["truncated"]),
        )
    console.print(table)
    console.print(json.dumps(run.results["summary"], indent=2, default=str))
    console.print(f"results: {run.results_path}  timings: {run.results['timings']}")
    if org:
        from star1_hub.evaluate.publish import publish

        ref, _ = parse_model_ref(model)
        repo = model_repo or (None if Path(ref).exists() else ref)
        published = publish(run, org, {t.name: t for t in selected}, suite, repo)
        console.print(f"published: {published}")


def leaderboard_show(org: str = typer.Option(..., "--org", help="Hub org/user that owns star1-leaderboard.")) -> None:
    """Print the leaderboard dataset `<org>/star1-leaderboard`."""
    from star1_hub.leaderboard import show

    show(org)


def register(app: typer.Typer) -> None:
    """Add `star1 eval` and `star1 leaderboard` to the top-level app."""
    app.command("eval", help="Evaluate a model (safety / reasoning suites), judge, publish.")(eval_command)
    leaderboard_app.command("show")(leaderboard_show)
    app.add_typer(leaderboard_app, name="leaderboard")
