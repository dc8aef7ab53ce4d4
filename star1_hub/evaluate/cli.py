"""`star1 eval run|rejudge|tasks|graders`: evaluate a model on the safety / reasoning suites, judge, publish.

    star1 eval tasks                                   # also: star1 eval --list-tasks
    star1 eval graders                                 # each grader's agreement with labelled data
    star1 eval run --model ORG/model --suite all --recipe paper --base-url http://127.0.0.1:8000/v1 \\
        --guard-base-url http://127.0.0.1:8001/v1 --guard-model meta-llama/Llama-Guard-3-8B \\
        --judge-base-url http://127.0.0.1:8002/v1 --judge-model Qwen/Qwen2.5-7B-Instruct --org ORG
    star1 eval run --model ORG/model --recipe paper --base-url URL --preflight   # checks only, no generation
    star1 eval run --model ./my-model --suite demo --recipe cpu-demo --backend inprocess --max-samples 2
    star1 eval rejudge eval-results/RUN --judge-base-url URL --judge-model M   # judges only, no generation
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
from pathlib import Path

import typer

logger = logging.getLogger(__name__)

eval_app = typer.Typer(help="Evaluate a model (safety / reasoning suites), judge, publish.")


def _parse_sources(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, source = pair.partition("=")
        if not sep or not name or not source:
            raise typer.BadParameter(f"--task-source expects NAME=SOURCE, got {pair!r}")
        out[name.strip()] = source.strip()
    return out


def list_tasks_table() -> list[dict]:
    """Rows for `star1 eval tasks`: name, suite, kind, source (after env overrides), size."""
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


def _print_tasks(as_json: bool = False) -> None:
    """Print the task list: an 80-column-safe table (task names never cut) or JSON for scripts."""
    import json

    from star1_hub.console_tables import fit_table, table_console

    rows = list_tasks_table()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    columns = ["name", "suite", "kind", "source", "samples", "description"]
    table_console().print(fit_table(rows, columns, key_columns=["name"], title="star1 eval tasks"))


@eval_app.callback(invoke_without_command=True)
def eval_main(
    ctx: typer.Context,
    list_tasks: bool = typer.Option(False, "--list-tasks", help="Same as `star1 eval tasks`."),
) -> None:
    """Evaluate a model (safety / reasoning suites), judge, publish."""
    if list_tasks:
        _print_tasks()
        raise typer.Exit(0)
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)


@eval_app.command("tasks")
def tasks_command(as_json: bool = typer.Option(False, "--json", help="Print the tasks as JSON.")) -> None:
    """Print every task with its source and sample count."""
    _print_tasks(as_json)


@eval_app.command("graders")
def graders_command(
    as_json: bool = typer.Option(False, "--json", help="Print the validations as JSON."),
    grader: list[str] = typer.Option([], "--grader", help="Only this grader (repeatable; default: all)."),
) -> None:
    """Print each grader's measured agreement with its labelled validation data (a missing one says so)."""
    from star1_hub.console_tables import fit_table, table_console
    from star1_hub.evaluate.graders import GRADERS, validation_rows

    unknown = [name for name in grader if name not in GRADERS]
    if unknown:
        raise typer.BadParameter(f"unknown grader(s) {unknown}; known: {sorted(GRADERS)}", param_hint="--grader")
    rows = validation_rows(grader or None)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table_rows = [
        {
            **row,
            "agreement": "—" if row["agreement"] is None else f"{row['agreement']:.3f}",
            "source": row["source"] or f"not measured: {row['error']}",
        }
        for row in rows
    ]
    columns = ["grader", "agreement", "n", "split", "source"]
    table_console().print(fit_table(table_rows, columns, key_columns=["grader"], title="star1 eval graders"))


API_KEY_ENV_HELP = (
    "Name of the environment variable holding the API key of {what} (default: $OPENAI_API_KEY, else none)."
)


def _judge_config(
    judge_base_url, judge_model, guard_base_url, guard_model, cache, guard_api_key_env=None, judge_api_key_env=None
):
    """The judges by role: the guard from --guard-*, the refusal and rubric judge from --judge-*; None if neither.

    Each role sends the key from its own variable (--guard-api-key-env, --judge-api-key-env); a role sharing the
    other's server (no URL of its own) shares its key variable too."""
    from star1_hub.evaluate.judge import JudgeConfig

    roles = (("--judge", judge_model, judge_base_url, judge_api_key_env),
             ("--guard", guard_model, guard_base_url, guard_api_key_env))  # fmt: skip
    for flag, model, url, key_env in roles:
        if url and not model:
            raise typer.BadParameter(f"{flag}-base-url needs {flag}-model")
        if model and not (url or judge_base_url or guard_base_url):
            raise typer.BadParameter(f"{flag}-model needs {flag}-base-url")
        if key_env and not model:
            raise typer.BadParameter(f"{flag}-api-key-env is the key of {flag}-model's server: give {flag}-model")
    if not (judge_model or guard_model):
        return None
    return JudgeConfig.from_flags(
        guard_base_url,
        guard_model,
        judge_base_url,
        judge_model,
        cache_dir=cache,
        guard_api_key_env=guard_api_key_env,
        judge_api_key_env=judge_api_key_env,
    )


def _default_output_dir(model: str, recipe_name: str, suite: str, backend: str) -> Path:
    from star1_hub.evaluate.runner import model_short_name

    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S")
    base = Path("eval-results") / f"{model_short_name(model)}-{recipe_name}-{suite}-{backend}-{stamp}"
    folder, number = base, 1
    while folder.exists():  # two runs in the same second still get their own folders
        number += 1
        folder = base.with_name(f"{base.name}-{number}")
    return folder


@eval_app.command("run")
def run_command(
    ctx: typer.Context,
    model: str = typer.Option(..., "--model", help="Local model folder, or Hub repo owner/name[@revision]."),
    suite: str = typer.Option("safety", "--suite", help="safety | reasoning | all | demo"),
    recipe: str = typer.Option("paper", "--recipe", help="Recipe YAML path or name (paper, deepseek, cpu-demo)."),
    base_url: str = typer.Option(None, "--base-url", help="OpenAI-compatible server serving the model."),
    served_model: str = typer.Option(
        None, "--served-model", help="Model name on that server (default: --model without @revision)."
    ),
    api_key_env: str = typer.Option(None, "--api-key-env", help=API_KEY_ENV_HELP.format(what="--base-url's server")),
    backend: str = typer.Option(None, "--backend", help="endpoint | inprocess (default: endpoint with --base-url)."),
    max_samples: int = typer.Option(None, "--max-samples", help="Evaluate only the first K rows of each task."),
    tasks: str = typer.Option(None, "--tasks", help="Comma-separated task names (overrides --suite)."),
    task_source: list[str] = typer.Option(
        [], "--task-source", help="NAME=SOURCE (file, folder, owner/name or owner/name@rev); repeatable."
    ),
    guard_base_url: str = typer.Option(None, "--guard-base-url", help="Server of the guard (Llama-Guard-3)."),
    guard_model: str = typer.Option(None, "--guard-model", help="Guard model name (safety verdicts)."),
    guard_api_key_env: str = typer.Option(
        None, "--guard-api-key-env", help=API_KEY_ENV_HELP.format(what="the guard's server")
    ),
    judge_base_url: str = typer.Option(None, "--judge-base-url", help="Server of the refusal and rubric judge."),
    judge_model: str = typer.Option(None, "--judge-model", help="Refusal (XSTest) and StrongREJECT rubric judge."),
    judge_api_key_env: str = typer.Option(
        None, "--judge-api-key-env", help=API_KEY_ENV_HELP.format(what="the judge's server")
    ),
    request_timeout: float = typer.Option(
        None,
        "--timeout-s",
        "--request-timeout",
        help="Seconds per generation request attempt (default: none for a local server, 300 else).",
    ),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Re-send generations that failed before."),
    allow_failures: bool = typer.Option(
        False, "--allow-failures", help="Exit 0 and publish although tasks have failed generations (flagged)."
    ),
    max_failure_rate: float = typer.Option(
        0.0, "--max-failure-rate", help="Share of failed generations per task above which the run fails."
    ),
    preflight: bool = typer.Option(False, "--preflight", help="Only check servers, model and context, then exit."),
    prompt_dir: Path = typer.Option(
        None,
        "--prompt-dir",
        help="Prompt files replacing ours (aime24.md, math500.md, gpqa_diamond.md, mmlu_pro.md, humaneval.md, "
        "xstest_judge.md), e.g. the original texts; validated and hashed into results.json.",
    ),
    base_model: str = typer.Option(
        None,
        "--base-model",
        help="Base model whose generation prompt a fine-tuned model must match (default: the one it records).",
    ),
    output_dir: Path = typer.Option(None, "--output-dir", help="Where results.json and details/ go (a new folder)."),
    cache_dir: Path = typer.Option(None, "--cache-dir", help="Request cache (default: $STAR1_HOME/eval-cache)."),
    org: str = typer.Option(None, "--org", help="Publish details, model-index and leaderboard under this Hub org."),
    model_repo: str = typer.Option(
        None, "--model-repo", help="Model repo whose card gets the scores (default: --model if a repo)."
    ),
) -> None:
    """Check the servers, generate, score, judge, and (with --org) publish."""
    from rich.console import Console

    from star1_hub.evaluate.preflight import run_preflight
    from star1_hub.evaluate.prompts import PromptDirError, use_prompt_dir
    from star1_hub.evaluate.recipe import load_recipe
    from star1_hub.evaluate.registry import select_tasks
    from star1_hub.evaluate.runner import parse_model_ref, run_eval
    from star1_hub.home import star1_home

    try:  # validated before anything else; active (STAR1_EVAL_PROMPT_DIR) until the command ends
        ctx.with_resource(use_prompt_dir(prompt_dir))
    except PromptDirError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--prompt-dir'") from None
    console = Console()
    selected = select_tasks(suite, [t.strip() for t in tasks.split(",")] if tasks else None)
    the_recipe = load_recipe(recipe)
    backend = backend or ("endpoint" if base_url else "inprocess")
    cache = cache_dir or star1_home() / "eval-cache"
    served = served_model or parse_model_ref(model)[0]
    _check_generation_endpoint(base_url, backend, served, api_key_env, request_timeout)
    judge = _judge_config(
        judge_base_url, judge_model, guard_base_url, guard_model, cache, guard_api_key_env, judge_api_key_env
    )
    from star1_hub.evaluate.judge import roles_needed

    roles = roles_needed(selected)  # from the judges each task declares
    needs_guard, needs_judge = "guard" in roles, "judge" in roles
    report = run_preflight(
        the_recipe,
        base_url if backend == "endpoint" else None,
        served,
        judge,
        needs_guard=needs_guard and judge is not None and judge.use_guard,
        needs_judge=needs_judge and judge is not None and judge.use_judge,
        api_key_env=api_key_env,
        model=parse_model_ref(model)[0],
        model_revision=parse_model_ref(model)[1],
        base_model=base_model,
    )
    _print_preflight(console, report)
    if preflight:
        console.print("preflight passed")
        return
    if judge is None and (needs_guard or needs_judge):
        console.print("[yellow]no --guard-model / --judge-model: safety tasks get string-match refusal rates only[/]")
    out = output_dir or _default_output_dir(model, the_recipe.name, suite, backend)
    if (out / "results.json").exists():
        raise typer.BadParameter(f"{out} already holds a run's results.json; choose a new --output-dir")
    run = run_eval(
        model,
        selected,
        the_recipe,
        out,
        backend=backend,
        base_url=base_url,
        served_model=served,
        max_samples=max_samples,
        cache_dir=cache,
        task_sources=_parse_sources(task_source),
        judge=judge,
        api_key_env=api_key_env,
        request_timeout_s=request_timeout,
        retry_failed=retry_failed,
    )
    _print_run(console, run, f"{model} — recipe {the_recipe.name} ({backend})")
    _stop_on_failures(console, run, max_failure_rate, allow_failures)
    if org:
        from star1_hub.evaluate.publish import publish

        ref, _ = parse_model_ref(model)
        repo = model_repo or (None if Path(ref).exists() else ref)
        published = publish(run, org, {t.name: t for t in selected}, suite, repo)
        console.print(f"published: {published}")


def _check_generation_endpoint(
    base_url: str | None, backend: str, served: str, api_key_env: str | None, request_timeout: float | None
) -> None:
    """The generation server's flags, checked as every endpoint is (before preflight prints the URL anywhere)."""
    from star1_hub.evaluate.generate import default_request_timeout
    from star1_hub.teacher.endpoint import endpoint_from_flags
    from star1_hub.teacher.redact import url_credentials

    if base_url and (credentials := url_credentials(base_url)):
        raise typer.BadParameter(
            f"carries credentials ({credentials}); give the bare endpoint URL and put the key in an environment "
            "variable (the URL is written into results.json and the cards)",
            param_hint="'--base-url'",
        )
    if api_key_env and backend != "endpoint":
        raise typer.BadParameter("is the key of --base-url's server: give --base-url", param_hint="'--api-key-env'")
    if backend == "endpoint" and base_url:  # the same validation as every endpoint (e.g. a key given as its name)
        endpoint_from_flags(
            base_url=base_url,
            model=served,
            api_key_env=api_key_env,
            timeout_s=default_request_timeout(base_url, request_timeout),  # 0: none, as documented
            where="--base-url / --api-key-env / --timeout-s",
        )


def _print_preflight(console, report) -> None:
    """Passed checks on stdout; failures on stderr, where a user error belongs, then exit 2."""
    from rich.console import Console
    from rich.markup import escape

    errors = Console(stderr=True)
    for check in report.checks:
        if check["ok"]:
            console.print(f"[green]{check['role']}: {escape(check['detail'])}[/]", soft_wrap=True)
        else:  # one line each, never wrapped inside a flag or a model name (copyable)
            errors.print(f"[red]{check['role']}: {escape(check['detail'])}[/]", soft_wrap=True)
    if not report.ok:
        errors.print("[red]preflight failed: nothing was generated[/]")
        raise typer.Exit(2)


def _print_run(console, run, title: str) -> None:
    """The headline table (one row per task), the summary as JSON, and where the results are."""
    from rich.table import Table

    table = Table(title=title)
    for column in ("task", "metric", "value", "95% CI", "n", "excluded", "truncated", "errors"):
        table.add_column(column)
    for name, metrics in run.results["tasks"].items():
        headline = metrics.get(metrics["headline_metric"]) or {}
        ci = headline.get("ci95")
        table.add_row(
            name + (" [red](incomplete)[/]" if metrics["incomplete"] else ""),
            metrics["headline_metric"],
            "–" if metrics["headline"] is None else f"{metrics['headline']:.1f}",
            "–" if not ci else f"[{ci[0]:.1f}, {ci[1]:.1f}]",
            str(headline.get("n", metrics["n"])),
            str(headline.get("n_excluded", 0)),
            str(metrics["n_truncated"]),
            str(metrics["n_errors"]),
        )
    console.print(table)
    console.print(json.dumps(run.results["summary"], indent=2, default=str))
    console.print(f"results: {run.results_path}  timings: {run.results['timings']}")


def _stop_on_failures(console, run, max_failure_rate: float, allow_failures: bool) -> None:
    """Name each task with too many failed generations; exit 1 (nothing published) unless --allow-failures."""
    from star1_hub.evaluate.aggregate import failing_tasks

    failing = failing_tasks(run.results, max_failure_rate)
    for name, why in failing.items():
        console.print(f"[red]{name}: {why}[/]")
    if failing and not allow_failures:
        console.print(
            "[red]generations failed: nothing published. Fix the server and re-run the same command (failed "
            "requests are sent again, finished ones come from the cache), or pass --allow-failures[/]"
        )
        raise typer.Exit(1)


@eval_app.command("rejudge")
def rejudge_command(
    run_dir: Path = typer.Argument(..., help="The --output-dir of a finished `star1 eval run`."),
    guard_base_url: str = typer.Option(None, "--guard-base-url", help="Server of the guard."),
    guard_model: str = typer.Option(None, "--guard-model", help="Guard model name."),
    guard_api_key_env: str = typer.Option(
        None, "--guard-api-key-env", help=API_KEY_ENV_HELP.format(what="the guard's server")
    ),
    judge_base_url: str = typer.Option(None, "--judge-base-url", help="Server of the refusal and rubric judge."),
    judge_model: str = typer.Option(None, "--judge-model", help="Refusal and rubric judge model name."),
    judge_api_key_env: str = typer.Option(
        None, "--judge-api-key-env", help=API_KEY_ENV_HELP.format(what="the judge's server")
    ),
    cache_dir: Path = typer.Option(None, "--cache-dir", help="Request cache (default: $STAR1_HOME/eval-cache)."),
) -> None:
    """Re-run only the judges on a finished run's stored generations (never regenerates)."""
    from rich.console import Console

    from star1_hub.evaluate.runner import rejudge
    from star1_hub.home import star1_home

    judge = _judge_config(
        judge_base_url,
        judge_model,
        guard_base_url,
        guard_model,
        cache_dir or star1_home() / "eval-cache",
        guard_api_key_env,
        judge_api_key_env,
    )
    if judge is None:
        raise typer.BadParameter("rejudge needs --guard-model and/or --judge-model (with their base URLs)")
    run = rejudge(run_dir, judge)
    console = Console()
    console.print(json.dumps(run.results["summary"], indent=2, default=str))
    console.print(f"rejudged: {run.results_path}  judge accounting: {run.results['accounting']['judges']}")


def register(app: typer.Typer) -> None:
    """Add `star1 eval` (run, rejudge, tasks) to the top-level app."""
    app.add_typer(eval_app, name="eval")
