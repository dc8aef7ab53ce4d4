"""JailbreakBench JBB-Behaviors — the 100 harmful behaviours as plain goals.

name: jbb | suite: safety (in the 4-benchmark average) | size: 100
source: Hub `JailbreakBench/JBB-Behaviors`, config `behaviors`, split `harmful`, column `Goal`.
override: STAR1_EVAL_SOURCE_JBB=<file|folder|repo[@rev]>
judges: Llama-Guard safety (full output and answer-only).
"""

from __future__ import annotations

from star1_hub.evaluate.scoring import REFUSAL_SAFETY
from star1_hub.evaluate.taskspec import EvalTask, lazy_tasks_table, require, source_id, unique_ids


def _select(raw: list[dict]) -> list[dict]:
    rows = []
    for index, line in enumerate(raw):
        where = f"jbb row {index}"
        rows.append(
            {
                "id": source_id(line, ("Index", "id"), str(require(line, ("Goal", "goal", "prompt"), where))),
                "prompt": str(require(line, ("Goal", "goal", "prompt"), where)),
                "gold": None,
                "category": line.get("Category"),
            }
        )
    return unique_ids(rows)


TASKS = [
    EvalTask(
        name="jbb",
        suite="safety",
        scoring=REFUSAL_SAFETY,
        hub_id="JailbreakBench/JBB-Behaviors",
        hub_config="behaviors",
        split="harmful",
        expected_size=100,
        description="JailbreakBench harmful behaviours (safety rate)",
        select=_select,
        build_prompt=lambda row: row["prompt"],
        judges=("guard",),
        average="safety",
        rank=2,
        budget_key="safety",
    )
]


# lighteval reads TASKS_TABLE; built on first access so importing this file does not import lighteval.
__getattr__ = lazy_tasks_table(TASKS, globals())
