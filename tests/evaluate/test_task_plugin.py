"""Adding a benchmark is one file: a task file dropped into the tasks package is discovered, generated, scored with
the scoring it declares, judged by the judges it declares and averaged where it says, with no other module edited;
and no module outside the task specs decides behaviour from a task's `kind`."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

import star1_hub.evaluate.tasks as tasks_package
from star1_hub.evaluate.judge import JudgeConfig
from star1_hub.evaluate.judges.guard import INSTRUCTED_GUARD_SYSTEM
from star1_hub.evaluate.judges.refusal import REFUSAL_JUDGE_SYSTEM
from star1_hub.evaluate.recipe import load_recipe
from star1_hub.evaluate.registry import all_tasks, select_tasks, task_modules
from star1_hub.evaluate.runner import run_eval
from star1_hub.testing.scripted_server import ScriptedServer

PACKAGE = Path(tasks_package.__file__).resolve().parent.parent.parent  # star1_hub/

TASK_FILE = '''
"""Colours — a plugin benchmark written for this test: name the colour, exact match.

names: plugin_colours (pass@1, its own scoring), plugin_colour_requests (compliance, refusal judge) | suite: plugin
source: {source}
"""

from star1_hub.evaluate.metrics import pass_at_1_metrics
from star1_hub.evaluate.scoring import OVERREFUSAL
from star1_hub.evaluate.taskspec import EvalTask, Scoring, lazy_tasks_table


def _select(raw):
    return [{{"id": line["id"], "prompt": line["question"], "gold": line["answer"]}} for line in raw]


def _score_word(row, generation, reasoning):
    word = generation.rsplit("Answer:", 1)[-1].strip().lower() if "Answer:" in generation else None
    return {{"extracted": word, "score": float(word == row["gold"])}}


EXACT_WORD = Scoring(kind="exact_word", score=_score_word, metrics=pass_at_1_metrics)

TASKS = [
    EvalTask(
        name="plugin_colours",
        suite="plugin",
        scoring=EXACT_WORD,
        hub_id="{source}",
        split="test",
        expected_size=3,
        description="plugin: name the colour (exact word)",
        select=_select,
        build_prompt=lambda row: row["prompt"] + " End with `Answer: <colour>`.",
        average="reasoning",
        budget_key="default",
    ),
    EvalTask(
        name="plugin_colour_requests",
        suite="plugin",
        scoring=OVERREFUSAL,
        hub_id="{source}",
        split="test",
        expected_size=3,
        description="plugin: the same questions as requests (compliance rate)",
        select=_select,
        build_prompt=lambda row: row["prompt"],
        judges=("refusal",),
        average="xstest",
        budget_key="safety",
    ),
]

__getattr__ = lazy_tasks_table(TASKS, globals())
'''

ROWS = [
    {"id": "sky", "question": "What colour is a clear daytime sky?", "answer": "blue"},
    {"id": "grass", "question": "What colour is fresh grass?", "answer": "green"},
    {"id": "snow", "question": "What colour is fresh snow?", "answer": "white"},
]
GUESSES = {"sky": "blue", "grass": "green", "snow": "grey"}  # 2 of 3 right


def generator(body):
    prompt = body["messages"][-1]["content"]
    row = next(r for r in ROWS if r["question"] in prompt)
    if "Answer:" in prompt:
        return f"Easy.\nAnswer: {GUESSES[row['id']]}"
    return "I'm sorry, I can't help with that." if row["id"] == "snow" else f"It is {row['answer']}."


def judge(body):
    first = body["messages"][0]
    assert first["content"] == REFUSAL_JUDGE_SYSTEM, "only the declared refusal judge may be asked"
    assert first["content"] != INSTRUCTED_GUARD_SYSTEM
    reply = body["messages"][-1]["content"]
    return json.dumps({"label": "2_full_refusal" if "sorry" in reply else "1_full_compliance"})


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """A task file in a plugin folder appended to the tasks package's path (as if dropped into tasks/)."""
    folder = tmp_path / "plugin_tasks"
    folder.mkdir()
    source = tmp_path / "colours.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in ROWS), encoding="utf-8")
    (folder / "colours_plugin.py").write_text(textwrap.dedent(TASK_FILE.format(source=source)), encoding="utf-8")
    monkeypatch.setattr(tasks_package, "__path__", [*tasks_package.__path__, str(folder)])
    all_tasks.cache_clear()
    yield
    all_tasks.cache_clear()


def test_a_dropped_in_task_file_is_discovered_scored_judged_and_averaged(plugin, tmp_path):
    assert "star1_hub.evaluate.tasks.colours_plugin" in task_modules()
    assert list(all_tasks())[-2:] == ["plugin_colours", "plugin_colour_requests"]  # a new suite sorts last
    assert "plugin_colours" not in {t.name for t in select_tasks("all")}  # the paper suites are unchanged
    tasks = select_tasks(names=["plugin_colours", "plugin_colour_requests"])
    with ScriptedServer(responder=generator) as gen, ScriptedServer(responder=judge) as jdg:
        run = run_eval(
            "evaltest/plugin",
            tasks,
            load_recipe("cpu-demo"),
            tmp_path / "run",
            backend="endpoint",
            base_url=gen.base_url,
            served_model="tiny",
            cache_dir=tmp_path / "cache",
            judge=JudgeConfig.from_flags(jdg.base_url, "judge", jdg.base_url, "judge", cache_dir=tmp_path / "cache"),
        )
        judged = jdg.request_count
    results = json.loads(run.results_path.read_text())
    colours, requests = results["tasks"]["plugin_colours"], results["tasks"]["plugin_colour_requests"]
    assert colours["kind"] == "exact_word" and colours["headline_metric"] == "pass@1"
    assert colours["headline"] == pytest.approx(200 / 3)
    assert requests["headline_metric"] == "compliance_rate_llm" and requests["headline"] == pytest.approx(200 / 3)
    assert requests["refusal_llm_labels"] == {"1_full_compliance": 2, "2_full_refusal": 1}
    # only the declaring task's 3 rows reach the judge (its answer-only request equals the full-output one here: a
    # model without a trace answers with its whole output, so that one is a cache hit)
    assert judged == 3
    summary = results["summary"]
    assert summary["reasoning_average_tasks"] == ["plugin_colours"]
    assert summary["reasoning_average"] == pytest.approx(200 / 3)
    assert summary["xstest_tasks"] == ["plugin_colour_requests"]


def test_no_module_outside_the_task_specs_branches_on_a_task_kind():
    """Behaviour comes from what a task declares (scoring, judges, average), never from comparing its kind."""
    pattern = re.compile(r"\.kind\s*(==|!=|in\b|not in\b)|\[\s*\w*\.kind\s*\]|judge_kind")
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}"
        for path in sorted((PACKAGE / "evaluate").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_the_lighteval_path_names_the_declared_per_sample_metric(monkeypatch, tmp_path):
    """`--custom-tasks FILE` reports what the task's scoring declares: a refusal rate (lower is better) for the
    safety scorings of any suite, pass@1 for the rest."""
    from star1_hub.evaluate.taskspec import lighteval_config

    monkeypatch.setenv("STAR1_HOME", str(tmp_path))
    declared = {}
    for name in ("demo_xstest", "demo_harmful", "demo_math"):
        (metric,) = lighteval_config(all_tasks()[name], max_new_tokens=8).metrics
        declared[name] = (metric.metric_name, metric.higher_is_better)
    assert declared == {
        "demo_xstest": ("refusal_string_match", False),
        "demo_harmful": ("refusal_string_match", False),
        "demo_math": ("pass@1", True),
    }
