"""GPQA-Diamond — 198 graduate-level science multiple-choice questions.

name: gpqa_diamond | suite: reasoning | size: 198
source: Hub `Idavidrein/gpqa` (gated), config `gpqa_diamond`, split `train` (columns `Question`, `Correct Answer`,
    `Incorrect Answer 1..3`); the original read simple-evals' `gpqa_diamond.csv`, which has the same columns.
override: STAR1_EVAL_SOURCE_GPQA_DIAMOND=<file|folder|repo[@rev]>
options: shuffled per question with `random.Random("46:<Record ID>").sample(range(4), 4)`: a decision of the row
    alone, so every eval path (and any subset) gets the same permutation. simple-evals drew the permutations from
    ONE `random.Random(46)` in file order (docs/deviations.md).
scoring: LAST `Answer: X` (A–D) AFTER `</think>` — the original took the first match anywhere. Budget: 32,768.
"""

from __future__ import annotations

import random

from star1_hub.evaluate.scoring import CHOICE_LETTER
from star1_hub.evaluate.taskspec import EvalTask, lazy_tasks_table, require, source_id, unique_ids

SEED = 46
LETTERS = "ABCD"
PROMPT = (
    "Answer the following multiple-choice question. Think it through step by step, then finish your reply with a "
    "line of the form `Answer: $LETTER` (without quotes), where $LETTER is one of A, B, C, D.\n\n{question}\n\n{options}"
)


def option_permutation(row_id: str) -> list[int]:
    """The option order of one question, seeded by the question's id (same on every path, for any subset)."""
    return random.Random(f"{SEED}:{row_id}").sample(range(4), 4)


def _select(raw: list[dict]) -> list[dict]:
    rows = []
    for index, line in enumerate(raw):
        where = f"gpqa_diamond row {index}"
        choices = [str(require(line, "Correct Answer", where)).strip()] + [
            str(require(line, f"Incorrect Answer {k}", where)).strip() for k in (1, 2, 3)
        ]
        question = str(require(line, "Question", where)).strip()
        row_id = source_id(line, ("Record ID", "id"), question)
        permutation = option_permutation(row_id)
        options = [choices[i] for i in permutation]
        rows.append(
            {
                "id": row_id,
                "question": question,
                "options": options,
                "gold": LETTERS[permutation.index(0)],
                "letters": LETTERS,
            }
        )
    return unique_ids(rows)


def _prompt(row: dict) -> str:
    options = "\n".join(f"{letter}) {text}" for letter, text in zip(LETTERS, row["options"], strict=True))
    return PROMPT.format(question=row["question"], options=options)


TASKS = [
    EvalTask(
        name="gpqa_diamond",
        suite="reasoning",
        scoring=CHOICE_LETTER,
        hub_id="Idavidrein/gpqa",
        hub_config="gpqa_diamond",
        split="train",
        expected_size=198,
        description="GPQA-Diamond (pass@1, letters A-D, options shuffled per question id, seed 46)",
        select=_select,
        build_prompt=_prompt,
        average="reasoning",
        rank=3,
    )
]


# lighteval reads TASKS_TABLE; built on first access so importing this file does not import lighteval.
__getattr__ = lazy_tasks_table(TASKS, globals())
