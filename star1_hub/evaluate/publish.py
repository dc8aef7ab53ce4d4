"""Publish an evaluation: per-sample details dataset, model-card `model-index`, leaderboard row.

- `<org>/details_<model>`: one config per task (`<task>/details.parquet`) plus the run's `results.json`,
  in one commit.
- the model repo's card: an `EvalResult` per task headline metric (and the suite averages) merged into
  `model-index` (a re-run replaces the entries of the same dataset and metric, others are kept).
- `<org>/star1-leaderboard`: see star1_hub.leaderboard.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

logger = logging.getLogger(__name__)

METRIC_NAMES = {
    "safety_rate_full": "safety rate (guard, full output) %",
    "compliance_rate_llm": "compliance rate (LLM judge) %",
    "compliance_rate_string_match": "compliance rate (string match) %",
    "pass@1": "pass@1 %",
}


def details_repo(org: str, model_name: str) -> str:
    """`<org>/details_<model>` with characters the Hub rejects replaced."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", model_name).strip("._-") or "model"
    return f"{org}/details_{safe}"[:96]


def _details_readme(repo_id: str, results: dict, task_names: list[str]) -> str:
    configs = "\n".join(f'- config_name: {name}\n  data_files: "{name}/details.parquet"' for name in task_names)
    summary = json.dumps(results["summary"], indent=2, default=str)
    return (
        f"---\nconfigs:\n{configs}\ntags:\n- star1-hub\n- evaluation-details\n---\n"
        f"# Evaluation details: {results['model']['given']}\n\n"
        f"Per-sample generations, extracted answers and judge labels written by `star1 eval` "
        f"(recipe `{results['config']['recipe']['name']}`, backend `{results['config']['backend']}`). "
        f"One config per task; `results.json` holds every parameter, seed and metric.\n\n"
        f"Content warning: safety tasks contain harmful requests.\n\n```json\n{summary}\n```\n"
    )


def push_details(run, org: str, token: str | None = None) -> str:
    """Upload the run's details (a config per task) and results.json; returns the dataset repo id."""
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi(token=token)
    repo_id = details_repo(org, run.results["model"]["name"])
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
    names = sorted(run.detail_paths)
    operations = [CommitOperationAdd(f"{name}/details.parquet", str(run.detail_paths[name])) for name in names]
    operations.append(CommitOperationAdd("results.json", str(run.results_path)))
    operations.append(CommitOperationAdd("README.md", _details_readme(repo_id, run.results, names).encode()))
    api.create_commit(repo_id, operations, commit_message="star1 eval: details", repo_type="dataset")
    return repo_id


def _dataset_type(source: str, task_name: str) -> str:
    """The Hub dataset id of a source; local files and folders are named `star1-hub/<task>`."""
    repo = source.partition("@")[0]
    if repo.count("/") == 1 and not repo.startswith((".", "/", "~")) and not Path(repo).exists():
        return repo
    return f"star1-hub/{task_name}"


def eval_results_for(results: dict, tasks: dict, source_url: str) -> list:
    """huggingface_hub `EvalResult`s: one per task headline (when measured) plus the suite averages.

    Args:
        source_url: where the numbers come from (the details dataset), shown on the model page.
    """
    from huggingface_hub import EvalResult

    recipe = results["config"]["recipe"]["name"]
    out = []
    for name, metrics in results["tasks"].items():
        if metrics.get("headline") is None:
            continue
        task = tasks[name]
        metric_key = metrics["headline_metric"]
        out.append(
            EvalResult(
                task_type="text-generation",
                dataset_type=_dataset_type(results["config"]["task_sources"].get(name, task.hub_id), name),
                dataset_name=name,
                dataset_config=task.hub_config,
                dataset_split=task.split,
                metric_type=metric_key,
                metric_value=round(float(metrics["headline"]), 2),
                metric_name=f"{METRIC_NAMES.get(metric_key, metric_key)} [{recipe}]",
                source_name="star1-hub",
                source_url=source_url,
            )
        )
    summary = results["summary"]
    for key, label in (("safety_average", "safety average %"), ("reasoning_average", "reasoning average %")):
        if summary.get(key) is not None:
            out.append(
                EvalResult(
                    task_type="text-generation",
                    dataset_type="star1-hub/" + key.replace("_", "-"),
                    dataset_name=f"STAR-1 {key.replace('_', ' ')} ({', '.join(summary[key + '_tasks'])})",
                    metric_type=key,
                    metric_value=round(float(summary[key]), 2),
                    metric_name=f"{label} [{recipe}]",
                    source_name="star1-hub",
                    source_url=source_url,
                )
            )
    return out


def update_model_card(repo_id: str, results: dict, tasks: dict, source_url: str, token: str | None = None) -> int:
    """Merge the run's EvalResults into the model card's `model-index` and push it; returns the entry count."""
    from huggingface_hub import ModelCard, ModelCardData
    from huggingface_hub.errors import EntryNotFoundError

    try:
        card = ModelCard.load(repo_id, token=token)
    except EntryNotFoundError:
        card = ModelCard(f"---\n---\n# {repo_id.split('/')[-1]}\n")
    data: ModelCardData = card.data
    new = eval_results_for(results, tasks, source_url)
    new_keys = {(r.dataset_type, r.dataset_name, r.metric_type, r.metric_name) for r in new}
    kept = [
        r
        for r in (data.eval_results or [])
        if (r.dataset_type, r.dataset_name, r.metric_type, r.metric_name) not in new_keys
    ]
    data.eval_results = kept + new
    data.model_name = data.model_name or repo_id.split("/")[-1]
    # ModelCard.push_to_hub posts the YAML to huggingface.co/api/validate-yaml whatever HF_ENDPOINT says (fails
    # offline, leaks private cards): push_card validates against the configured Hub, then commits README.md.
    from huggingface_hub import HfApi

    from star1_hub.hub.card_push import push_card

    push_card(
        str(card), repo_id, repo_type="model", commit_message="star1 eval: update model-index", api=HfApi(token=token)
    )
    return len(data.eval_results)


def publish(run, org: str, tasks: dict, suite: str, model_repo: str | None, token: str | None = None) -> dict:
    """Push details, update the model card (when the model is a Hub repo) and the leaderboard."""
    from star1_hub.leaderboard import append_row, row_from_results

    out = {"details_repo": push_details(run, org, token)}
    if model_repo:
        from huggingface_hub import constants

        source_url = f"{constants.ENDPOINT}/datasets/{out['details_repo']}"
        out["model_card_entries"] = update_model_card(model_repo, run.results, tasks, source_url, token)
        out["model_repo"] = model_repo
    out["leaderboard_repo"] = append_row(org, row_from_results(run.results, suite), token)
    path = Path(run.output_dir) / "published.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    return out
