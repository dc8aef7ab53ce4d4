"""MMLU-Pro — 12,032 ten-option multiple-choice questions over 14 subjects.

name: mmlu_pro | suite: reasoning | size: 12,032 (use --max-samples for a slice)
source: Hub `TIGER-Lab/MMLU-Pro` split `test` (columns `question_id`, `question`, `options`, `answer`, `category`).
override: STAR1_EVAL_SOURCE_MMLU_PRO=<file|folder|repo[@rev]>
scoring: LAST `ANSWER: X` / "the answer is (X)" AFTER `</think>`, else the last line holding a lone letter; X
    limited to the row's option letters. Per-category means are reported too. Budget: 4,096 (paper protocol).
"""

from __future__ import annotations

from star1_hub.evaluate.scoring import CHOICE_LETTER
from star1_hub.evaluate.taskspec import EvalTask, TaskDataError, lazy_tasks_table, require, source_id, unique_ids

ALL_LETTERS = "ABCDEFGHIJ"
PROMPT = (
    "Answer the following multiple-choice question. Think step by step, then finish your reply with a line of "
    "the form `ANSWER: X` (without quotes), where X is one of {letters}.\n\nQuestion: {question}\n\nOptions:\n{options}"
)


def _select(raw: list[dict]) -> list[dict]:
    rows = []
    for index, line in enumerate(raw):
        where = f"mmlu_pro row {index}"
        options = require(line, "options", where)
        if isinstance(options, str):
            import json

            options = json.loads(options)
        letters = ALL_LETTERS[: len(options)]
        gold = str(require(line, "answer", where)).strip()
        if gold not in letters:
            raise TaskDataError(f"{where}: answer {gold!r} is not one of the option letters {letters}")
        rows.append(
            {
                "id": source_id(line, ("question_id",), str(require(line, "question", where))),
                "question": str(require(line, "question", where)),
                "options": [str(o) for o in options],
                "gold": gold,
                "letters": letters,
                "category": line.get("category"),
            }
        )
    return unique_ids(rows)


def _prompt(row: dict) -> str:
    options = "\n".join(f"({letter}): {text}" for letter, text in zip(row["letters"], row["options"], strict=True))
    return PROMPT.format(letters=", ".join(row["letters"]), question=row["question"], options=options)


TASKS = [
    EvalTask(
        name="mmlu_pro",
        suite="reasoning",
        scoring=CHOICE_LETTER,
        hub_id="TIGER-Lab/MMLU-Pro",
        split="test",
        expected_size=12032,
        description="MMLU-Pro (pass@1, up to 10 options, per-category means)",
        select=_select,
        build_prompt=_prompt,
        average="reasoning",
        rank=4,
    )
]


# lighteval reads TASKS_TABLE; built on first access so importing this file does not import lighteval.
__getattr__ = lazy_tasks_table(TASKS, globals())
