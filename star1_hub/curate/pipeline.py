"""Run one curation stage from a Hub revision to a Hub config, check it before it spends and before it publishes,
and estimate its cost without calling a model.

Before anything is sent, `preflight_stage` checks the endpoint (`teacher.preflight`): the key variable is set, the
server answers and serves the model, and its context covers `max_tokens` plus the stage's longest prompt.

Each run reads `input@rev` (config `input_config`, default per stage and path, see `stage.STAGES`), runs the stage,
and pushes the output as config `output_config` of the target repo in one commit (`versioning`). A stage whose
rows all failed, or whose failures are dominated by one configuration error (`connection`, `bad_request`, `auth`), is
not pushed (`StageFailed`; the engine cache keeps what was paid for) unless `push_partial` is set.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from star1_hub.curate.options import StageContext, StageOptions
from star1_hub.curate.stage import StageConfigError, StageCounts, get_stage
from star1_hub.errors import RecipeError, Star1Error
from star1_hub.teacher.endpoint import EndpointConfig

logger = logging.getLogger(__name__)

CONFIGURATION_FAILURES = ("connection", "bad_request", "auth")
"""Failure reasons that say the endpoint or the request settings are wrong, not the rows."""

__all__ = [
    "CONFIGURATION_FAILURES",
    "StageConfigError",
    "StageFailed",
    "StageOptions",
    "estimate_stage",
    "max_tokens_of",
    "preflight_stage",
    "prompts_to_send",
    "run_stage",
    "run_stage_on_dataset",
    "stage_endpoint",
    "stage_record",
    "unhealthy_reason",
]


class StageFailed(Star1Error, RuntimeError):
    """A stage ran but its output is not worth publishing; carries the counts (with the server's own messages).

    A run outcome rather than a mistake in the command: exit code 1 (the paid answers stay in the cache)."""

    exit_code = 1

    def __init__(self, message: str, counts: StageCounts):
        super().__init__(message)
        self.counts = counts


def stage_endpoint(stage: str, block: dict[str, Any], where: str) -> EndpointConfig:
    """The endpoint of an LLM stage from a YAML block or flag values, with the stage's paper defaults (e.g. R1's
    10 attempts with truncated outputs re-sampled) for keys the block leaves out. One parser for both."""
    return EndpointConfig.from_mapping(block, where=where, defaults=get_stage(stage).endpoint_defaults)


def unhealthy_reason(counts: StageCounts) -> str | None:
    """Why a stage's output should not be published (None when it may be).

    All rows that were answered (sent this run or served from the request cache) failed, or one configuration
    failure (`connection`, `bad_request`, `auth`) accounts for at least half of them.
    """
    answered = counts.sent + counts.cached
    if answered == 0:
        return None
    examples = counts.error_examples or {}

    def said(reason: str) -> str:
        return f" (server said: {examples[reason]})" if examples.get(reason) else ""

    for reason in CONFIGURATION_FAILURES:
        count = counts.failed_by_reason.get(reason, 0)
        if count and 2 * count >= answered:
            return f"{count} of {answered} requests failed with {reason}{said(reason)}"
    if counts.ok == 0:
        top = max(counts.failed_by_reason, key=counts.failed_by_reason.get)
        return f"all {answered} requests failed (most: {top} x{counts.failed_by_reason[top]}{said(top)})"
    return None


def prompts_to_send(task, dataset):
    """Yield (row, prompt characters) for every row the task would send (no upstream error, not skipped, promptable)."""
    for row in dataset:
        row = {"error": None, **row}
        if row.get("error") or (task.skip is not None and task.skip(row)):
            continue
        try:
            messages = task.prompt(row)
        except (KeyError, ValueError, TypeError):
            continue
        yield row, len(messages) if isinstance(messages, str) else sum(len(m["content"]) for m in messages)


def max_tokens_of(stage: str, endpoint: EndpointConfig) -> int | None:
    """The completion budget a stage's requests carry (the stage's paper value unless the endpoint overrides it)."""
    params = {**get_stage(stage).default_params, **endpoint.params}
    value = params.get("max_tokens", params.get("max_completion_tokens"))
    return int(value) if value is not None else None


def preflight_stage(stage: str, task, dataset, endpoint: EndpointConfig):
    """Check before sending: the key variable is set, the endpoint answers and serves the model, and its context
    covers `max_tokens` plus the longest prompt of this stage. Nothing to send: nothing to check.

    Raises:
        PreflightError: naming what is wrong and the fix (nothing was sent).
    """
    from star1_hub.teacher.preflight import preflight

    longest = max((chars for _, chars in prompts_to_send(task, dataset)), default=None)
    if longest is None:
        return None
    report = preflight(endpoint, max_tokens=max_tokens_of(stage, endpoint), longest_prompt_chars=longest)
    for note in report.notes:
        logger.warning("%s: %s", stage, note)
    return report


def run_stage_on_dataset(
    stage: str, dataset, endpoint: EndpointConfig | None, options: StageOptions, cache_dir: Path | None
) -> tuple[Any, StageCounts, dict[str, Any] | None]:
    """Run a stage in memory; return (output dataset, counts, engine accounting dict or None)."""
    spec = get_stage(stage)
    spec.configs_for(options)  # the stage exists on this path
    if not spec.calls_model:
        output, counts = spec.run(dataset, options)
        return output, counts, None
    if endpoint is None:
        raise StageConfigError(f"stage {stage!r} calls a model: give --base-url and --model")
    from star1_hub.teacher import TeacherEngine
    from star1_hub.teacher.task import run_task

    task = spec.build_task(StageContext.load(endpoint.model, options))
    preflight_stage(stage, task, dataset, endpoint)
    engine = TeacherEngine(endpoint.engine_config(stage=stage, cache_dir=cache_dir))
    try:
        output, counts = run_task(dataset, task, engine, batch_size=options.batch_size)
    finally:
        engine.close()
    return output, counts, engine.accounting.to_dict()


def stage_record(
    stage: str,
    input_desc: dict[str, Any],
    endpoint: EndpointConfig | None,
    options: StageOptions,
    counts: StageCounts,
    accounting: dict[str, Any] | None,
) -> dict[str, Any]:
    """The manifest / card entry of one stage run (texts identified by hash, endpoint without any key)."""
    spec = get_stage(stage)
    context = StageContext.load(endpoint.model if endpoint else "", options)
    record: dict[str, Any] = {
        "stage": f"{stage} (benign)" if options.benign else stage,
        "input": input_desc,
        "options": options.record(),
        "policy_version": context.policies.version,
        "policy_set_sha256": context.policies.sha256,
        "policy_set": context.policies.describe(),
        "prompt_set": context.prompts.describe(),
        "counts": counts.to_dict(),
        "accounting": accounting,
        "model": None,
        "base_url": None,
        "params": None,
    }
    if endpoint is not None and spec.calls_model:
        public = endpoint.public_dict()
        record |= {
            "model": endpoint.model,
            "base_url": endpoint.base_url,
            "params": {**spec.default_params, **endpoint.params},
        }
        keys = ("concurrency", "rpm", "tpm", "batch_api", "structured_output", "max_attempts", "output_retries")
        record["options"] |= {key: public[key] for key in keys}
    return record


def run_stage(
    stage: str,
    input_ref: str,
    output_repo: str,
    *,
    endpoint: EndpointConfig | None = None,
    options: StageOptions | None = None,
    input_config: str | None = None,
    output_config: str | None = None,
    cache_dir: Path | None = None,
    limit: int | None = None,
    tag: str | None = None,
) -> tuple[str, StageCounts, dict[str, Any]]:
    """Read `input_ref`, run `stage`, push the result as a config of `output_repo`.

    Args:
        input_config: Config to read (None: the stage's default on its path; `default` is the repo's default).
        output_config: Config to write (None: the stage's default).

    Returns:
        (commit sha of the push, counts, the manifest record).

    Raises:
        StageFailed: every request failed, or a configuration failure dominates; nothing was pushed.
    """
    from star1_hub.curate.versioning import load_stage_input, push_stage
    from star1_hub.hub.commit import ensure_tag_free

    options = options or StageOptions()
    default_in, default_out = get_stage(stage).configs_for(options)
    output_config = output_config or default_out
    if tag:  # a taken tag fails now, not after the run
        ensure_tag_free(output_repo, tag)
    source = load_stage_input(input_ref, input_config or default_in, limit=limit)
    output, counts, accounting = run_stage_on_dataset(stage, source.dataset, endpoint, options, cache_dir)
    problem = unhealthy_reason(counts)
    if problem and not options.push_partial:
        raise StageFailed(
            f"{stage}: {problem}; nothing pushed to {output_repo} (the request cache keeps every answer paid for). "
            "Fix the endpoint or the parameters and re-run, or pass --push-partial to publish anyway.",
            counts,
        )
    record = stage_record(stage, source.describe(), endpoint, options, counts, accounting)
    sha = push_stage(output, output_repo, output_config, record, tag=tag, tag_message=f"{stage} → {output_config}")
    return sha, counts, record


def estimate_stage(
    stage: str,
    dataset,
    endpoint: EndpointConfig,
    options: StageOptions,
    price_in_per_m: float | None = None,
    price_out_per_m: float | None = None,
) -> dict[str, Any]:
    """Estimate requests, tokens and cost of an LLM stage over `dataset` without calling the model.

    Prompt tokens are estimated as characters / 4 of the exact prompts that would be sent; completion tokens
    from the stage's expected completion size (capped by `max_tokens`). Prices are USD per million tokens; None
    takes the model's price from the same table the engine charges real runs with (`teacher.accounting`).
    """
    from star1_hub.teacher.accounting import BATCH_DISCOUNT, price_for

    spec = get_stage(stage)
    if not spec.calls_model:
        raise RecipeError(f"stage {stage!r} calls no model: nothing to estimate")
    task = spec.build_task(StageContext.load(endpoint.model, options))
    requests = prompt_chars = longest = 0
    for _, chars in prompts_to_send(task, dataset):
        requests += 1
        prompt_chars += chars
        longest = max(longest, chars)
    max_tokens = max_tokens_of(stage, endpoint)
    per_request = min(spec.expected_completion_tokens, max_tokens if max_tokens is not None else 10**9)
    table_in, table_out = price_for(endpoint.model)
    price_in = table_in if price_in_per_m is None else price_in_per_m
    price_out = table_out if price_out_per_m is None else price_out_per_m
    prompt_tokens, completion_tokens = prompt_chars // 4, per_request * requests
    cost = (prompt_tokens * price_in + completion_tokens * price_out) / 1e6
    if endpoint.batch_api:
        cost *= BATCH_DISCOUNT
    return {
        "stage": stage,
        "rows": len(dataset),
        "requests": requests,
        "prompt_tokens_est": prompt_tokens,
        "completion_tokens_est": completion_tokens,
        "longest_prompt_tokens_est": longest // 4,
        "price_usd_per_1m": {"prompt": price_in, "completion": price_out},
        "cost_usd_est": round(cost, 4),
        "model": endpoint.model,
    }
