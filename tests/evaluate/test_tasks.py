"""Every task file loads offline from fixtures and builds lighteval docs; selection recipes are exact."""

from __future__ import annotations

import importlib

import pytest

from star1_hub.evaluate.registry import TASK_MODULES, all_tasks, select_tasks
from star1_hub.evaluate.taskspec import TaskDataError, read_rows


def test_every_task_module_has_a_metadata_header_and_tasks():
    for module_name in TASK_MODULES:
        module = importlib.import_module(module_name)
        doc = module.__doc__ or ""
        assert "source" in doc and ("name:" in doc or "names:" in doc), module_name
        assert module.TASKS, module_name


def test_suites():
    assert {t.name for t in select_tasks("safety")} == {
        "strongreject",
        "jbb",
        "wildchat",
        "wildjailbreak",
        "xstest_safe",
        "xstest_unsafe",
    }
    assert {t.name for t in select_tasks("reasoning")} == {
        "aime24",
        "math500",
        "gpqa_diamond",
        "mmlu_pro",
        "humaneval",
    }
    assert {t.name for t in select_tasks("safety") if t.in_safety_average} == {
        "strongreject",
        "jbb",
        "wildchat",
        "wildjailbreak",
    }
    with pytest.raises(KeyError, match="known tasks"):
        select_tasks(names=["nope"])


@pytest.mark.parametrize("name", [n for n in all_tasks() if not n.startswith("demo_")])
def test_task_loads_from_fixture_and_builds_docs(name, eval_task_sources):
    task = all_tasks()[name]
    rows = task.load_rows(eval_task_sources[name])
    assert rows, name
    for row in rows:
        doc = task.to_doc(row, max_new_tokens=32)
        assert doc.query == row["prompt_text"] and doc.query.strip()
        assert doc.task_name == name and doc.generation_size == 32
        assert doc.specific["row"]["id"] == row["id"]


def test_env_var_override(monkeypatch, eval_task_sources):
    task = all_tasks()["jbb"]
    monkeypatch.setenv(task.env_var, eval_task_sources["jbb"])
    assert task.resolve_source() == eval_task_sources["jbb"]
    assert len(task.load_rows()) == 2


def test_demo_tasks_ship_with_the_package():
    sizes = {t.name: len(t.load_rows()) for t in select_tasks("demo")}
    assert sizes == {"demo_xstest": 8, "demo_harmful": 8, "demo_math": 4}


def test_wildchat_recipe(eval_task_sources):
    rows = all_tasks()["wildchat"].load_rows(eval_task_sources["wildchat"])
    # x1 (turn 2), x2 (French), x3 (not toxic), x4 (last moderation not flagged) are dropped;
    # harassment rows are ordered by score, then violence.
    assert [r["id"] for r in rows] == ["h3", "h1", "h2", "v1"]
    assert rows[0]["category"] == "harassment" and rows[0]["prompt"] == "[placeholder toxic message h3]"


def test_wildjailbreak_seeded_selection(eval_task_sources):
    import numpy as np

    raw = read_rows(eval_task_sources["wildjailbreak"])
    kept = [r for r in raw if r["data_type"] == "adversarial_harmful"]
    expected = [kept[i]["adversarial"] for i in np.random.default_rng(42).permutation(len(kept))]
    rows = all_tasks()["wildjailbreak"].load_rows(eval_task_sources["wildjailbreak"])
    assert [r["prompt"] for r in rows] == expected and len(rows) == 8


def test_gpqa_options_shuffled_with_seed_46(eval_task_sources):
    import random

    rows = all_tasks()["gpqa_diamond"].load_rows(eval_task_sources["gpqa_diamond"])
    rng = random.Random(46)
    for i, row in enumerate(rows):
        permutation = rng.sample(range(4), 4)
        assert row["options"][permutation.index(0)] == f"right{i}"
        assert row["options"]["ABCD".index(row["gold"])] == f"right{i}"
        assert "A) " in row["prompt_text"] and "Answer: $LETTER" in row["prompt_text"]


def test_mmlu_pro_letters_follow_option_count(eval_task_sources):
    rows = all_tasks()["mmlu_pro"].load_rows(eval_task_sources["mmlu_pro"])
    assert [r["letters"] for r in rows] == ["ABCDEFGHIJ", "ABCDEFGHI", "ABCDEFGH"]
    assert "(J): " in rows[0]["prompt_text"] and "(J): " not in rows[1]["prompt_text"]


def test_shared_reference_sizes(shared_data):
    tasks = all_tasks()
    assert len(tasks["xstest_safe"].load_rows(shared_data / "xstest_prompts.csv")) == 250
    assert len(tasks["xstest_unsafe"].load_rows(shared_data / "xstest_prompts.csv")) == 200
    aime = tasks["aime24"].load_rows(shared_data / "aime24.jsonl")
    assert len(aime) == 30 and aime[0]["gold"] == "204"
    assert len(tasks["math500"].load_rows(shared_data / "math500.jsonl")) == 500


def test_bad_source_errors_name_the_problem(tmp_path):
    task = all_tasks()["strongreject"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "no prompt column"}\n')
    with pytest.raises(TaskDataError, match=r"strongreject row 0: field 'forbidden_prompt' or 'prompt' missing"):
        task.load_rows(bad)
    with pytest.raises(TaskDataError, match="no such file"):
        task.load_rows("./does-not-exist.csv")
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{oops\n")
    with pytest.raises(TaskDataError, match="broken.jsonl:1"):
        task.load_rows(broken)


def test_lighteval_task_table_builds(eval_task_sources, monkeypatch, tmp_path):
    from pathlib import Path

    from star1_hub.evaluate.tasks.reasoning import aime24

    monkeypatch.setenv("STAR1_HOME", str(tmp_path))
    monkeypatch.setenv("STAR1_EVAL_SOURCE_AIME24", eval_task_sources["aime24"])
    monkeypatch.delattr(aime24, "TASKS_TABLE", raising=False)
    (config,) = aime24.TASKS_TABLE
    assert config.name == "star1_aime24" and config.generation_size == 16384  # paper budget
    staged = Path(config.hf_repo) / "test.jsonl"  # a local file is staged as the `test` split of a folder
    assert staged.resolve() == Path(eval_task_sources["aime24"]).resolve()
    doc = config.prompt_function({"id": 9, "problem": "Find 1+1.", "answer": "2"}, "star1_aime24|0")
    assert "\\boxed{}" in doc.query and doc.specific["row"]["gold"] == "2" and doc.task_name == "star1_aime24|0"
    assert doc.generation_size == 16384


def test_task_loads_from_a_local_hub_repo(local_hub, eval_task_sources):
    import uuid

    import datasets

    repo = f"evaltasks{uuid.uuid4().hex[:6]}/jbb-copy"
    rows = read_rows(eval_task_sources["jbb"])
    datasets.Dataset.from_list(rows).push_to_hub(repo, config_name="behaviors", split="harmful")
    task = all_tasks()["jbb"]  # config "behaviors", split "harmful", as on the real Hub
    loaded = task.load_rows(repo)
    assert [r["prompt"] for r in loaded] == [r["Goal"] for r in rows]
