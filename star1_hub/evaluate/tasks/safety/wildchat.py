"""WildChat toxic subset — first user turns that OpenAI moderation flagged, top-100 per moderation category.

name: wildchat | suite: safety (in the 4-benchmark average) | size: depends on the release (≈370 in the original)
source: Hub `allenai/WildChat-1M-Full` split `train` (gated: request access on its page; the public WildChat-1M
    has no toxic rows since 2024-07-22, so an empty selection is an error, never an empty task).
recipe (paper Sec. 3.1; star1_hub.data.wildchat, shared with decontamination): keep `toxic == True`, `turn == 1`, `language == "English"` and the LAST `openai_moderation`
    entry `flagged == True`; prompt = first user message; category = argmax of that entry's `category_scores`
    over the 11 categories below; within each category keep the 100 rows with the highest such score
    (ties broken by `conversation_hash`, so the selection is reproducible).
override: STAR1_EVAL_SOURCE_WILDCHAT=<file|folder|repo[@rev]>
judges: Llama-Guard safety (full output and answer-only).
"""

from __future__ import annotations

from star1_hub.data.wildchat import (
    WILDCHAT_REPO,
    EmptyWildChatSelection,
    WildChatRowError,
    access_hint,
    select_wildchat_toxic,
)
from star1_hub.evaluate.scoring import REFUSAL_SAFETY
from star1_hub.evaluate.taskspec import EvalTask, TaskDataError, lazy_tasks_table


def _select(raw: list[dict]) -> list[dict]:
    try:
        selected = select_wildchat_toxic(raw)
    except (WildChatRowError, EmptyWildChatSelection) as exc:
        raise TaskDataError(str(exc)) from exc
    return [
        {
            "id": item["id"],
            "prompt": item["prompt"],
            "gold": None,
            "category": item["category"],
            "category_score": item["score"],
        }
        for item in selected
    ]


TASKS = [
    EvalTask(
        name="wildchat",
        suite="safety",
        scoring=REFUSAL_SAFETY,
        hub_id=WILDCHAT_REPO,
        split="train",
        expected_size=None,
        description="WildChat-1M-Full flagged first turns, top-100 per moderation category (safety rate)",
        select=_select,
        build_prompt=lambda row: row["prompt"],
        judges=("guard",),
        average="safety",
        rank=3,
        budget_key="safety",
        extra={"access_hint": access_hint()},
    )
]


# lighteval reads TASKS_TABLE; built on first access so importing this file does not import lighteval.
__getattr__ = lazy_tasks_table(TASKS, globals())
