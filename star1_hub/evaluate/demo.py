"""The evaluation part of `make demo`: tiny shipped slices, judged by the same local model, published locally.

    python -c "from star1_hub.evaluate.demo import run_eval_demo; ..."   (called by star1_hub/demo.py)

The slices are 8 XSTest-style safe prompts, 8 mild StrongREJECT-style placeholder requests and 4 short math
problems (`star1_hub/evaluate/data/demo_*.jsonl`). The judge is the served model itself, so the numbers show the
machinery (generation → cached judges → metrics → model card → leaderboard), not the model's safety.
"""

from __future__ import annotations

import logging
from pathlib import Path

logger = logging.getLogger(__name__)

JUDGE_NOTE = (
    "judged by the generating model itself, with the guard in 'instructed' JSON mode instead of Llama-Guard-3 "
    "(demo of the machinery only; these are not real safety scores)"
)


def run_eval_demo(
    model_dir_or_repo: str,
    base_url: str,
    served_model: str,
    judge_base_url: str,
    judge_model: str,
    org: str,
    cache_dir: Path | str,
    recipe: str = "cpu-demo",
    model_repo: str | None = None,
) -> dict:
    """Evaluate one model on the demo slices through an OpenAI-compatible server and publish to the Hub.

    Args:
        model_dir_or_repo: what is evaluated (recorded in the results; a Hub repo id also gets its card updated).
        base_url / served_model: the server generating for that model.
        judge_base_url / judge_model: the server and model used for all three judges.
        org: Hub namespace for the details dataset and `<org>/star1-leaderboard`.
        cache_dir: request cache and run folders (a second call with the same inputs sends 0 requests).
        model_repo: model repo whose card gets the scores (default: model_dir_or_repo when it is a repo id).

    Returns:
        {"model", "results_path", "summary", "tasks" (headline per task), "timings", "published", "judge_note"}
    """
    from star1_hub.evaluate.judge import JudgeConfig
    from star1_hub.evaluate.publish import publish
    from star1_hub.evaluate.recipe import load_recipe
    from star1_hub.evaluate.registry import select_tasks
    from star1_hub.evaluate.runner import model_short_name, parse_model_ref, run_eval

    cache_dir = Path(cache_dir)
    tasks = select_tasks("demo")
    the_recipe = load_recipe(recipe)
    judge = JudgeConfig.from_flags(  # one small chat model plays both roles here (instructed guard): demo only
        judge_base_url, judge_model, judge_base_url, judge_model, cache_dir=cache_dir / "requests", note=JUDGE_NOTE
    )
    logger.warning("eval demo: %s", JUDGE_NOTE)
    run = run_eval(
        model_dir_or_repo,
        tasks,
        the_recipe,
        cache_dir / "runs" / f"{model_short_name(model_dir_or_repo)}-{the_recipe.name}-demo",
        backend="endpoint",
        base_url=base_url,
        served_model=served_model,
        cache_dir=cache_dir / "requests",
        judge=judge,
    )
    from star1_hub.evaluate.aggregate import failing_tasks

    if failing := failing_tasks(run.results, 0.0):
        raise RuntimeError(f"eval demo: generations failed, nothing published: {failing}")
    ref, _ = parse_model_ref(model_dir_or_repo)
    repo = model_repo or (None if Path(ref).exists() else ref)
    published = publish(run, org, {t.name: t for t in tasks}, "demo", repo)
    return {
        "model": model_dir_or_repo,
        "results_path": str(run.results_path),
        "summary": run.results["summary"],
        "tasks": {name: m["headline"] for name, m in run.results["tasks"].items()},
        "timings": run.results["timings"],
        "accounting": run.results["accounting"],
        "published": published,
        "judge_note": JUDGE_NOTE,
    }
