"""Every task file loads offline from fixtures and builds lighteval docs; selection recipes are exact."""

from __future__ import annotations

import importlib

import pytest

from star1_hub.evaluate.registry import all_tasks, select_tasks, task_modules
from star1_hub.evaluate.taskspec import TaskDataError, read_rows


def test_every_task_module_has_a_metadata_header_and_tasks():
    for module_name in task_modules():
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


def test_gpqa_options_permuted_per_question_id(eval_task_sources):
    import random

    rows = all_tasks()["gpqa_diamond"].load_rows(eval_task_sources["gpqa_diamond"])
    for i, row in enumerate(rows):
        permutation = random.Random(f"46:{row['id']}").sample(range(4), 4)
        assert row["options"][permutation.index(0)] == f"right{i}"
        assert row["options"]["ABCD".index(row["gold"])] == f"right{i}"
        assert "A) " in row["prompt_text"] and "Answer: $LETTER" in row["prompt_text"]
    # a row's permutation depends on its id only: the same question alone, or after others, reads the same
    raw = read_rows(eval_task_sources["gpqa_diamond"])
    alone = all_tasks()["gpqa_diamond"].select([raw[-1]])[0]
    assert alone["options"] == rows[-1]["options"] and alone["gold"] == rows[-1]["gold"]


def test_gpqa_right_answer_is_not_always_the_same_letter():
    from star1_hub.evaluate.tasks.reasoning.gpqa_diamond import option_permutation

    golds = {"ABCD"[option_permutation(f"rec{i}").index(0)] for i in range(40)}
    assert golds == set("ABCD")


def test_mmlu_pro_letters_follow_option_count(eval_task_sources):
    rows = all_tasks()["mmlu_pro"].load_rows(eval_task_sources["mmlu_pro"])
    assert [r["letters"] for r in rows] == ["ABCDEFGHIJ", "ABCDEFGHI", "ABCDEFGH"]
    assert "(J): " in rows[0]["prompt_text"] and "(J): " not in rows[1]["prompt_text"]


def test_reference_files_load(reference_data):
    tasks = all_tasks()
    assert len(tasks["xstest_safe"].load_rows(reference_data / "xstest_prompts.csv")) == 250
    assert len(tasks["xstest_unsafe"].load_rows(reference_data / "xstest_prompts.csv")) == 200
    aime = tasks["aime24"].load_rows(reference_data / "aime24.slice.jsonl")  # first 5 of the 30 problems
    assert [row["gold"] for row in aime] == ["204", "113", "371", "385", "110"]
    math500 = tasks["math500"].load_rows(reference_data / "math500.slice.jsonl")  # first 5 of 500
    assert [row["gold"] for row in math500][3:] == ["9", "\\text{Evelyn}"]


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
    from star1_hub.evaluate.tasks.reasoning import aime24

    monkeypatch.setenv("STAR1_HOME", str(tmp_path))
    monkeypatch.setenv("STAR1_EVAL_SOURCE_AIME24", eval_task_sources["aime24"])
    monkeypatch.delattr(aime24, "TASKS_TABLE", raising=False)
    (config,) = aime24.TASKS_TABLE
    assert config.name == "star1_aime24" and config.generation_size == 16384  # paper budget
    assert str(tmp_path / "lighteval-sources" / "aime24") in config.hf_repo  # the staged selection


@pytest.mark.parametrize("name", [n for n in all_tasks() if not n.startswith("demo_")])
def test_lighteval_path_sees_the_same_rows_as_star1_eval(name, eval_task_sources, monkeypatch, tmp_path):
    """`lighteval … --custom-tasks FILE` and `star1 eval`: same row ids, same prompts, same order, task by task.

    Driven through lighteval's own `LightevalTask`, which loads the dataset and calls the prompt function once per
    row (as `lighteval accelerate` does).
    """
    import importlib

    from lighteval.tasks.lighteval_task import LightevalTask

    from star1_hub.evaluate.registry import task_modules

    task = all_tasks()[name]
    monkeypatch.setenv("STAR1_HOME", str(tmp_path))
    for other, source in eval_task_sources.items():  # a task file builds the configs of all its tasks
        monkeypatch.setenv(all_tasks()[other].env_var, source)
    module = next(
        importlib.import_module(m)
        for m in task_modules()
        if any(t.name == name for t in importlib.import_module(m).TASKS)
    )
    monkeypatch.delattr(module, "TASKS_TABLE", raising=False)
    (config,) = [c for c in module.TASKS_TABLE if c.name == "star1_" + name]
    docs = LightevalTask(config).eval_docs()
    star1_rows = task.load_rows(eval_task_sources[name])
    assert [(d.specific["row"]["id"], d.query) for d in docs] == [(r["id"], r["prompt_text"]) for r in star1_rows]
    if name == "wildjailbreak":
        raw = read_rows(eval_task_sources[name])
        assert len(docs) == min(250, sum(r["data_type"] == "adversarial_harmful" for r in raw))


def test_task_loads_from_a_local_hub_repo(local_hub, eval_task_sources):
    import uuid

    import datasets

    repo = f"evaltasks{uuid.uuid4().hex[:6]}/jbb-copy"
    rows = read_rows(eval_task_sources["jbb"])
    datasets.Dataset.from_list(rows).push_to_hub(repo, config_name="behaviors", split="harmful")
    task = all_tasks()["jbb"]  # config "behaviors", split "harmful", as on the real Hub
    loaded = task.load_rows(repo)
    assert [r["prompt"] for r in loaded] == [r["Goal"] for r in rows]


def test_ids_never_collapse_to_a_position(eval_task_sources):
    for name, task in all_tasks().items():
        if name.startswith("demo_"):
            continue
        rows = task.load_rows(eval_task_sources[name])
        ids = [row["id"] for row in rows]
        assert len(set(ids)) == len(ids), name
        single = task.select(read_rows(eval_task_sources[name])[:1])
        assert not single or single[0]["id"] in ids or name in ("wildjailbreak", "wildchat"), name


def test_rows_without_an_id_column_get_content_ids(eval_task_sources):
    rows = all_tasks()["wildjailbreak"].load_rows(eval_task_sources["wildjailbreak"])
    assert all(row["id"].startswith("h") and len(row["id"]) == 17 for row in rows)
    assert "0" not in {row["id"] for row in rows}


def test_wildchat_defaults_to_the_full_release_and_a_toxic_free_copy_fails(tmp_path):
    import json

    task = all_tasks()["wildchat"]
    assert task.hub_id == "allenai/WildChat-1M-Full"
    public = tmp_path / "public.jsonl"  # shaped like the public release: no toxic rows left
    row = {"conversation_hash": "a", "conversation": [{"role": "user", "content": "hello"}], "turn": 1}
    public.write_text(json.dumps(row | {"language": "English", "toxic": False, "openai_moderation": []}) + "\n")
    with pytest.raises(TaskDataError, match="WildChat-1M-Full"):
        task.load_rows(public)
