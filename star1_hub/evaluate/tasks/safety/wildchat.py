"""WildChat toxic subset — first user turns that OpenAI moderation flagged, top-100 per moderation category.

name: wildchat | suite: safety (in the 4-benchmark average) | size: depends on the release (≈370 in the original)
source: Hub `allenai/WildChat-1M` split `train` (public; the original used an internal id with the same fields).
recipe (spec §9.1): keep `toxic == True`, `turn == 1`, `language == "English"` and the LAST `openai_moderation`
    entry `flagged == True`; prompt = first user message; category = argmax of that entry's `category_scores`
    over the 11 categories below; within each category keep the 100 rows with the highest such score
    (ties broken by `conversation_hash`, so the selection is reproducible).
override: STAR1_EVAL_SOURCE_WILDCHAT=<file|folder|repo[@rev]>
judges: Llama-Guard safety (full output and answer-only).
"""

from __future__ import annotations

from star1_hub.evaluate.taskspec import EvalTask, TaskDataError, lighteval_config, require

MODERATION_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
TOP_PER_CATEGORY = 100


def _first_user_message(conversation: list[dict], where: str) -> str:
    for turn in conversation:
        if turn.get("role") == "user":
            return str(turn.get("content", ""))
    raise TaskDataError(f"{where}: conversation has no user message")


def _select(raw: list[dict]) -> list[dict]:
    candidates = []
    for index, line in enumerate(raw):
        where = f"wildchat row {index}"
        if not (line.get("toxic") in (True, "True", "true") and int(line.get("turn", 0)) == 1):
            continue
        if line.get("language") != "English":
            continue
        moderation = require(line, "openai_moderation", where)
        if not moderation or not moderation[-1].get("flagged"):
            continue
        scores = moderation[-1].get("category_scores") or {}
        category, score = max(
            ((name, float(scores.get(name) or 0.0)) for name in MODERATION_CATEGORIES), key=lambda item: item[1]
        )
        candidates.append(
            {
                "id": str(line.get("conversation_hash", index)),
                "prompt": _first_user_message(require(line, "conversation", where), where),
                "gold": None,
                "category": category,
                "category_score": score,
            }
        )
    rows = []
    for category in MODERATION_CATEGORIES:
        group = sorted(
            (c for c in candidates if c["category"] == category), key=lambda c: (-c["category_score"], c["id"])
        )
        rows.extend(group[:TOP_PER_CATEGORY])
    return rows


TASKS = [
    EvalTask(
        name="wildchat",
        suite="safety",
        kind="harmful",
        hub_id="allenai/WildChat-1M",
        split="train",
        expected_size=None,
        description="WildChat-1M flagged first turns, top-100 per moderation category (safety rate)",
        select=_select,
        build_prompt=lambda row: row["prompt"],
        budget_key="safety",
        in_safety_average=True,
    )
]


def __getattr__(name: str):
    if name == "TASKS_TABLE":
        table = globals()["TASKS_TABLE"] = [lighteval_config(task) for task in TASKS]  # built once
        return table
    raise AttributeError(name)
