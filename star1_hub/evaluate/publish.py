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


def grader_args(task, metric_key: str) -> dict:
    """`metric_args` naming the validated grader behind a score and its measured agreement (see
    star1_hub.evaluate.graders); {} when the score has no validated grader (guard / LLM-judge metrics).

    Validations run once per process and only for the graders of the tasks being published.
    """
    from star1_hub.evaluate.graders import GraderUnavailable, validate

    name = task.scoring.grader_for(metric_key)  # declared by the task's scoring
    if name is None:
        return {}
    try:
        result = validate(name)
    except GraderUnavailable as exc:
        logger.warning("%s", exc)
        return {"grader": name}
    return {
        "grader": name,
        "grader_agreement": round(result.agreement, 4),
        "grader_n": result.n,
        "grader_split": result.split,
        "grader_source": result.source,
    }


def grader_line(benchmark: str, args: dict | None) -> str | None:
    """ "math500: math grader: 0.96 agreement on 215 labelled items (heldout: …)", or None without a grader."""
    import html

    args = {key: html.escape(str(value)) for key, value in (args or {}).items()}  # metadata is editable
    benchmark = html.escape(str(benchmark))
    if "grader" not in args:
        return None
    ran_in = f"; candidates ran in sandbox: {args['sandbox']}" if "sandbox" in args else ""  # code tasks
    if "grader_agreement" not in args:
        return f"{benchmark}: {args['grader']} grader: agreement not measured (its validation is unavailable){ran_in}"
    return (
        f"{benchmark}: {args['grader']} grader: {float(args['grader_agreement']):.2f} agreement on "
        f"{args.get('grader_n')} labelled items ({args.get('grader_split')}: {args.get('grader_source')}){ran_in}"
    )


GRADER_BLOCK_TITLE = "Grader validity (`star1 eval graders`):"


def with_grader_block(card_text: str, eval_results: list) -> str:
    """The card's Evaluation section with one line per score that rests on a validated grader, under the table."""
    from star1_hub.cards.model_card import EVAL_END

    seen, lines = set(), []
    for r in sorted(eval_results, key=lambda r: r.dataset_name or ""):
        line = grader_line(r.dataset_name, r.metric_args)
        if line and line not in seen:
            seen.add(line)
            lines.append(f"- {line}")
    if not lines or EVAL_END not in card_text:
        return card_text
    head, tail = card_text.split(EVAL_END, 1)
    return head.rstrip("\n") + "\n\n" + GRADER_BLOCK_TITLE + "\n\n" + "\n".join(lines) + "\n\n" + EVAL_END + tail


def details_repo(org: str, model_name: str) -> str:
    """`<org>/details_<model>` with characters the Hub rejects replaced."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", model_name).strip("._-") or "model"
    return f"{org}/details_{safe}"[:96]


def _details_readme(repo_id: str, results: dict, task_names: list[str], tasks: dict | None = None) -> str:
    configs = "\n".join(f'- config_name: {name}\n  data_files: "{name}/details.parquet"' for name in task_names)
    summary = json.dumps(results["summary"], indent=2, default=str)
    graders = []
    for name in task_names:
        metric_key = (results["tasks"].get(name) or {}).get("headline_metric") or ""
        if tasks and name in tasks:
            sandbox = (results["tasks"].get(name) or {}).get("sandbox")
            line = grader_line(name, grader_args(tasks[name], metric_key) | ({"sandbox": sandbox} if sandbox else {}))
            if line:
                graders.append(f"- {line}")
    grader_text = f"{GRADER_BLOCK_TITLE}\n\n" + "\n".join(graders) + "\n\n" if graders else ""
    return (
        f"---\nconfigs:\n{configs}\ntags:\n- star1-hub\n- evaluation-details\n---\n"
        f"# Evaluation details: {results['model']['given']}\n\n"
        f"Per-sample generations, extracted answers and judge labels written by `star1 eval` "
        f"(recipe `{results['config']['recipe']['name']}`, backend `{results['config']['backend']}`). "
        f"One config per task; `results.json` holds every parameter, seed and metric.\n\n"
        f"{grader_text}"
        f"Content warning: safety tasks contain harmful requests.\n\n```json\n{summary}\n```\n"
    )


def push_details(run, org: str, token: str | None = None, tasks: dict | None = None) -> str:
    """Upload the run's details (a config per task), results.json and card in one commit; returns the repo id."""
    from huggingface_hub import HfApi

    from star1_hub.hub.commit import Changes, commit_to_hub

    repo_id = details_repo(org, run.results["model"]["name"])
    names = sorted(run.detail_paths)
    files: dict[str, Path] = {f"{name}/details.parquet": Path(run.detail_paths[name]) for name in names}
    files["results.json"] = Path(run.results_path)
    commit_to_hub(
        repo_id,
        Changes(files=files, card=_details_readme(repo_id, run.results, names, tasks)),
        message="star1 eval: details",
        repo_type="dataset",
        api=HfApi(token=token),
    )
    return repo_id


def _dataset_type(source: str, task_name: str) -> str:
    """The Hub dataset id of a source; local files and folders are named `star1-hub/<task>`."""
    from star1_hub.hub.commit import RefError, parse_ref

    try:
        repo = parse_ref(source, what="task source").repo_id
    except RefError:  # a local file or folder
        return f"star1-hub/{task_name}"
    return f"star1-hub/{task_name}" if Path(repo).exists() else repo


def eval_results_for(results: dict, tasks: dict, source_url: str) -> list:
    """huggingface_hub `EvalResult`s: one per task headline (when measured) plus the suite averages.

    Args:
        source_url: where the numbers come from (the details dataset), shown on the model page.
    """
    from huggingface_hub import EvalResult

    from star1_hub.cards.model_card import sample_args

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
                # what the score rests on: shown in the card's Evaluation table
                metric_args=sample_args(
                    metrics.get("n_prompts"), metrics.get("n", metrics.get("n_samples")), task.expected_size
                )
                | grader_args(task, metric_key)
                | ({"sandbox": metrics["sandbox"]} if metrics.get("sandbox") else {}),  # how code candidates ran
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
    """Merge the run's EvalResults into the model card's `model-index`, regenerate its Evaluation section (score
    table with the samples each score rests on) and push it in one commit; returns the entry count.

    The card is read at the head the commit is built on, so a concurrent card update is merged, never lost.
    ModelCard.push_to_hub is not used: it validates against huggingface.co whatever HF_ENDPOINT says.
    """
    from huggingface_hub import HfApi, ModelCard, ModelCardData, hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    from star1_hub.cards.model_card import with_evaluation_section
    from star1_hub.hub.commit import Changes, commit_to_hub

    new = eval_results_for(results, tasks, source_url)
    new_keys = {(r.dataset_type, r.dataset_name, r.metric_type, r.metric_name) for r in new}
    counts: list[int] = []

    def build(head: str) -> Changes:
        try:
            readme = hf_hub_download(repo_id, "README.md", revision=head, token=token)
            card = ModelCard(Path(readme).read_text(encoding="utf-8"))
        except EntryNotFoundError:
            card = ModelCard(f"---\n---\n# {repo_id.split('/')[-1]}\n")
        data: ModelCardData = card.data
        kept = [
            r
            for r in (data.eval_results or [])
            if (r.dataset_type, r.dataset_name, r.metric_type, r.metric_name) not in new_keys
        ]
        data.eval_results = kept + new
        data.model_name = data.model_name or repo_id.split("/")[-1]
        card.text = with_grader_block(with_evaluation_section(card.text, data.eval_results), data.eval_results)
        counts.append(len(data.eval_results))
        return Changes(card=str(card))

    commit_to_hub(repo_id, build, message="star1 eval: update model-index", repo_type="model", api=HfApi(token=token))
    return counts[-1]


def publish(run, org: str, tasks: dict, suite: str, model_repo: str | None, token: str | None = None) -> dict:
    """Push details, update the model card (when the model is a Hub repo) and the leaderboard."""
    from star1_hub.leaderboard import append_row, row_from_results

    out = {"details_repo": push_details(run, org, token, tasks)}
    if model_repo:
        from huggingface_hub import constants

        source_url = f"{constants.ENDPOINT}/datasets/{out['details_repo']}"
        out["model_card_entries"] = update_model_card(model_repo, run.results, tasks, source_url, token)
        out["model_repo"] = model_repo
    out["leaderboard_repo"] = append_row(org, row_from_results(run.results, suite), token)
    path = Path(run.output_dir) / "published.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    return out
