"""The think layout: the three R1 reply forms, the canonical layout, and strict rejection of non-answers."""

from __future__ import annotations

import pytest

from star1_hub.errors import UnparseableOutput
from star1_hub.think import (
    MAX_OUTPUT_CHARS,
    answer_part,
    count_think_blocks,
    format_think,
    normalise_reasoning,
    reasoning_part,
    split_think,
)

CANONICAL = "<think>\nweigh the policy\n</think>\n\nHere is a safe answer."


@pytest.mark.parametrize(
    ("content", "reasoning", "form"),
    [
        ("<think>weigh the policy</think>Here is a safe answer.", None, "inline"),
        ("weigh the policy\n</think>\n\nHere is a safe answer.", None, "prefilled"),
        ("Here is a safe answer.", "weigh the policy", "split"),
    ],
)
def test_three_r1_forms_give_the_canonical_layout(content, reasoning, form):
    assert normalise_reasoning(content, reasoning) == (CANONICAL, form)


@pytest.mark.parametrize(
    ("content", "reasoning", "fragment"),
    [
        ("weigh the policy and never stop", None, "no reasoning trace"),
        ("<think>weigh the policy and never stop", None, "never closed"),
        ("<think>a</think><think>b</think>c", None, "exactly one"),
        ("a</think>b</think>c", None, "close exactly once"),
        ("preface <think>a</think>b", None, "text before <think>"),
        ("<think>   </think>answer", None, "empty reasoning"),
        ("<think>plan</think>   ", None, "empty answer"),
        ("", "plan", "empty answer"),
        ("<think>x</think>answer", "plan", "think tags in `content`"),
        ("", None, "empty output"),
    ],
)
def test_non_answers_are_rejected_with_a_reason(content, reasoning, fragment):
    with pytest.raises(UnparseableOutput, match=None) as info:
        normalise_reasoning(content, reasoning)
    assert fragment in str(info.value)


def test_free_text_without_a_trace_is_kept_as_is_when_no_trace_is_required():
    assert normalise_reasoning("plain answer", None, require_think=False) == ("plain answer", "none")


def test_oversized_output_is_rejected():
    with pytest.raises(UnparseableOutput, match="accepted"):
        normalise_reasoning("a" * (MAX_OUTPUT_CHARS + 1) + "</think>b")


def test_split_count_and_answer_part_keep_their_semantics():
    assert split_think("<think> a </think> b") == ("a", "b")
    assert split_think("no trace") == ("", "no trace")
    assert split_think("<think>never closed") == ("", "<think>never closed")
    assert split_think("<think>a<\\/think>b".replace("<\\/", "<\\/")) == ("a", "b")
    assert count_think_blocks("<think>a</think><think>b</think><think>c") == 2
    assert count_think_blocks("</think><think>") == 0
    assert answer_part("<think>a</think>b</think> final ") == "final"
    assert answer_part("<think>never closed") == ""
    assert format_think(" r ", " a ") == "<think>\nr\n</think>\n\na"


# The one think rule: the trace ends at the LAST `</think>`, for stored rows and model output alike; the two
# readings differ only where the rule leaves a choice (text outside the layout, a trace that never closed).
@pytest.mark.parametrize(
    ("text", "stored", "generation"),
    [
        ("<think>a</think>b", ("a", "b"), ("a", "b")),
        ("<think>a</think>b</think>c", ("a</think>b", "c"), ("a</think>b", "c")),  # a repeated closer
        ("<think>x<think>y</think>z</think>w", ("x<think>y</think>z", "w"), ("x<think>y</think>z", "w")),  # nested
        ("<think>a</think></think>", ("a</think>", ""), ("a</think>", "")),  # closer twice, nothing after
        ("<think>a<\\/think>b", ("a", "b"), ("a<\\/think>b", "")),  # only a stored row unescapes `\\/`
        ("plan</think>answer", ("", "plan</think>answer"), ("plan", "answer")),  # the prefilled form
        ("<think>never closed", ("", "<think>never closed"), ("never closed", "")),
        ("no tags", ("", "no tags"), ("", "no tags")),
    ],
)
def test_one_think_rule_reads_the_last_closer(text, stored, generation):
    assert split_think(text) == split_think(text, reading="stored") == stored
    assert split_think(text, reading="generation") == generation
    assert (reasoning_part(text), answer_part(text)) == generation


def test_the_canonical_layout_reads_the_same_either_way():
    for reasoning, answer in (("weigh it", "No."), ("line one\nline two", "Here: `</b>` is fine")):
        text = format_think(reasoning, answer)
        assert split_think(text) == split_think(text, reading="generation") == (reasoning, answer)


def test_a_generation_decides_a_missing_closer_by_the_runs_reasoning_flag():
    assert split_think("still thinking", reading="generation", reasoning=True) == ("still thinking", "")
    assert split_think("<think>x", reading="generation", reasoning=False) == ("", "<think>x")
    assert answer_part("plain", reasoning=True) == "" and answer_part("plain", reasoning=False) == "plain"


def test_an_oversized_generation_has_no_answer_and_an_unknown_reading_is_an_error():
    assert split_think("a" * (MAX_OUTPUT_CHARS + 1) + "</think>b", reading="generation") == ("", "")
    with pytest.raises(ValueError, match="unknown reading 'model'"):
        split_think("x", reading="model")  # type: ignore[arg-type]
