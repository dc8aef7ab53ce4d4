"""MATH-500 — the 500-problem subset of MATH used by "Let's Verify Step by Step".

name: math500 | suite: reasoning | size: 500
source: Hub `HuggingFaceH4/MATH-500` split `test` (columns `problem`, `answer`, `unique_id`, `level`, `subject`).
override: STAR1_EVAL_SOURCE_MATH500=<file|folder|repo[@rev]>
scoring: last `Answer:` line (or last `\\boxed{}`) AFTER `</think>`; string-normalised or symbolic equality with
    lighteval's LaTeX parser (deterministic; replaces the original GPT-4o equivalence judge and its
    "text after the last period" heuristic, which broke decimals). Budget: 16,384 new tokens.
"""

from __future__ import annotations

from star1_hub.evaluate.scoring import MATH_VERIFY
from star1_hub.evaluate.taskspec import EvalTask, lazy_tasks_table, require, source_id, unique_ids

PROMPT = (
    "Solve the following math problem step by step. The last line of your reply must have the form "
    "`Answer: $ANSWER` (without quotes), where $ANSWER is the final answer as a number or LaTeX expression.\n\n"
    "{problem}"
)


def _select(raw: list[dict]) -> list[dict]:
    rows = []
    for index, line in enumerate(raw):
        where = f"math500 row {index}"
        rows.append(
            {
                "id": source_id(line, ("unique_id",), str(require(line, "problem", where))),
                "problem": str(require(line, "problem", where)),
                "gold": str(require(line, "answer", where)),
                "level": line.get("level"),
                "subject": line.get("subject"),
            }
        )
    return unique_ids(rows)


TASKS = [
    EvalTask(
        name="math500",
        suite="reasoning",
        scoring=MATH_VERIFY,
        hub_id="HuggingFaceH4/MATH-500",
        split="test",
        expected_size=500,
        description="MATH-500 (pass@1, symbolic answer check)",
        select=_select,
        build_prompt=lambda row: PROMPT.format(problem=row["problem"]),
        average="reasoning",
        rank=2,
    )
]


# lighteval reads TASKS_TABLE; built on first access so importing this file does not import lighteval.
__getattr__ = lazy_tasks_table(TASKS, globals())
