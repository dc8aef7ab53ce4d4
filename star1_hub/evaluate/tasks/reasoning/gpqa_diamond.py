"""GPQA-Diamond — 198 graduate-level science multiple-choice questions.

name: gpqa_diamond | suite: reasoning | size: 198
source: Hub `Idavidrein/gpqa` (gated), config `gpqa_diamond`, split `train` (columns `Question`, `Correct Answer`,
    `Incorrect Answer 1..3`); the original read simple-evals' `gpqa_diamond.csv`, which has the same columns.
override: STAR1_EVAL_SOURCE_GPQA_DIAMOND=<file|folder|repo[@rev]>
options: shuffled with ONE `random.Random(46)` drawing `sample(range(4), 4)` per row in file order (simple-evals).
scoring: LAST `Answer: X` (A–D) AFTER `</think>` — the original took the first match anywhere. Budget: 32,768.
"""

from __future__ import annotations

import random

from star1_hub.evaluate.taskspec import EvalTask, lazy_tasks_table, require

SEED = 46
LETTERS = "ABCD"
PROMPT = (
    "Answer the following multiple-choice question. Think it through step by step, then finish your reply with a "
    "line of the form `Answer: $LETTER` (without quotes), where $LETTER is one of A, B, C, D.\n\n{question}\n\n{options}"
)


def _select(raw: list[dict]) -> list[dict]:
    rng = random.Random(SEED)
    rows = []
    for index, line in enumerate(raw):
        where = f"gpqa_diamond row {index}"
        choices = [str(require(line, "Correct Answer", where)).strip()] + [
            str(require(line, f"Incorrect Answer {k}", where)).strip() for k in (1, 2, 3)
        ]
        permutation = rng.sample(range(4), 4)
        options = [choices[i] for i in permutation]
        rows.append(
            {
                "id": str(line.get("Record ID", index)),
                "question": str(require(line, "Question", where)).strip(),
                "options": options,
                "gold": LETTERS[permutation.index(0)],
                "letters": LETTERS,
            }
        )
    return rows


def _prompt(row: dict) -> str:
    options = "\n".join(f"{letter}) {text}" for letter, text in zip(LETTERS, row["options"], strict=True))
    return PROMPT.format(question=row["question"], options=options)


TASKS = [
    EvalTask(
        name="gpqa_diamond",
        suite="reasoning",
        kind="choice",
        hub_id="Idavidrein/gpqa",
        hub_config="gpqa_diamond",
        split="train",
        expected_size=198,
        description="GPQA-Diamond (pass@1, letters A-D, options shuffled with seed 46)",
        select=_select,
        build_prompt=_prompt,
    )
]


# lighteval reads TASKS_TABLE; built on first access so importing this file does not import lighteval.
__getattr__ = lazy_tasks_table(TASKS, globals())
