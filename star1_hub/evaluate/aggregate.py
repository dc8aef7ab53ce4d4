"""Per-task metrics and suite averages from per-sample details."""

from __future__ import annotations

from collections import Counter

from star1_hub.evaluate.registry import all_tasks


def task_metrics(task, samples: list[dict]) -> dict:
    """Metrics of one task from its per-sample detail dicts (already scored and, if configured, judged).

    Returns a dict with `headline` (the task's main number, percent, or None when its judge did not run),
    `headline_metric`, per-metric dicts (value, ci95, n, n_excluded) and counts
    (prompts, samples, truncated, generation_errors, judge label counts).
    """
    ok = [s for s in samples if not s.get("generation_error")]
    errors = Counter(str(s["generation_error"]).split(":", 1)[0] for s in samples if s.get("generation_error"))
    out: dict = {
        "task": task.name,
        "suite": task.suite,
        "kind": task.kind,
        "expected_size": task.expected_size,  # rows of the full benchmark (None: depends on the source)
        "n_prompts": len({s["row_id"] for s in samples}),
        "n_samples": len(samples),
        "n": len(ok),  # the samples every metric of this task rests on
        "n_truncated": sum(bool(s.get("truncated", s.get("finish_reason") == "length")) for s in ok),
        "n_errors": len(samples) - len(ok),
        "errors_by_reason": dict(errors),
        "error_examples": _error_examples(samples),
        "incomplete": len(ok) < len(samples),  # flagged on the leaderboard: some samples have no generation
        "no_answer_part": sum(not s.get("has_answer", True) for s in ok),
        "n_grade_errors": sum(bool(s.get("grade_error")) for s in ok),  # grader ran out of memory/recursion: no answer
    }
    out["truncated"] = out["n_truncated"]  # the name earlier results used
    out["generation_errors"] = out["n_errors"]
    out.update(task.scoring.metrics(ok, samples))  # the family its scoring declares (star1_hub.evaluate.metrics)
    return out


def _error_examples(samples: list[dict]) -> dict:
    """One server/engine message per failure reason, so a summary shows *why* (e.g. the context limit)."""
    examples: dict[str, str] = {}
    for s in samples:
        error = s.get("generation_error")
        if error:
            examples.setdefault(str(error).split(":", 1)[0], str(error)[:300])
    return examples


def safety_average_members(suites: set[str]) -> tuple[str, ...]:
    """The registered tasks that feed the safety average within `suites` (for the paper suite: StrongREJECT, JBB,
    WildChat, WildJailbreak), so a member that was not run is named, never silently left out."""
    return tuple(n for n, t in all_tasks().items() if t.average == "safety" and t.suite in suites)


def summarise(tasks: dict, per_task: dict[str, dict]) -> dict:
    """Suite averages: safety average over the 4 benchmarks, XSTest compliance, reasoning average.

    Each task declares the average it feeds (`EvalTask.average`). An average is only given when every member has a
    value; otherwise it is None and `<average>_missing` names
    each missing member and why (not run, no judge, no generation), instead of a silent None.
    """

    def members(average: str) -> dict:
        return {n: m["headline"] for n, m in per_task.items() if tasks[n].average == average}

    safety, reasoning, overrefusal = members("safety"), members("reasoning"), members("xstest")

    def mean(values: dict) -> float | None:
        vals = list(values.values())
        return sum(vals) / len(vals) if vals and all(v is not None for v in vals) else None

    def missing(values: dict, expected: tuple[str, ...] = ()) -> dict:
        out = {name: "not run" for name in expected if name not in values}
        for name, value in values.items():
            if value is None:
                metrics = per_task[name]
                out[name] = "no generation succeeded" if not metrics.get("n") else "not judged (no judge configured)"
        return out

    safety_missing = missing(safety, safety_average_members({tasks[n].suite for n in safety} or {"safety"}))
    summary = {
        "safety_average": mean(safety) if not safety_missing else None,
        "safety_average_tasks": sorted(safety),
        "safety_average_missing": safety_missing,
        "safety_average_answer_only": mean({n: per_task[n].get("safety_rate_answer", {}).get("value") for n in safety})
        if not safety_missing
        else None,
        "reasoning_average": mean(reasoning),
        "reasoning_average_tasks": sorted(reasoning),
        "reasoning_average_missing": missing(reasoning),
        "xstest_compliance": mean(overrefusal),
        "xstest_tasks": sorted(overrefusal),
        "truncated": sum(m["n_truncated"] for m in per_task.values()),
        "n_samples": sum(m["n_samples"] for m in per_task.values()),
        "n": sum(m["n"] for m in per_task.values()),
        "n_errors": sum(m["n_errors"] for m in per_task.values()),
        "incomplete_tasks": sorted(n for n, m in per_task.items() if m["incomplete"]),
    }
    sr = [per_task[n]["strongreject_score"]["value"] for n in safety if "strongreject_score" in per_task[n]]
    summary["strongreject_score"] = sr[0] if len(sr) == 1 else None
    return summary


def failing_tasks(results: dict, max_failure_rate: float) -> dict[str, str]:
    """Tasks whose share of failed generations is above `max_failure_rate`, with a one-line reason."""
    out = {}
    for name, metrics in results["tasks"].items():
        n_samples = metrics["n_samples"] or 1
        if metrics["n_errors"] / n_samples > max_failure_rate:
            reasons = ", ".join(f"{k}: {v}" for k, v in metrics["errors_by_reason"].items())
            example = next(iter(metrics.get("error_examples", {}).values()), "")
            out[name] = f"{metrics['n_errors']}/{metrics['n_samples']} generations failed ({reasons}) {example}"
    return out
