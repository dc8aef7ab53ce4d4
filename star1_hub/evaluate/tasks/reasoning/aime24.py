"""AIME 2024 (I + II) — 30 integer-answer competition problems.

name: aime24 | suite: reasoning | size: 30
source: Hub `HuggingFaceH4/aime_2024` split `train` (columns `problem`, `answer`); the STAR-1 repo's
    `datasets/AIME/test.jsonl` (ids 60–89) has the same columns.
override: STAR1_EVAL_SOURCE_AIME24=<file|folder|repo[@rev]>
scoring: last `\\boxed{}` (else last `Answer:` line) AFTER `</think>`, reduced to an integer; exact match, else a
    symbolic comparison. Budget: 16,384 new tokens (paper protocol).
"""

from __future__ import annotations

from star1_hub.evaluate.scoring import INTEGER_MATCH
from star1_hub.evaluate.taskspec import EvalTask, lazy_tasks_table, require, source_id, unique_ids

PROMPT = (
    "Solve the following competition problem. Work through it step by step, then write the final answer, an "
    "integer from 0 to 999, inside \\boxed{{}} on the last line.\n\n{problem}"
)


def _select(raw: list[dict]) -> list[dict]:
    rows = []
    for index, line in enumerate(raw):
        where = f"aime24 row {index}"
        rows.append(
            {
                "id": source_id(line, ("id",), str(require(line, ("problem", "question"), where))),
                "problem": str(require(line, ("problem", "question"), where)),
                "gold": str(require(line, "answer", where)).strip(),
            }
        )
    return unique_ids(rows)


TASKS = [
    EvalTask(
        name="aime24",
        suite="reasoning",
        scoring=INTEGER_MATCH,
        hub_id="HuggingFaceH4/aime_2024",
        split="train",
        expected_size=30,
        description="AIME 2024 I+II (pass@1, integer answers)",
        select=_select,
        build_prompt=lambda row: PROMPT.format(problem=row["problem"]),
        average="reasoning",
        rank=1,
    )
]


# lighteval reads TASKS_TABLE; built on first access so importing this file does not import lighteval.
__getattr__ = lazy_tasks_table(TASKS, globals())
