"""Whole builds from a YAML config: STAR-41K + STAR-1 (safety path) and STAR-benign-915 (benign path).

Used by `dataset_scripts/build_star1.py` and `dataset_scripts/build_benign915.py`. A config names the input
revision, the target repos, one endpoint block per model role (`classifier`, `teacher`, `judge`, `rewriter`:
base_url, model, params, concurrency, rpm, tpm, batch_api, api_key_env, …) and stage options. Each stage reads
the exact commit the previous stage pushed; the last commit of each repo is tagged with `tag`.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from star1_hub.curate.pipeline import StageOptions, run_stage
from star1_hub.curate.stage import Endpoint
from star1_hub.curate.versioning import tag_build

logger = logging.getLogger(__name__)


class BuildConfigError(ValueError):
    """A build YAML with a missing or unknown key."""


def load_build_config(path: str | Path) -> dict[str, Any]:
    """Read a build YAML file into a dict (validated lazily by the build functions)."""
    import yaml

    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BuildConfigError(f"build config {path} does not exist") from exc
    if not isinstance(config, dict):
        raise BuildConfigError(f"{path}: expected a mapping at the top level")
    config["_path"] = str(path)
    return config


def _require(config: dict[str, Any], key: str) -> Any:
    if config.get(key) in (None, ""):
        raise BuildConfigError(f"{config.get('_path', '<config>')}: missing key {key!r}")
    return config[key]


def endpoint_from(config: dict[str, Any], role: str) -> Endpoint:
    """Build the `Endpoint` of a model role (`classifier`, `teacher`, `judge`, `rewriter`) from its YAML block."""
    block = dict(_require(config, role))
    allowed = {f.name for f in dataclasses.fields(Endpoint)}
    unknown = sorted(set(block) - allowed)
    if unknown:
        raise BuildConfigError(
            f"{config.get('_path')}: unknown key(s) {unknown} in '{role}'; allowed: {sorted(allowed)}"
        )
    for key in ("base_url", "model"):
        if not block.get(key):
            raise BuildConfigError(f"{config.get('_path')}: '{role}.{key}' is required")
    return Endpoint(**block)


def _options(config: dict[str, Any], **overrides: Any) -> StageOptions:
    block = dict(config.get("options") or {})
    allowed = {f.name for f in dataclasses.fields(StageOptions)}
    unknown = sorted(set(block) - allowed)
    if unknown:
        raise BuildConfigError(
            f"{config.get('_path')}: unknown key(s) {unknown} in 'options'; allowed: {sorted(allowed)}"
        )
    return StageOptions(**{**block, **overrides})


def _cache(config: dict[str, Any], stage: str) -> Path | None:
    root = config.get("cache_dir")
    if root is None:
        from star1_hub.home import star1_home

        root = star1_home() / "curate_cache"
    return Path(root) / stage


def build_star1(config: dict[str, Any]) -> dict[str, Any]:
    """classify → reason → score into the STAR-41K repo, then filter → select into the STAR-1 repo."""
    star41k, star1 = _require(config, "star41k_repo"), _require(config, "star1_repo")
    n_select = int(config.get("n_select", 1000))
    plan = [
        ("classify", "classifier", _require(config, "input"), config.get("input_config"), star41k),
        ("reason", "teacher", None, "classified", star41k),
        ("score", "judge", None, "reasoned", star41k),
        ("filter", None, None, "scored", star1),
        ("select", None, None, "filtered", star1),
    ]
    return _run_plan(config, plan, _options(config, benign=False, n=n_select))


def build_benign915(config: dict[str, Any]) -> dict[str, Any]:
    """rewrite → reason (no policies) → score (1–5) → filter (all 5) into the benign repo."""
    repo = _require(config, "benign_repo")
    plan = [
        ("rewrite", "rewriter", _require(config, "input"), config.get("input_config"), repo),
        ("reason", "teacher", None, "rewritten", repo),
        ("score", "judge", None, "reasoned", repo),
        ("filter", None, None, "scored", repo),
    ]
    return _run_plan(config, plan, _options(config, benign=True))


def _run_plan(config: dict[str, Any], plan: list, options: StageOptions) -> dict[str, Any]:
    tag = config.get("tag")
    limit = config.get("limit")
    results: dict[str, Any] = {"stages": {}, "commits": {}, "tags": {}}
    last: dict[str, str] = {}  # repo -> last sha
    previous: str | None = None
    # Validate every endpoint block before the first (paid) call.
    endpoints = {role: endpoint_from(config, role) for _, role, _, _, _ in plan if role}
    for stage, role, input_ref, input_config, repo in plan:
        endpoint = endpoints[role] if role else None
        source = input_ref if input_ref is not None else previous
        sha, counts, _ = run_stage(
            stage,
            source,
            repo,
            endpoint=endpoint,
            options=options,
            input_config=input_config,
            cache_dir=_cache(config, stage),
            limit=limit if input_ref is not None else None,
        )
        results["stages"][stage] = counts.to_dict()
        results["commits"][stage] = f"{repo}@{sha}"
        last[repo] = sha
        previous = f"{repo}@{sha}"
        logger.info("%s: %s", stage, counts.to_dict())
    if tag:
        for repo, sha in last.items():
            tag_build(repo, tag, sha, message=f"build {tag}")
            results["tags"][repo] = tag
    return results


def build_script_main(builder, description: str, argv: list[str] | None = None) -> None:
    """The command line shared by `dataset_scripts/build_*.py`: `--config YAML [--limit K]`, prints the counts."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", required=True, help="build YAML (see dataset_scripts/*.yaml)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first K input rows (trial run)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config = load_build_config(args.config)
    if args.limit is not None:
        config["limit"] = args.limit
    print(json.dumps(builder(config), indent=1))  # noqa: T201 - a script's result on stdout
