"""Whole builds from a YAML config: STAR-41K + STAR-1 (safety path) and STAR-benign-915 (benign path).

Used by `dataset_scripts/build_star1.py`, `dataset_scripts/build_benign915.py` and the demo chain. A config
names the input revision, the target repos, one endpoint block per model role (`classifier`, `teacher`, `judge`,
`rewriter`: base_url, model, params, concurrency, rpm, tpm, retry_policy, api_key_env, … — read by the same
`EndpointConfig` parser as the flags of `star1 curate <stage>`, with each stage's paper defaults), stage `options`
(including `policy_dir` / `prompt_dir`). Each stage reads the exact commit the previous stage pushed; the last
commit of each repo is tagged with `tag`. Every endpoint and text set is validated before the first paid call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from star1_hub.curate.options import StageContext, StageOptions
from star1_hub.curate.pipeline import run_stage, stage_endpoint
from star1_hub.curate.stage import get_stage
from star1_hub.errors import RecipeError
from star1_hub.teacher.endpoint import EndpointConfig

logger = logging.getLogger(__name__)

BuildConfigError = RecipeError
"""A build YAML with a missing, unknown or invalid key (the project's one `RecipeError`)."""


@dataclass(frozen=True)
class PlanStep:
    """One stage of a build: which stage, which endpoint role, where it reads from and which repo it writes."""

    stage: str
    role: str | None
    repo: str
    input_ref: str | None = None  # None: the commit the previous step pushed
    input_config: str | None = None  # None: the stage's default on its path


def load_build_config(path: str | Path) -> dict[str, Any]:
    """Read a build YAML file into a dict (validated by the build functions before any call)."""
    import yaml

    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BuildConfigError(f"build config {path} does not exist") from exc
    except yaml.YAMLError as exc:
        raise BuildConfigError(f"build config {path} is not valid YAML: {exc}") from exc
    if not isinstance(config, dict):
        raise BuildConfigError(f"{path}: expected a mapping at the top level")
    config["_path"] = str(path)
    return config


def _require(config: dict[str, Any], key: str) -> Any:
    if config.get(key) in (None, ""):
        raise BuildConfigError(f"{config.get('_path', '<config>')}: missing key {key!r}")
    return config[key]


def endpoint_from(config: dict[str, Any], role: str, stage: str) -> EndpointConfig:
    """The `EndpointConfig` of a model role from its YAML block, with `stage`'s paper defaults."""
    path = config.get("_path", "<config>")
    block = _require(config, role)
    if isinstance(block, dict):
        allowed = {*EndpointConfig.field_names(), "retry_policy"}
        unknown = sorted(set(block) - allowed)
        if unknown:
            raise BuildConfigError(f"{path}: unknown key(s) {unknown} in '{role}'; allowed: {sorted(allowed)}")
    return stage_endpoint(stage, block, where=f"{path}: '{role}'")


def _options(config: dict[str, Any], **overrides: Any) -> StageOptions:
    return StageOptions.from_mapping(config.get("options"), where=str(config.get("_path", "<config>")), **overrides)


def _cache(config: dict[str, Any], stage: str) -> Path:
    root = config.get("cache_dir")
    if root is None:
        from star1_hub.home import star1_home

        root = star1_home() / "curate_cache"
    return Path(root) / stage


def build_star1(config: dict[str, Any]) -> dict[str, Any]:
    """classify → reason → score into the STAR-41K repo, then filter → select into the STAR-1 repo."""
    star41k, star1 = _require(config, "star41k_repo"), _require(config, "star1_repo")
    plan = [
        PlanStep("classify", "classifier", star41k, _require(config, "input"), config.get("input_config")),
        PlanStep("reason", "teacher", star41k),
        PlanStep("score", "judge", star41k),
        PlanStep("filter", None, star1),
        PlanStep("select", None, star1),
    ]
    options = _options(config, benign=False, n=int(config.get("n_select", 1000)))
    return run_plan(plan, _endpoints(config, plan), options, config)


def build_benign915(config: dict[str, Any]) -> dict[str, Any]:
    """rewrite → reason (no policies) → score (1–5) → filter (all 5) into the benign repo."""
    repo = _require(config, "benign_repo")
    plan = [
        PlanStep("rewrite", "rewriter", repo, _require(config, "input"), config.get("input_config")),
        PlanStep("reason", "teacher", repo),
        PlanStep("score", "judge", repo),
        PlanStep("filter", None, repo),
    ]
    return run_plan(plan, _endpoints(config, plan), _options(config, benign=True), config)


def _endpoints(config: dict[str, Any], plan: list[PlanStep]) -> dict[str, EndpointConfig]:
    return {step.stage: endpoint_from(config, step.role, step.stage) for step in plan if step.role}


def run_plan(
    plan: list[PlanStep], endpoints: dict[str, EndpointConfig], options: StageOptions, config: dict[str, Any]
) -> dict[str, Any]:
    """Run `plan` stage by stage, each reading the commit the previous one pushed; tag the last commit per repo.

    Args:
        plan: The stages in order.
        endpoints: stage -> endpoint, for the LLM stages.
        options: Stage options shared by the whole build.
        config: `tag`, `limit` (first stage only), `cache_dir` (per-stage subfolders), `_path`.

    Returns:
        `{"stages": {stage: counts}, "commits": {stage: "repo@sha"}, "tags": {repo: tag}}`.
    """
    for step in plan:  # everything a paid call depends on is checked before the first one
        spec = get_stage(step.stage)
        spec.configs_for(options)
        if spec.calls_model and step.stage not in endpoints:
            raise BuildConfigError(f"{config.get('_path', '<config>')}: no endpoint for stage {step.stage!r}")
    from star1_hub.curate.pipeline import max_tokens_of
    from star1_hub.teacher.preflight import preflight

    for stage, endpoint in endpoints.items():  # reachable, serving the model, context ≥ max_tokens
        StageContext.load(endpoint.model, options)
        preflight(endpoint, max_tokens=max_tokens_of(stage, endpoint), longest_prompt_chars=0)
    tag, limit = config.get("tag"), config.get("limit")
    last_step = {step.repo: i for i, step in enumerate(plan)}  # each repo's last push carries the tag
    if tag:  # a taken tag fails before the first paid call, not after the build
        from star1_hub.hub.commit import ensure_tag_free

        for repo in last_step:
            ensure_tag_free(repo, tag)
    results: dict[str, Any] = {"stages": {}, "commits": {}, "tags": {}}
    previous: str | None = None
    for i, step in enumerate(plan):
        sha, counts, _ = run_stage(
            step.stage,
            step.input_ref if step.input_ref is not None else previous,
            step.repo,
            endpoint=endpoints.get(step.stage),
            options=options,
            input_config=step.input_config,
            cache_dir=_cache(config, step.stage),
            limit=limit if step.input_ref is not None else None,
            tag=tag if tag and last_step[step.repo] == i else None,  # tagged inside that commit
        )
        results["stages"][step.stage] = counts.to_dict()
        results["commits"][step.stage] = f"{step.repo}@{sha}"
        if tag and last_step[step.repo] == i:
            results["tags"][step.repo] = tag
        previous = f"{step.repo}@{sha}"
        logger.info("%s: %s", step.stage, counts.to_dict())
    return results


def build_script_main(builder, description: str, argv: list[str] | None = None) -> None:
    """The command line shared by `dataset_scripts/build_*.py`: `--config YAML [--limit K]`, prints the counts.

    Exits with status 1 and the reason on an invalid config or when a stage fails as a whole (nothing of it is
    pushed).
    """
    import argparse
    import json
    import sys

    from star1_hub.curate.pipeline import StageFailed

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", required=True, help="build YAML (see dataset_scripts/*.yaml)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first K input rows (trial run)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        config = load_build_config(args.config)
        if args.limit is not None:
            config["limit"] = args.limit
        result = builder(config)
    except RecipeError as exc:
        sys.exit(f"error: {exc}")  # status 1 with the message on stderr
    except StageFailed as exc:
        sys.exit(f"error: {exc}\n{json.dumps(exc.counts.to_dict(), indent=1)}")
    print(json.dumps(result, indent=1))  # noqa: T201 - a script's result on stdout
