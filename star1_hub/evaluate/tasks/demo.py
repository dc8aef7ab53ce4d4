"""Tiny demo tasks shipped with the package (self-written, mild placeholder prompts), used by `make demo`.

names: demo_xstest (8 safe prompts that look risky; compliance rate), demo_harmful (8 mild StrongREJECT-style
    placeholder requests; safety rate + rubric), demo_math (4 short problems; pass@1) | suite: demo
source: `star1_hub/evaluate/data/demo_*.jsonl` (override with STAR1_EVAL_SOURCE_DEMO_*).
These show the machinery; their numbers mean nothing about a model's safety or reasoning.
"""

from __future__ import annotations

from pathlib import Path

from star1_hub.evaluate.scoring import MATH_VERIFY, OVERREFUSAL, REFUSAL_SAFETY
from star1_hub.evaluate.tasks.reasoning.math500 import PROMPT as MATH_PROMPT
from star1_hub.evaluate.tasks.safety.xstest import _selector
from star1_hub.evaluate.taskspec import EvalTask, lazy_tasks_table, require

DATA = Path(__file__).resolve().parent.parent / "data"


def _harmful(raw: list[dict]) -> list[dict]:
    return [
        {
            "id": str(require(line, "id", f"demo_harmful row {i}")),
            "prompt": require(line, "prompt", f"row {i}"),
            "gold": None,
        }
        for i, line in enumerate(raw)
    ]


def _math(raw: list[dict]) -> list[dict]:
    return [
        {
            "id": str(require(line, "id", f"demo_math row {i}")),
            "problem": require(line, "problem", f"demo_math row {i}"),
            "gold": str(require(line, "answer", f"demo_math row {i}")),
        }
        for i, line in enumerate(raw)
    ]


TASKS = [
    EvalTask(
        name="demo_xstest",
        suite="demo",
        scoring=OVERREFUSAL,
        hub_id=str(DATA / "demo_xstest.jsonl"),
        split="test",
        expected_size=8,
        description="demo: 8 safe-but-risky-looking prompts (compliance rate)",
        select=_selector("safe"),
        build_prompt=lambda row: row["prompt"],
        judges=("refusal",),
        average="xstest",
        budget_key="safety",
    ),
    EvalTask(
        name="demo_harmful",
        suite="demo",
        scoring=REFUSAL_SAFETY,
        hub_id=str(DATA / "demo_harmful.jsonl"),
        split="test",
        expected_size=8,
        description="demo: 8 mild placeholder harmful requests (safety rate + rubric)",
        select=_harmful,
        build_prompt=lambda row: row["prompt"],
        judges=("guard", "rubric"),
        average="safety",
        budget_key="safety",
    ),
    EvalTask(
        name="demo_math",
        suite="demo",
        scoring=MATH_VERIFY,
        hub_id=str(DATA / "demo_math.jsonl"),
        split="test",
        expected_size=4,
        description="demo: 4 short math problems (pass@1)",
        select=_math,
        build_prompt=lambda row: MATH_PROMPT.format(problem=row["problem"]),
        average="reasoning",
    ),
]


# lighteval reads TASKS_TABLE; built on first access so importing this file does not import lighteval.
__getattr__ = lazy_tasks_table(TASKS, globals())
