"""`star1 curate <stage>`: run one curation stage from a Hub revision to a config of a Hub dataset.

    star1 curate classify --input org/STAR-41K@v1 --input-config collected --output org/STAR-41K \
        --base-url https://api.openai.com/v1 --model gpt-4o --api-key-env OPENAI_API_KEY --limit 20 --dry-run

Stages: classify, reason, score, filter, select (safety path); rewrite and `--benign` reason/score/filter
(over-refusal path). Every run pushes one commit; `--tag` tags it.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

curate_app = typer.Typer(
    help="Curation stages (classify, reason, score, filter, select, rewrite) over Hub datasets.", no_args_is_help=True
)

_HELP = {
    "classify": "Label each question with 1–4 of the 8 safety categories (or Other).",
    "reason": "Generate policy-grounded reasoning + answer (`--benign`: no policies).",
    "score": "Judge reasoning and answer on 3 criteria (0–10; `--benign`: 1–5).",
    "rewrite": "Rewrite harmful questions into harmless look-alikes (benign path).",
    "filter": "Keep rows with the maximum score on every criterion and no Other.",
    "select": "Deterministic source × category pruning to exactly --n rows.",
}


def _make_command(stage: str):
    def command(
        input: str = typer.Option(..., "--input", help="Input dataset `org/name[@revision]`."),
        output: str = typer.Option(..., "--output", help="Target dataset repo `org/name`."),
        config: str | None = typer.Option(None, "--config", help="Output config name (default per stage)."),
        input_config: str | None = typer.Option(None, "--input-config", help="Input config (default per stage)."),
        base_url: str | None = typer.Option(None, "--base-url", help="OpenAI-compatible endpoint (LLM stages)."),
        model: str | None = typer.Option(None, "--model", help="Model id at the endpoint (LLM stages)."),
        api_key_env: str | None = typer.Option(None, "--api-key-env", help="Env var holding the API key."),
        params: str = typer.Option("{}", "--params", help="Generation params as JSON, e.g. '{\"temperature\": 0}'."),
        concurrency: int = typer.Option(64, "--concurrency", help="Requests in flight."),
        rpm: float | None = typer.Option(None, "--rpm", help="Requests per minute limit."),
        tpm: float | None = typer.Option(None, "--tpm", help="Tokens per minute limit."),
        batch_api: bool = typer.Option(False, "--batch-api", help="Use the provider Batch API (50% cheaper)."),
        no_structured_output: bool = typer.Option(
            False, "--no-structured-output", help="Do not send JSON schemas (servers without support)."
        ),
        retry_failed: bool = typer.Option(
            False, "--retry-failed", help="Re-send requests that failed in an earlier run (cached failures)."
        ),
        benign: bool = typer.Option(False, "--benign", help="Benign (over-refusal) path: no policies, 1–5 rubric."),
        output_format: str = typer.Option("think", "--output-format", help="reason: `think` tags or `json`."),
        no_think_instruction: bool = typer.Option(
            False, "--no-think-instruction", help="reason: do not ask for <think> tags (native reasoners)."
        ),
        n: int = typer.Option(1000, "--n", help="select: rows to keep."),
        limit: int | None = typer.Option(None, "--limit", help="Use only the first K input rows (trial runs)."),
        cache_dir: Path | None = typer.Option(None, "--cache-dir", help="Engine request cache (default: STAR1_HOME)."),
        tag: str | None = typer.Option(None, "--tag", help="Tag the pushed commit."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Estimate requests, tokens and cost; call nothing."),
        price_in: float = typer.Option(0.0, "--price-in", help="dry-run: USD per 1M prompt tokens."),
        price_out: float = typer.Option(0.0, "--price-out", help="dry-run: USD per 1M completion tokens."),
    ) -> None:
        from rich.console import Console

        from star1_hub.curate.pipeline import (
            LLM_STAGES,
            StageOptions,
            default_configs,
            estimate_stage,
            run_stage,
        )
        from star1_hub.curate.stage import Endpoint
        from star1_hub.home import star1_home

        console = Console()
        try:
            generation = json.loads(params)
        except json.JSONDecodeError as exc:
            raise typer.BadParameter(f"--params is not valid JSON: {exc.msg}") from exc
        options = StageOptions(
            benign=benign, output_format=output_format, think_instruction=not no_think_instruction, n=n
        )
        endpoint = None
        if stage in LLM_STAGES:
            if not base_url or not model:
                raise typer.BadParameter(f"stage {stage} calls a model: give --base-url and --model")
            endpoint = Endpoint(
                base_url=base_url,
                model=model,
                params=generation,
                concurrency=concurrency,
                rpm=rpm,
                tpm=tpm,
                batch_api=batch_api,
                structured_output=not no_structured_output,
                api_key_env=api_key_env,
                retry_failed=retry_failed,
            )
        default_in, _ = default_configs(stage, benign)
        in_config = input_config if input_config is not None else default_in
        if dry_run:
            if endpoint is None:
                console.print(f"{stage} calls no model: nothing to estimate")
                return
            from star1_hub.curate.versioning import load_stage_input

            source = load_stage_input(input, in_config, limit=limit)
            estimate = estimate_stage(stage, source.dataset, endpoint, options, price_in, price_out)
            console.print_json(json.dumps(estimate))
            return
        cache = cache_dir or star1_home() / "curate_cache" / output.replace("/", "__") / stage
        sha, counts, _ = run_stage(
            stage,
            input,
            output,
            endpoint=endpoint,
            options=options,
            input_config=in_config,
            output_config=config,
            cache_dir=cache,
            limit=limit,
            tag=tag,
        )
        console.print(f"[bold]{stage}[/bold] pushed to {output} at {sha}" + (f" (tag {tag})" if tag else ""))
        console.print_json(json.dumps(counts.to_dict()))

    command.__doc__ = _HELP[stage]
    return command


for _stage in _HELP:
    curate_app.command(_stage, help=_HELP[_stage])(_make_command(_stage))


def register(app: typer.Typer) -> None:
    """Add the `curate` command group (and the collect commands, when that module exists) to `app`."""
    try:
        from star1_hub.curate.collect_cli import register_collect
    except ModuleNotFoundError as exc:
        if exc.name != "star1_hub.curate.collect_cli":
            raise
    else:
        register_collect(curate_app)
    app.add_typer(curate_app, name="curate")
