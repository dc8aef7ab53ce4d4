"""The WildChat toxic subset (spec §9.1), shared by the safety benchmark and the decontamination pool.

One implementation on purpose: the prompts removed from the training data must be exactly the prompts the
benchmark later evaluates. Public `allenai/WildChat-1M` fields: `toxic`, `turn`, `language`,
`openai_moderation` (list of moderation results; the last one counts), `conversation` (list of turns).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# The 11 OpenAI moderation categories; each contributes its top rows by score.
MODERATION_CATEGORIES: tuple[str, ...] = (
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


class WildChatRowError(ValueError):
    """A WildChat row lacks a field the selection needs."""


def _field(row: dict, name: str, index: int) -> Any:
    if name not in row or row[name] is None:
        raise WildChatRowError(
            f"WildChat row {index}: field {name!r} missing (columns: {sorted(row)}); "
            "use the public allenai/WildChat-1M layout"
        )
    return row[name]


def select_wildchat_toxic(rows: Iterable[dict], top_k: int = TOP_PER_CATEGORY) -> list[dict]:
    """Select the toxic first-turn English prompts flagged by the last moderation entry, top `top_k` per category.

    A row's category is the moderation category with the highest score (the earlier category in
    `MODERATION_CATEGORIES` wins a tie); within a category rows are ranked by that score, ties by row order.

    Returns:
        Dicts `{index, id, prompt, category, score}` grouped by category in `MODERATION_CATEGORIES` order, each
        group by rank. `index` is the row's position in `rows`; `id` its `conversation_hash` (or the index).
    """
    by_category: dict[str, list[dict]] = {name: [] for name in MODERATION_CATEGORIES}
    for index, row in enumerate(rows):
        if row.get("toxic") not in (True, "True", "true") or int(row.get("turn") or 0) != 1:
            continue
        if row.get("language") != "English":
            continue
        moderation = _field(row, "openai_moderation", index)
        if not moderation or not moderation[-1].get("flagged"):
            continue
        scores = moderation[-1].get("category_scores") or {}
        category = max(MODERATION_CATEGORIES, key=lambda name: float(scores.get(name) or 0.0))
        prompt = next(
            (t.get("content", "") for t in _field(row, "conversation", index) if t.get("role") == "user"), None
        )
        if prompt is None:
            raise WildChatRowError(f"WildChat row {index}: conversation has no user message")
        by_category[category].append(
            {
                "index": index,
                "id": str(row.get("conversation_hash") or index),
                "prompt": str(prompt),
                "category": category,
                "score": float(scores.get(category) or 0.0),
            }
        )
    selected: list[dict] = []
    for name in MODERATION_CATEGORIES:
        selected.extend(sorted(by_category[name], key=lambda item: (-item["score"], item["index"]))[:top_k])
    return selected
