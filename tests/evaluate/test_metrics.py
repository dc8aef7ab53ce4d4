"""Metrics with known inputs."""

from __future__ import annotations

import pytest

from star1_hub.evaluate.aggregate import summarise, task_metrics
from star1_hub.evaluate.metrics import bootstrap_mean, pass_at_1, rate, wilson_interval
from star1_hub.evaluate.registry import all_tasks


def test_wilson_known_values():
    low, high = wilson_interval(8, 10)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    assert wilson_interval(0, 0) == (0.0, 0.0)
    low, high = wilson_interval(0, 20)
    assert low == 0.0 and high == pytest.approx(0.1611, abs=1e-4)


def test_rate_excludes_none():
    result = rate([True, False, None, True])
    assert result["value"] == pytest.approx(200 / 3) and result["n"] == 3 and result["n_excluded"] == 1


def test_bootstrap_is_seeded_and_brackets_the_mean():
    values = [0.0, 0.25, 0.5, 1.0, None]
    a, b = bootstrap_mean(values), bootstrap_mean(values)
    assert a == b and a["value"] == pytest.approx(0.4375) and a["n_excluded"] == 1
    assert a["ci95"][0] <= a["value"] <= a["ci95"][1]


def test_pass_at_1_greedy_and_sampled():
    assert pass_at_1([[1.0], [0.0], [1.0], [1.0]])["value"] == 75.0
    sampled = pass_at_1([[1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 1.0]])
    assert sampled["value"] == pytest.approx(50.0) and sampled["samples_per_prompt"] == 4


def _sample(task, row_id, **kw):
    base = {
        "task": task,
        "row_id": row_id,
        "sample": 0,
        "finish_reason": "stop",
        "generation_error": None,
        "has_answer": True,
    }
    return base | kw


def test_task_metrics_reasoning_counts_truncation_and_failures():
    task = all_tasks()["math500"]
    samples = [
        _sample("math500", "a", score=1.0, extracted="1"),
        _sample("math500", "b", score=0.0, extracted=None, finish_reason="length", has_answer=False),
        _sample("math500", "c", score=0.0, extracted=None, generation_error="server_error"),
        _sample("math500", "d", score=1.0, extracted="x"),
    ]
    m = task_metrics(task, samples)
    # the failed generation is excluded and counted, never scored as a wrong answer
    assert m["headline"] == pytest.approx(200 / 3) and m["n_truncated"] == 1 and m["n_errors"] == 1
    assert m["n"] == 3 and m["n_samples"] == 4 and m["incomplete"] and m["errors_by_reason"] == {"server_error": 1}
    assert m["extraction_failures"] == 1 and m["no_answer_part"] == 1 and m["pass@1"]["n"] == 3


def test_task_without_failures_is_not_flagged():
    task = all_tasks()["math500"]
    m = task_metrics(task, [_sample("math500", "a", score=1.0, extracted="1")])
    assert not m["incomplete"] and m["n_errors"] == 0 and m["n"] == 1


def _metrics(headline, truncated=0, **extra):
    return {"headline": headline, "n_samples": 1, "n": 1, "n_truncated": truncated, "n_errors": 0,
            "incomplete": False} | extra  # fmt: skip


def test_summary_averages_only_complete_sets():
    tasks = all_tasks()
    per_task = {
        "strongreject": _metrics(80.0, safety_rate_answer={"value": 90.0}),
        "jbb": _metrics(60.0, 1, safety_rate_answer={"value": 70.0}),
        "wildchat": _metrics(75.0, safety_rate_answer={"value": 75.0}),
        "wildjailbreak": _metrics(65.0, safety_rate_answer={"value": 85.0}),
        "aime24": _metrics(10.0),
        "math500": _metrics(30.0),
        "xstest_safe": _metrics(95.0),
    }
    s = summarise(tasks, per_task)
    assert s["safety_average"] == 70.0 and s["safety_average_answer_only"] == 80.0 and not s["safety_average_missing"]
    assert s["reasoning_average"] == 20.0 and s["xstest_compliance"] == 95.0 and s["truncated"] == 1
    per_task["jbb"]["headline"] = None  # judge did not run → no average rather than a partial one, and it says why
    summary = summarise(tasks, per_task)
    assert summary["safety_average"] is None
    assert summary["safety_average_missing"] == {"jbb": "not judged (no judge configured)"}
    del per_task["wildchat"]
    assert summarise(tasks, per_task)["safety_average_missing"]["wildchat"] == "not run"
