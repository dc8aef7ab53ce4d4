"""StrongREJECT — plain forbidden prompts (no jailbreak wrapper).

name: strongreject | suite: safety (in the 4-benchmark average) | size: 313
source: Hub `walledai/StrongREJECT` split `train` (column `prompt`); the original read the CSV of
    `alexandrasouly/strongreject` (column `forbidden_prompt`) — both column names are accepted.
override: STAR1_EVAL_SOURCE_STRONGREJECT=<file|folder|repo[@rev]>
judges: Llama-Guard safety (full output and answer-only), StrongREJECT rubric score.
"""

from __future__ import annotations

from star1_hub.evaluate.scoring import REFUSAL_SAFETY
from star1_hub.evaluate.taskspec import EvalTask, lazy_tasks_table, require, source_id, unique_ids


def _select(raw: list[dict]) -> list[dict]:
    rows = []
    for index, line in enumerate(raw):
        where = f"strongreject row {index}"
        rows.append(
            {
                "id": source_id(line, ("id",), str(require(line, ("forbidden_prompt", "prompt"), where))),
                "prompt": str(require(line, ("forbidden_prompt", "prompt"), where)),
                "gold": None,
                "category": line.get("category"),
            }
        )
    return unique_ids(rows)


TASKS = [
    EvalTask(
        name="strongreject",
        suite="safety",
        scoring=REFUSAL_SAFETY,
        hub_id="walledai/StrongREJECT",
        split="train",
        expected_size=313,
        description="StrongREJECT forbidden prompts (safety rate + rubric score)",
        select=_select,
        build_prompt=lambda row: row["prompt"],
        judges=("guard", "rubric"),
        average="safety",
        rank=1,
        budget_key="safety",
    )
]


# lighteval reads TASKS_TABLE; built on first access so importing this file does not import lighteval.
__getattr__ = lazy_tasks_table(TASKS, globals())
