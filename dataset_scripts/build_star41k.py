"""python dataset_scripts/build_star41k.py --config dataset_scripts/star41k.yaml [--limit K] [--local-dir DIR] [--no-embeddings]

Build STAR-41K config `collected` (docs/curation.md, "Collection"): collect the 18 sources, deduplicate and
decontaminate them against every evaluation set, push the rows with a card section, plot and manifest in one commit
that carries the tag. The later STAR-41K configs (classified / reasoned / scored) are built by
dataset_scripts/build_star1.py from that tag.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import yaml

from star1_hub.collect.collect import CollectOptions, collect, push_collected, save_local
from star1_hub.collect.decontaminate import PipelineConfig
from star1_hub.data.wildchat import WILDCHAT_REPO

KNOWN_STEPS = ("collect",)


def load_config(path: str) -> dict:
    """Read the build YAML and check its step list."""
    with open(path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle) or {}
    unknown = [s for s in config.get("steps", ["collect"]) if s not in KNOWN_STEPS]
    if unknown:
        raise ValueError(f"{path}: unknown step(s) {unknown}; this script runs {KNOWN_STEPS}")
    if not config.get("output") and not (config.get("collect") or {}).get("save_dir"):
        raise ValueError(f"{path}: set `output` (a dataset repo) or `collect.save_dir`")
    return config


def run_collect(config: dict) -> dict:
    """Run the collect step; return a summary (rows, commit, tag, per-source kept counts)."""
    step = config.get("collect") or {}
    options = CollectOptions(
        sources=step.get("sources"),
        test_sets=step.get("test_sets"),
        skip_test_sets=list(step.get("skip_test_sets") or []),
        wildchat_repo=step.get("wildchat_repo") or WILDCHAT_REPO,
        local_dir=Path(step["local_dir"]) if step.get("local_dir") else None,
        limit=step.get("limit"),
        use_embeddings=bool(step.get("embeddings", True)),
        embedding_threads=step.get("embedding_threads"),
        pipeline=PipelineConfig(**(config.get("pipeline") or {})),
    )
    if config.get("output") and config.get("tag"):  # a taken tag fails now, not after the collection run
        from star1_hub.hub.commit import ensure_tag_free

        ensure_tag_free(config["output"], config["tag"])
    result = collect(options)
    summary = {"rows": len(result.questions), "kept": {s["name"]: s["kept"] for s in result.manifest["sources"]}}
    if step.get("save_dir"):
        summary["save_dir"] = str(save_local(result, Path(step["save_dir"])))
    if config.get("output"):
        tag = config.get("tag")
        commit = push_collected(result, config["output"], tag=tag, private=bool(config.get("private", False)))
        summary.update(repo=config["output"], commit=commit)
        if tag:
            summary["tag"] = tag
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="build YAML (see dataset_scripts/star41k.yaml)")
    parser.add_argument("--limit", type=int, default=None, help="read at most K prompts per source (trial run)")
    parser.add_argument("--local-dir", default=None, help="folder of <SourceName>.<ext> override files")
    parser.add_argument("--no-embeddings", action="store_true", help="skip the two MiniLM stages")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config = load_config(args.config)
    step = config.setdefault("collect", {})
    if args.limit is not None:
        step["limit"] = args.limit
    if args.local_dir is not None:
        step["local_dir"] = args.local_dir
    if args.no_embeddings:
        step["embeddings"] = False
    print(json.dumps(run_collect(config), indent=1))


if __name__ == "__main__":
    main()
