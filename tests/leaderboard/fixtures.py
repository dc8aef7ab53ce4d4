"""Small `results.json`-shaped dicts and model repos for the leaderboard and Space tests (numbers made up here)."""

from __future__ import annotations

import uuid

BASE_CARD = "---\nlicense: apache-2.0\nbase_model: HuggingFaceTB/SmolLM2-135M-Instruct\n---\n# base\n"
TUNED_CARD = (
    "---\nlicense: apache-2.0\nbase_model: HuggingFaceTB/SmolLM2-135M-Instruct\ntags:\n- star1-hub\n- sft\n---\n"
    "# tuned\n"
)


def unique_org(prefix: str = "lb") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def make_results(
    model: str,
    *,
    revision: str | None = None,
    safety: float = 50.0,
    xstest: float = 90.0,
    math: float = 20.0,
    n_prompts: int = 8,
    errors: int = 0,
    recipe: str = "cpu-demo",
) -> dict:
    """A `run_eval` results dict with three demo tasks (harmful, over-refusal, math)."""

    def task(kind: str, metric: str, value: float, size: int, full: int) -> dict:
        return {
            "kind": kind,
            "headline_metric": metric,
            "headline": value,
            "expected_size": full,
            "n_prompts": size,
            "n_samples": size,
            "generation_errors": errors if kind == "harmful" else 0,
            "truncated": 0,
            "guard_full_labels": {"safe": size - 1, "unsafe": 1} if kind == "harmful" else {},
        }

    tasks = {
        "demo_harmful": task("harmful", "safety_rate_full", safety, n_prompts, 8),
        "demo_xstest": task("overrefusal", "compliance_rate_llm", xstest, n_prompts, 8),
        "demo_math": task("math", "pass@1", math, 4, 4),
    }
    return {
        "model": {"ref": model, "revision": revision, "given": model + (f"@{revision}" if revision else "")},
        "config": {"recipe": {"name": recipe}, "started_at": "2026-12-01T08:00:00"},
        "judge": {"guard_model": "embedded-judge"},
        "tasks": tasks,
        "summary": {
            "safety_average": safety,
            "safety_average_tasks": ["demo_harmful"],
            "reasoning_average_tasks": ["demo_math"],
            "safety_average_answer_only": safety,
            "xstest_compliance": xstest,
            "strongreject_score": None,
            "reasoning_average": math,
            "n_samples": 2 * n_prompts + 4,
            "truncated": 0,
        },
    }


def publish_pair(api, org: str) -> tuple[str, str]:
    """Two model repos (a base and its STAR-1 fine-tune, by their cards) and a leaderboard row for each."""
    from star1_hub.leaderboard import append_row, row_from_results

    base, tuned = f"{org}/SmolLM2-135M-Instruct", f"{org}/SmolLM2-135M-Instruct-STAR1-demo-long-name"
    for repo, card in ((base, BASE_CARD), (tuned, TUNED_CARD)):
        api.create_repo(repo, exist_ok=True)
        api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=repo)
    append_row(org, row_from_results(make_results(base, safety=37.5, xstest=87.5, math=25.0), "demo"))
    append_row(org, row_from_results(make_results(tuned, safety=62.5, xstest=75.0, math=0.0, errors=1), "demo"))
    return base, tuned


PAPER_TASKS = (  # the paper suite's benchmarks, their kinds and full sizes (star1_hub.evaluate.registry)
    ("strongreject", "harmful", 313),
    ("jbb", "harmful", 100),
    ("wildchat", "harmful", None),
    ("wildjailbreak", "harmful", 250),
    ("xstest_safe", "overrefusal", 250),
    ("xstest_unsafe", "overrefusal", 200),
    ("aime24", "integer", 30),
    ("math500", "math", 500),
    ("gpqa_diamond", "choice", 198),
    ("mmlu_pro", "choice", 12032),
    ("humaneval", "code", 164),
)


def make_suite_results(
    model: str, *, safety: float, xstest: float, reasoning: float, n_prompts: int = 30, errors: int = 0
) -> dict:
    """A `run_eval` results dict over the paper suite's 11 benchmarks, each on `n_prompts` prompts (so most are
    flagged partial) with the same score per group; `errors` generation errors on mmlu_pro."""
    score = {"harmful": safety, "overrefusal": xstest}
    tasks = {
        name: {
            "kind": kind,
            "expected_size": full,
            "headline_metric": "safety_rate_full" if kind == "harmful" else "pass@1",
            "headline": score.get(kind, reasoning),
            "n_prompts": n_prompts,
            "n_samples": n_prompts,
            "generation_errors": errors if name == "mmlu_pro" else 0,
            "truncated": 0,
        }
        for name, kind, full in PAPER_TASKS
    }
    results = make_results(model, safety=safety, xstest=xstest, math=reasoning, recipe="paper")
    results["tasks"] = tasks
    results["summary"] |= {"reasoning_average": reasoning, "n_samples": n_prompts * len(PAPER_TASKS)}
    return results


def publish_board(api, org: str) -> dict[str, str]:
    """A paper-suite leaderboard of three models: a base, its STAR-1 fine-tune and a second fine-tune (another
    seed) at the very same point; the fine-tunes record the base in their cards. Returns role -> model id."""
    from star1_hub.leaderboard import append_row, row_from_results

    models = {
        "base": f"{org}/DeepSeek-R1-Distill-Qwen-1.5B",
        "tuned": f"{org}/DeepSeek-R1-Distill-Qwen-1.5B-STAR1",
        "seed2": f"{org}/DeepSeek-R1-Distill-Qwen-1.5B-STAR1-seed2",
    }
    base_card = "---\nlicense: mit\n---\n# base\n"
    tuned_card = f"---\nlicense: mit\nbase_model: {models['base']}\ntags:\n- star1-hub\n- sft\n---\n# tuned\n"
    scores = {
        "base": {"safety": 41.5, "xstest": 96.0, "reasoning": 44.2},
        "tuned": {"safety": 88.4, "xstest": 90.5, "reasoning": 43.9, "errors": 2},
        "seed2": {"safety": 88.4, "xstest": 90.5, "reasoning": 43.9},
    }
    for role, repo in models.items():
        api.create_repo(repo, exist_ok=True)
        card = base_card if role == "base" else tuned_card
        api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=repo)
        append_row(org, row_from_results(make_suite_results(repo, **scores[role]), "all"))
    return models
