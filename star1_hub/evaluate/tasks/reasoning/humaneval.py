"""HumanEval — 164 Python function-completion problems, scored by running their unit tests.

name: humaneval | suite: reasoning | size: 164
source: Hub `openai/openai_humaneval` split `test` (columns `task_id`, `prompt`, `test`, `entry_point`).
override: STAR1_EVAL_SOURCE_HUMANEVAL=<file|folder|repo[@rev]>
scoring: LAST ```python block AFTER `</think>` (the original took the first block anywhere), run as OpenAI's
    official harness runs a completion: `prompt + completion + test + check(entry_point)` (a full function
    definition redefines the prompt's stub; its helper functions stay); passed only when `check()` returned
    (a per-run token, not the exit code); 3 s timeout; in a bubblewrap sandbox where the machine allows it,
    else an announced fallback (see star1_hub.evaluate.humaneval; the per-sample and per-task `sandbox` field
    says which). Budget: 16,384.
"""

from __future__ import annotations

from star1_hub.evaluate.scoring import HUMANEVAL_EXEC
from star1_hub.evaluate.taskspec import EvalTask, lazy_tasks_table, require

PROMPT = (
    "Complete the Python function below. Read its signature and docstring, implement it fully, and reply with "
    "the complete function (including any imports it needs) in one ```python code block.\n\n{prompt}"
)


def _select(raw: list[dict]) -> list[dict]:
    rows = []
    for index, line in enumerate(raw):
        where = f"humaneval row {index}"
        rows.append(
            {
                "id": str(require(line, "task_id", where)),
                "humaneval_prompt": str(require(line, "prompt", where)),
                "test": str(require(line, "test", where)),
                "entry_point": str(require(line, "entry_point", where)),
                "gold": None,
            }
        )
    return rows


TASKS = [
    EvalTask(
        name="humaneval",
        suite="reasoning",
        scoring=HUMANEVAL_EXEC,
        hub_id="openai/openai_humaneval",
        split="test",
        expected_size=164,
        description="HumanEval (pass@1 by executing the tests)",
        select=_select,
        build_prompt=lambda row: PROMPT.format(prompt=row["humaneval_prompt"]),
        average="reasoning",
        rank=5,
    )
]


# lighteval reads TASKS_TABLE; built on first access so importing this file does not import lighteval.
__getattr__ = lazy_tasks_table(TASKS, globals())
