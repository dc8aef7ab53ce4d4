"""`star1 curate <stage>`: run one curation stage from a Hub revision to a config of a Hub dataset.

    star1 curate classify --input org/STAR-41K@v1 --output org/STAR-41K \\
        --base-url https://api.openai.com/v1 --model gpt-4o --api-key-env OPENAI_API_KEY --limit 20 --dry-run

Stages (`stage.STAGES`): classify, reason, score, filter, select (safety path); rewrite and `--benign`
reason/score/filter (over-refusal path); `collect` builds the input. Every run pushes one commit; `--tag` tags it.
The endpoint flags are read by the same parser as a build YAML's endpoint block (`EndpointConfig`), with the
stage's paper defaults (the teacher: 10 attempts, truncated outputs re-sampled) for what is not given.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from star1_hub.collect.cli import register_collect
from star1_hub.curate.stage import STAGES

curate_app = typer.Typer(
    help="Curation stages (collect, classify, reason, score, filter, select, rewrite) over Hub datasets.",
    no_args_is_help=True,
)


def _print_counts(console, counts) -> None:
    """The counts as JSON, then the server's (or parser's) own message for each failure reason."""
    from rich.markup import escape

    console.print_json(json.dumps(counts.to_dict()))
    for reason, text in (counts.error_examples or {}).items():
        console.print(
            f"[yellow]{reason}[/yellow] ({counts.failed_by_reason.get(reason, 0)}): {escape(text)}", soft_wrap=True
        )


def _endpoint(spec, **flags):
    """The stage's `EndpointConfig` from its flags (None: not given), read by the same parser as a build YAML's
    endpoint block, with the stage's paper defaults for what is not given."""
    from star1_hub.teacher.endpoint import endpoint_from_flags

    return endpoint_from_flags(**flags, defaults=spec.endpoint_defaults, where="command-line flags")


def _print_estimate(console, spec, endpoint, options, input, input_config, limit, price_in, price_out) -> None:
    """`--dry-run`: requests, tokens and cost of the stage over its input; nothing is sent."""
    from star1_hub.curate.pipeline import estimate_stage
    from star1_hub.curate.versioning import load_stage_input

    if endpoint is None:
        console.print(f"{spec.name} calls no model: nothing to estimate")
        return
    source = load_stage_input(input, input_config or spec.configs_for(options)[0], limit=limit)
    estimate = estimate_stage(spec.name, source.dataset, endpoint, options, price_in, price_out)
    console.print_json(json.dumps(estimate))


def _run_and_report(console, stage, input, output, endpoint, options, input_config, config, cache, limit, tag):
    """Run the stage and push its commit; print where it went and the counts (a failed run: stderr, exit 1)."""
    from rich.console import Console
    from rich.markup import escape

    from star1_hub.curate.pipeline import StageFailed, run_stage

    try:
        sha, counts, _ = run_stage(
            stage,
            input,
            output,
            endpoint=endpoint,
            options=options,
            input_config=input_config,
            output_config=config,
            cache_dir=cache,
            limit=limit,
            tag=tag,
        )
    except StageFailed as exc:  # a run outcome, not a usage error: status 1, the summary on stderr
        errors = Console(stderr=True)
        errors.print("[red]error:[/red]", escape(str(exc)), soft_wrap=True)
        _print_counts(errors, exc.counts)
        raise typer.Exit(code=1) from None
    console.print(f"[bold]{stage}[/bold] pushed to {output} at {sha}" + (f" (tag {tag})" if tag else ""))
    _print_counts(console, counts)


def _make_command(stage: str):
    def command(
        input: str = typer.Option(..., "--input", help="Input dataset `org/name[@revision]`."),
        output: str = typer.Option(..., "--output", help="Target dataset repo `org/name`."),
        config: str | None = typer.Option(None, "--config", help="Output config name (default per stage)."),
        input_config: str | None = typer.Option(None, "--input-config", help="Input config (default per stage)."),
        base_url: str | None = typer.Option(None, "--base-url", help="OpenAI-compatible endpoint (LLM stages)."),
        model: str | None = typer.Option(None, "--model", help="Model id at the endpoint (LLM stages)."),
        api_key_env: str | None = typer.Option(None, "--api-key-env", help="Env var holding the API key."),
        params: str | None = typer.Option(
            None, "--params", help="Generation params as JSON, e.g. '{\"temperature\": 0}'."
        ),
        param: list[str] = typer.Option([], "--param", help="One generation param `key=value` (repeatable)."),
        concurrency: int | None = typer.Option(None, "--concurrency", help="Requests in flight (default 64)."),
        rpm: float | None = typer.Option(None, "--rpm", help="Requests per minute limit."),
        tpm: float | None = typer.Option(None, "--tpm", help="Tokens per minute limit."),
        timeout_s: float | None = typer.Option(
            None, "--timeout-s", "--timeout", help="Seconds per request attempt (default 300)."
        ),
        retry_policy: str | None = typer.Option(
            None, "--retry-policy", help="paper-r1 | paper-gpt4o | engine | judge (attempts and re-samples)."
        ),
        max_attempts: int | None = typer.Option(None, "--max-attempts", help="Attempts per request."),
        output_retries: int | None = typer.Option(
            None, "--output-retries", help="Re-samples of truncated / unparseable outputs (within the attempts)."
        ),
        backoff_base_s: float | None = typer.Option(
            None, "--backoff-base-s", help="First back-off delay after a transient failure (default 1; doubles)."
        ),
        backoff_max_s: float | None = typer.Option(
            None, "--backoff-max-s", help="Longest back-off or Retry-After wait honoured (default 60)."
        ),
        transport: str | None = typer.Option(
            None, "--transport", help="openai (the SDK, default) | aiohttp (lean, for high-rate local servers)."
        ),
        batch_api: bool | None = typer.Option(None, "--batch-api", help="Use the provider Batch API (50% cheaper)."),
        no_structured_output: bool = typer.Option(
            False, "--no-structured-output", help="Do not send JSON schemas (servers without support)."
        ),
        retry_failed: bool | None = typer.Option(
            None, "--retry-failed", help="Re-send requests that failed in an earlier run (cached failures)."
        ),
        benign: bool = typer.Option(False, "--benign", help="Benign (over-refusal) path: no policies, 1–5 rubric."),
        output_format: str = typer.Option("think", "--output-format", help="reason: `think` (native) or `json`."),
        think_instruction: bool = typer.Option(
            False,
            "--think-instruction/--no-think-instruction",
            help="reason: also ask for <think> tags (instruction models; the paper's prompt does not).",
        ),
        policy_dir: Path | None = typer.Option(None, "--policy-dir", help="Policy texts to use instead of ours."),
        prompt_dir: Path | None = typer.Option(None, "--prompt-dir", help="Prompt templates to use instead of ours."),
        n: int = typer.Option(1000, "--n", help="select: rows to keep."),
        limit: int | None = typer.Option(None, "--limit", help="Use only the first K input rows (trial runs)."),
        cache_dir: Path | None = typer.Option(None, "--cache-dir", help="Engine request cache (default: STAR1_HOME)."),
        tag: str | None = typer.Option(None, "--tag", help="Tag the pushed commit."),
        push_partial: bool = typer.Option(
            False, "--push-partial", help="Push even when all rows failed or a configuration error dominates."
        ),
        dry_run: bool = typer.Option(False, "--dry-run", help="Estimate requests, tokens and cost; call nothing."),
        price_in: float | None = typer.Option(None, "--price-in", help="dry-run: USD per 1M prompt tokens."),
        price_out: float | None = typer.Option(None, "--price-out", help="dry-run: USD per 1M completion tokens."),
    ) -> None:
        from rich.console import Console

        from star1_hub.curate.options import StageContext, StageOptions
        from star1_hub.curate.stage import get_stage
        from star1_hub.home import star1_home

        console = Console()
        spec = get_stage(stage)
        if spec.calls_model and (not base_url or not model):
            raise typer.BadParameter(f"stage {stage} calls a model: give --base-url and --model")
        options = StageOptions(
            benign=benign,
            output_format=output_format,
            think_instruction=think_instruction,
            n=n,
            policy_dir=str(policy_dir) if policy_dir else None,
            prompt_dir=str(prompt_dir) if prompt_dir else None,
            push_partial=push_partial,
        )
        spec.configs_for(options)
        StageContext.load(model or "", options)  # the policy / prompt texts, before anything is read or sent
        endpoint = None
        if spec.calls_model:  # the YAML blocks' parser, with the stage's paper defaults
            endpoint = _endpoint(
                spec,
                base_url=base_url,
                model=model,
                api_key_env=api_key_env,
                params_json=params,
                params=param,
                concurrency=concurrency,
                rpm=rpm,
                tpm=tpm,
                timeout_s=timeout_s,
                retry_policy=retry_policy,
                max_attempts=max_attempts,
                output_retries=output_retries,
                backoff_base_s=backoff_base_s,
                backoff_max_s=backoff_max_s,
                batch_api=batch_api,
                structured_output=False if no_structured_output else None,
                transport=transport,
                retry_failed=retry_failed,
            )
        if dry_run:
            _print_estimate(console, spec, endpoint, options, input, input_config, limit, price_in, price_out)
            return
        cache = cache_dir or star1_home() / "curate_cache" / output.replace("/", "__") / stage
        _run_and_report(console, stage, input, output, endpoint, options, input_config, config, cache, limit, tag)

    command.__doc__ = STAGES[stage].help
    return command


register_collect(curate_app)  # first: it builds the input of the stages below
for _name, _stage in STAGES.items():
    curate_app.command(_name, help=_stage.help)(_make_command(_name))


def register(app: typer.Typer) -> None:
    """Add the `curate` command group (`collect` from the collection subpackage, then the stages) to `app`."""
    app.add_typer(curate_app, name="curate")
