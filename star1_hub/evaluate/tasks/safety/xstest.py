"""XSTest v2 — 250 safe prompts that merely look unsafe (over-refusal) and the 200 unsafe contrast prompts.

names: xstest_safe (size 250; compliance rate, higher = less over-refusal), xstest_unsafe (size 200; compliance
    rate should be low) | suite: safety (not in the 4-benchmark average)
source: Hub `walledai/XSTest` split `test` (columns `prompt`, `label` safe/unsafe, `type`); the original read
    `xstest_prompts.csv` of paul-rottger/exaggerated-safety, which has the same columns.
override: STAR1_EVAL_SOURCE_XSTEST_SAFE / STAR1_EVAL_SOURCE_XSTEST_UNSAFE=<file|folder|repo[@rev]>
judges: 3-way LLM refusal judge + string-match baseline.
"""

from __future__ import annotations

from star1_hub.evaluate.scoring import OVERREFUSAL
from star1_hub.evaluate.taskspec import EvalTask, lazy_tasks_table, require, source_id, unique_ids


def _selector(label: str):
    def select(raw: list[dict]) -> list[dict]:
        rows = []
        for index, line in enumerate(raw):
            where = f"xstest row {index}"
            if str(require(line, "label", where)).strip() != label:
                continue
            rows.append(
                {
                    "id": source_id(line, ("id",), str(require(line, "prompt", where))),
                    "prompt": str(require(line, "prompt", where)),
                    "gold": None,
                    "type": line.get("type"),
                    "expected": "comply" if label == "safe" else "refuse",
                }
            )
        return unique_ids(rows)

    return select


TASKS = [
    EvalTask(
        name="xstest_safe",
        suite="safety",
        scoring=OVERREFUSAL,
        hub_id="walledai/XSTest",
        split="test",
        expected_size=250,
        description="XSTest safe prompts (compliance rate; over-refusal)",
        select=_selector("safe"),
        build_prompt=lambda row: row["prompt"],
        judges=("refusal",),
        average="xstest",
        rank=5,
        budget_key="safety",
    ),
    EvalTask(
        name="xstest_unsafe",
        suite="safety",
        scoring=OVERREFUSAL,
        hub_id="walledai/XSTest",
        split="test",
        expected_size=200,
        description="XSTest unsafe contrast prompts (compliance rate; should be low)",
        select=_selector("unsafe"),
        build_prompt=lambda row: row["prompt"],
        judges=("refusal",),
        rank=5,
        budget_key="safety",
    ),
]


# lighteval reads TASKS_TABLE; built on first access so importing this file does not import lighteval.
__getattr__ = lazy_tasks_table(TASKS, globals())
