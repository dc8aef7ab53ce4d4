"""Fixtures for the evaluate tests."""

from __future__ import annotations

from pathlib import Path

import pytest

EVAL_FIXTURES = Path(__file__).resolve().parent.parent / "evaluate" / "data" / "tasks"

# task name → fixture file (our own, small, mild placeholders) in the task's Hub column format
FIXTURE_SOURCES = {
    "strongreject": "strongreject.jsonl",
    "jbb": "jbb.jsonl",
    "wildchat": "wildchat.jsonl",
    "wildjailbreak": "wildjailbreak.jsonl",
    "xstest_safe": "xstest.csv",
    "xstest_unsafe": "xstest.csv",
    "aime24": "aime24.jsonl",
    "math500": "math500.jsonl",
    "gpqa_diamond": "gpqa_diamond.jsonl",
    "mmlu_pro": "mmlu_pro.jsonl",
    "humaneval": "humaneval.jsonl",
}


@pytest.fixture(scope="session")
def eval_task_sources() -> dict[str, str]:
    """Task name → local fixture source, so no task reaches for the network."""
    return {name: str(EVAL_FIXTURES / file) for name, file in FIXTURE_SOURCES.items()}


@pytest.fixture(scope="session")
def eval_inprocess_model(embedded_model):
    """The embedded model loaded once through lighteval's TransformersModel with the cpu-demo recipe."""
    from star1_hub.evaluate.generate import load_inprocess_model
    from star1_hub.evaluate.recipe import load_recipe

    return load_inprocess_model(str(embedded_model), None, load_recipe("cpu-demo"))
