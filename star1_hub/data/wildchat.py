"""The WildChat toxic subset, shared by the safety benchmark and the decontamination pool.

One implementation on purpose: the prompts removed from the training data must be exactly the prompts the
benchmark later evaluates (the recipe is in `docs/curation.md`, "WildChat").

Where the rows live. The public `allenai/WildChat-1M` has had every toxic conversation removed since 2024-07-22,
so the `toxic == True` selection is empty there. The toxic rows are only in the gated `allenai/WildChat-1M-Full`
(access is requested on its Hub page, with a justification the authors review), which is therefore the default
repo here. Both releases share the fields used below: `conversation_hash`, `toxic`, `turn`, `language`,
`openai_moderation` (a list of moderation results; the last one counts) and `conversation` (a list of turns).
Newer moderation entries spell each category twice (`self-harm/intent` and `self_harm_intent`); both are read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from star1_hub.errors import Star1Error

WILDCHAT_REPO = "allenai/WildChat-1M-Full"
"""Default Hub repo of the WildChat benchmark and of the WildChat decontamination set (gated)."""
WILDCHAT_PAGE = f"https://huggingface.co/datasets/{WILDCHAT_REPO}"
"""Where access to the gated full release is requested."""
PUBLIC_TOXIC_FREE_REPO = "allenai/WildChat-1M"

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


class WildChatRowError(Star1Error, ValueError):
    """A WildChat row lacks a field the selection needs."""


class EmptyWildChatSelection(Star1Error, ValueError):
    """The toxic selection came out empty (typically: the public, toxic-free release was read)."""


def access_hint() -> str:
    """What to do when the gated full release cannot be read."""
    return (
        f"request access to {WILDCHAT_REPO} on {WILDCHAT_PAGE} (the authors review a short justification), then "
        "export HF_TOKEN of the approved account"
    )


def _field(row: dict, name: str, index: int) -> Any:
    if name not in row or row[name] is None:
        raise WildChatRowError(
            f"WildChat row {index}: field {name!r} missing (columns: {sorted(row)}); use the {WILDCHAT_REPO} layout"
        )
    return row[name]


def _score(scores: dict, category: str) -> float:
    """A category's score, under either spelling (`self-harm/intent` or `self_harm_intent`)."""
    values = [scores.get(category), scores.get(category.replace("/", "_").replace("-", "_"))]
    return max((float(v) for v in values if v is not None), default=0.0)


def empty_selection_error(rows_seen: int, toxic_rows: int) -> EmptyWildChatSelection:
    """The error for an empty toxic selection, saying whether the rows were toxic-free (the public release)."""
    if toxic_rows == 0:
        why = (
            f"none of its {rows_seen} rows is marked toxic: this is the toxic-free public release "
            f"({PUBLIC_TOXIC_FREE_REPO} has had every toxic conversation removed since 2024-07-22)"
        )
    else:
        why = f"{toxic_rows} of {rows_seen} rows are toxic, but none is a flagged English first turn"
    return EmptyWildChatSelection(
        f"the WildChat toxic selection is empty: {why}. Use {WILDCHAT_REPO}: {access_hint()}; or leave WildChat "
        "out explicitly (`--skip-test-set wildchat`), which is recorded in the manifest and the card"
    )


def select_wildchat_toxic(rows: Iterable[dict], top_k: int = TOP_PER_CATEGORY) -> list[dict]:
    """Select the toxic first-turn English prompts flagged by the last moderation entry, top `top_k` per category.

    A row's category is the moderation category with the highest score (the earlier category in
    `MODERATION_CATEGORIES` wins a tie); within a category rows are ranked by that score, equal scores by
    `conversation_hash` (rows without one by their position), so the selection does not depend on row order.

    Returns:
        Dicts `{index, id, prompt, category, score}` grouped by category in `MODERATION_CATEGORIES` order, each
        group by rank. `index` is the row's position in `rows`; `id` its `conversation_hash` (or the index).

    Raises:
        WildChatRowError: a candidate row lacks `openai_moderation` or `conversation`.
        EmptyWildChatSelection: no row qualifies (the message says why and how to get the full release).
    """
    by_category: dict[str, list[dict]] = {name: [] for name in MODERATION_CATEGORIES}
    rows_seen = toxic_rows = 0
    for index, row in enumerate(rows):
        rows_seen += 1
        if row.get("toxic") not in (True, "True", "true"):
            continue
        toxic_rows += 1
        if int(row.get("turn") or 0) != 1 or row.get("language") != "English":
            continue
        moderation = _field(row, "openai_moderation", index)
        if not moderation or not moderation[-1].get("flagged"):
            continue
        scores = moderation[-1].get("category_scores") or {}
        category = max(MODERATION_CATEGORIES, key=lambda name: _score(scores, name))
        prompt = next(
            (t.get("content", "") for t in _field(row, "conversation", index) if t.get("role") == "user"), None
        )
        if prompt is None:
            raise WildChatRowError(f"WildChat row {index}: conversation has no user message")
        conversation_hash = row.get("conversation_hash")
        by_category[category].append(
            {
                "index": index,
                "id": str(conversation_hash or index),
                "prompt": str(prompt),
                "category": category,
                "score": _score(scores, category),
                "_order": (0, str(conversation_hash), index) if conversation_hash else (1, "", index),
            }
        )
    selected: list[dict] = []
    for name in MODERATION_CATEGORIES:
        ranked = sorted(by_category[name], key=lambda item: (-item["score"], item["_order"]))[:top_k]
        selected.extend({k: v for k, v in item.items() if k != "_order"} for item in ranked)
    if not selected:
        raise empty_selection_error(rows_seen, toxic_rows)
    return selected
