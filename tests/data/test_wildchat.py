"""The WildChat toxic selection (spec §9.1) is one function used by the benchmark and by decontamination."""

from __future__ import annotations

import pytest

from star1_hub.data.wildchat import MODERATION_CATEGORIES, WildChatRowError, select_wildchat_toxic


def _row(i: int, scores: dict, *, flagged=True, toxic=True, turn=1, language="English"):
    return {
        "conversation_hash": f"h{i}",
        "toxic": toxic,
        "turn": turn,
        "language": language,
        "openai_moderation": [
            {"flagged": False, "category_scores": {}},
            {"flagged": flagged, "category_scores": scores},
        ],
        "conversation": [
            {"role": "user", "content": f"placeholder request {i}"},
            {"role": "assistant", "content": "…"},
        ],
    }


def test_filters_and_category_argmax_of_the_last_moderation_entry():
    rows = [
        _row(0, {"hate": 0.9, "violence": 0.2}),
        _row(1, {"violence": 0.8}, flagged=False),
        _row(2, {"violence": 0.8}, toxic=False),
        _row(3, {"violence": 0.8}, turn=2),
        _row(4, {"violence": 0.8}, language="French"),
        _row(5, {"sexual": 0.5, "violence": 0.5}),  # tie: the earlier category in the list wins
    ]
    selected = select_wildchat_toxic(rows)
    assert [(s["index"], s["category"]) for s in selected] == [(0, "hate"), (5, "sexual")]
    assert selected[0]["prompt"] == "placeholder request 0" and selected[0]["id"] == "h0"


def test_top_k_per_category_ranked_by_score_then_row_order():
    rows = [_row(i, {"harassment": score}) for i, score in enumerate([0.5, 0.9, 0.5, 0.7])]
    assert [s["index"] for s in select_wildchat_toxic(rows, top_k=3)] == [1, 3, 0]
    assert len(MODERATION_CATEGORIES) == 11


def test_missing_field_names_the_row():
    row = _row(0, {"hate": 1.0})
    del row["openai_moderation"]
    with pytest.raises(WildChatRowError, match="row 0.*openai_moderation"):
        select_wildchat_toxic([row])


def test_benchmark_and_decontamination_pool_hold_the_same_prompts():
    from star1_hub.collect.source_loader import _wildchat_toxic
    from star1_hub.evaluate.tasks.safety.wildchat import TASKS

    rows = [_row(i, {MODERATION_CATEGORIES[i % 11]: (i % 7) / 7}) for i in range(60)]
    benchmark = {r["prompt"] for r in TASKS[0].select(rows)}
    assert benchmark and benchmark == set(_wildchat_toxic(rows))
