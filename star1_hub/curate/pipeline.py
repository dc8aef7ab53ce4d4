"""Run one curation stage from a Hub revision to a Hub config, and estimate its cost without calling a model.

Stage names: `classify`, `reason`, `score`, `filter`, `select` (safety path) and `rewrite` plus
`reason`/`score`/`filter` with `benign=True` (over-refusal path). Each run reads `input@rev` (config
`input_config`, default per stage below), runs the stage, pushes the output as config `output_config` of the
target repo in one commit (see `versioning`), and returns the commit sha and the stage counts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from star1_hub.curate.stage import Endpoint, StageCounts, make_engine, run_llm_stage
from star1_hub.policies import POLICY_VERSION, policy_set_hash

logger = logging.getLogger(__name__)

LLM_STAGES = ("classify", "reason", "score", "rewrite")
ALL_STAGES = (*LLM_STAGES, "filter", "select")
# (input config, output config) per stage and path; None = the repo's default config.
DEFAULT_CONFIGS: dict[tuple[str, bool], tuple[str | None, str]] = {
    ("classify", False): ("collected", "classified"),  # STAR-41K config written by `star1 curate collect`
    ("reason", False): ("classified", "reasoned"),
    ("score", False): ("reasoned", "scored"),
    ("filter", False): ("scored", "filtered"),
    ("select", False): ("filtered", "default"),
    ("rewrite", True): (None, "rewritten"),
    ("reason", True): ("rewritten", "reasoned"),
    ("score", True): ("reasoned", "scored"),
    ("filter", True): ("scored", "default"),
}
# Rough completion sizes for --dry-run (tokens per request); prompts are estimated at 4 characters per token.
EXPECTED_COMPLETION_TOKENS = {"classify": 20, "reason": 1500, "score": 60, "rewrite": 40}


class StageConfigError(ValueError):
    """An unknown stage / stage-path combination or missing option."""


@dataclass
class StageOptions:
    """Options of a stage besides the endpoint (one YAML block / CLI flags)."""

    benign: bool = False
    output_format: str = "think"  # reason: "think" or "json"
    think_instruction: bool = True  # reason/think: ask for <think> tags in the prompt
    max_reasoning_chars: int = 6000
    max_answer_chars: int = 4000
    n: int = 1000  # select
    source_label: str = "4o_rewrite"  # benign filter
    batch_size: int = 512
    extra: dict[str, Any] = field(default_factory=dict)


def default_configs(stage: str, benign: bool) -> tuple[str | None, str]:
    """(input config, output config) defaults of a stage on the safety or benign path."""
    key = (stage, benign)
    if key not in DEFAULT_CONFIGS:
        path = "benign" if benign else "safety"
        valid = sorted({s for s, b in DEFAULT_CONFIGS if b == benign})
        raise StageConfigError(f"stage {stage!r} does not exist on the {path} path; choose one of {valid}")
    return DEFAULT_CONFIGS[key]


def build_llm_stage(stage: str, endpoint: Endpoint, options: StageOptions):
    """Return the `LLMStage` for `stage` with the endpoint's model and params."""
    if stage == "classify":
        from star1_hub.curate.classify import classify_stage

        return classify_stage(endpoint.model, endpoint.params)
    if stage == "reason":
        from star1_hub.curate.reason import reason_stage

        return reason_stage(
            endpoint.model,
            endpoint.params,
            with_policies=not options.benign,
            output_format=options.output_format,  # type: ignore[arg-type]
            think_instruction=options.think_instruction,
            max_reasoning_chars=options.max_reasoning_chars,
            max_answer_chars=options.max_answer_chars,
        )
    if stage == "score":
        from star1_hub.curate.score import score_stage

        return score_stage(endpoint.model, endpoint.params, benign=options.benign)
    if stage == "rewrite":
        from star1_hub.curate.rewrite import rewrite_stage

        return rewrite_stage(endpoint.model, endpoint.params)
    raise StageConfigError(f"{stage!r} is not an LLM stage; choose one of {LLM_STAGES}")


def run_stage_on_dataset(
    stage: str, dataset, endpoint: Endpoint | None, options: StageOptions, cache_dir: Path | None
) -> tuple[Any, StageCounts, dict[str, Any] | None]:
    """Run a stage in memory; return (output dataset, counts, engine accounting dict or None)."""
    if stage == "filter":
        from star1_hub.curate.filter import filter_max

        output, counts = filter_max(dataset, benign=options.benign, source_label=options.source_label)
        return output, counts, None
    if stage == "select":
        from star1_hub.curate.select import select_dataset

        output, counts = select_dataset(dataset, options.n)
        return output, counts, None
    if endpoint is None:
        raise StageConfigError(f"stage {stage!r} calls a model: give --base-url and --model")
    llm_stage = build_llm_stage(stage, endpoint, options)
    engine = make_engine(endpoint, stage, cache_dir)
    try:
        output, counts = run_llm_stage(dataset, llm_stage, engine, batch_size=options.batch_size)
    finally:
        engine.close()
    accounting = engine.accounting.to_dict()
    return output, counts, accounting


def stage_record(
    stage: str,
    input_desc: dict[str, Any],
    endpoint: Endpoint | None,
    options: StageOptions,
    counts: StageCounts,
    accounting: dict[str, Any] | None,
) -> dict[str, Any]:
    """The manifest / card entry of one stage run."""
    from dataclasses import asdict

    record: dict[str, Any] = {
        "stage": f"{stage} (benign)" if options.benign else stage,
        "input": input_desc,
        "options": {k: v for k, v in asdict(options).items() if k != "extra"} | options.extra,
        "policy_version": POLICY_VERSION,
        "policy_set_sha256": policy_set_hash(),
        "counts": counts.to_dict(),
        "accounting": accounting,
        "model": None,
        "base_url": None,
        "params": None,
    }
    if endpoint is not None and stage in LLM_STAGES:
        public = endpoint.public_dict()
        record |= {
            "model": endpoint.model,
            "base_url": endpoint.base_url,
            "params": _effective_params(stage, endpoint),
        }
        record["options"] |= {k: public[k] for k in ("concurrency", "rpm", "tpm", "batch_api", "structured_output")}
    return record


def _effective_params(stage: str, endpoint: Endpoint) -> dict[str, Any]:
    module = {"classify": "classify", "reason": "reason", "score": "score", "rewrite": "rewrite"}[stage]
    import importlib

    defaults = importlib.import_module(f"star1_hub.curate.{module}").DEFAULT_PARAMS
    return {**defaults, **endpoint.params}


def run_stage(
    stage: str,
    input_ref: str,
    output_repo: str,
    *,
    endpoint: Endpoint | None = None,
    options: StageOptions | None = None,
    input_config: str | None = "__default__",
    output_config: str | None = None,
    cache_dir: Path | None = None,
    limit: int | None = None,
    tag: str | None = None,
) -> tuple[str, StageCounts, dict[str, Any]]:
    """Read `input_ref`, run `stage`, push the result as a config of `output_repo`.

    Returns:
        (commit sha of the push, counts, the manifest record).
    """
    from star1_hub.curate.versioning import load_stage_input, push_stage, tag_build

    options = options or StageOptions()
    default_in, default_out = default_configs(stage, options.benign)
    input_config = default_in if input_config == "__default__" else input_config
    output_config = output_config or default_out
    source = load_stage_input(input_ref, input_config, limit=limit)
    output, counts, accounting = run_stage_on_dataset(stage, source.dataset, endpoint, options, cache_dir)
    record = stage_record(stage, source.describe(), endpoint, options, counts, accounting)
    sha = push_stage(output, output_repo, output_config, record)
    if tag:
        tag_build(output_repo, tag, sha, message=f"{stage} → {output_config}")
    return sha, counts, record


def estimate_stage(
    stage: str,
    dataset,
    endpoint: Endpoint,
    options: StageOptions,
    price_in_per_m: float = 0.0,
    price_out_per_m: float = 0.0,
) -> dict[str, Any]:
    """Estimate requests, tokens and cost of an LLM stage over `dataset` without calling the model.

    Prompt tokens are estimated as characters / 4 of the exact prompts that would be sent; completion tokens
    from `EXPECTED_COMPLETION_TOKENS` (capped by `max_tokens`). Prices are USD per million tokens.
    """
    llm_stage = build_llm_stage(stage, endpoint, options)
    requests = prompt_chars = 0
    for row in dataset:
        row = {"error": None, **row}
        if row.get("error") or llm_stage.skip_reason(row):
            continue
        try:
            request = llm_stage.build_request(row)
        except (KeyError, ValueError):
            continue
        requests += 1
        prompt_chars += sum(len(m["content"]) for m in request.messages)
    params = _effective_params(stage, endpoint)
    per_request = min(EXPECTED_COMPLETION_TOKENS[stage], int(params.get("max_tokens", 10**9)))
    prompt_tokens, completion_tokens = prompt_chars // 4, per_request * requests
    cost = (prompt_tokens * price_in_per_m + completion_tokens * price_out_per_m) / 1e6
    return {
        "stage": stage,
        "rows": len(dataset),
        "requests": requests,
        "prompt_tokens_est": prompt_tokens,
        "completion_tokens_est": completion_tokens,
        "cost_usd_est": round(cost, 4),
        "model": endpoint.model,
    }
