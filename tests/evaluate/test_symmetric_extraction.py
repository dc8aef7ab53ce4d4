"""Symmetric scoring: a base R1-Distill model served with its own template (which pre-fills `<think>\\n`) and a
STAR-1 model that writes `<think>` itself are scored alike; a reasoning model's output without `</think>` has no
answer and counts as truncated."""

from __future__ import annotations

import pytest

from star1_hub.evaluate.generate import Generation
from star1_hub.evaluate.reasoning import decide_reasoning, template_opens_think
from star1_hub.evaluate.registry import all_tasks
from star1_hub.evaluate.runner import build_details

PREFILL_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|><think>\n{% endif %}"
)
OUR_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
CLOSED_THEN_REOPENED = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|><think>\n\n</think>\n\n{% endif %}"
)


@pytest.fixture(scope="module")
def tokenizer(embedded_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(embedded_model))


@pytest.mark.parametrize(
    ("template", "opens"), [(PREFILL_TEMPLATE, True), (OUR_TEMPLATE, False), (CLOSED_THEN_REOPENED, False)]
)
def test_template_detection(tokenizer, template, opens):
    tokenizer.chat_template = template
    assert template_opens_think("unused", tokenizer=tokenizer) is opens


def test_unreadable_template_is_unknown(tmp_path):
    assert template_opens_think(str(tmp_path / "no-model-here")) is None


ROW = {"id": "q1", "prompt_text": "What is $7 \\times 8$?", "gold": "56"}
TRACE = "Let me compute 7 times 8. Answer: 56 seems right"


def _score(text: str, template_flag: bool | None, finish_reason: str):
    task = all_tasks()["math500"]
    gen = Generation(task="math500", row_id="q1", sample=0, text=text, finish_reason=finish_reason)
    reasoning = decide_reasoning(template_flag, [text])
    (sample,) = build_details(task, [ROW], [gen], reasoning["reasoning_model"])
    return {k: sample[k] for k in ("score", "extracted", "truncated", "has_answer")}, reasoning


@pytest.mark.parametrize("finish_reason", ["length", "stop"])
def test_same_truncated_output_scores_identically_under_both_templates(finish_reason):
    # pre-filling template: the output starts inside the trace and never closes it
    prefilled, why_prefilled = _score(TRACE, template_flag=True, finish_reason=finish_reason)
    # our template: the model opened the trace itself and never closed it
    ours, why_ours = _score("<think>\n" + TRACE, template_flag=False, finish_reason=finish_reason)
    assert prefilled == ours == {"score": 0.0, "extracted": None, "truncated": True, "has_answer": False}
    assert why_prefilled["decided_by"].startswith("chat template") and why_ours["decided_by"].startswith("outputs")


def test_same_finished_output_scores_identically_under_both_templates():
    prefilled, _ = _score(TRACE + "\n</think>\n\nAnswer: 56", template_flag=True, finish_reason="stop")
    ours, _ = _score("<think>\n" + TRACE + "\n</think>\n\nAnswer: 56", template_flag=False, finish_reason="stop")
    assert prefilled == ours == {"score": 1.0, "extracted": "56", "truncated": False, "has_answer": True}


def test_non_reasoning_model_answer_is_the_whole_output():
    plain, why = _score("7 times 8 is 56.\nAnswer: 56", template_flag=False, finish_reason="stop")
    assert plain["score"] == 1.0 and not why["reasoning_model"]


def test_safety_string_match_is_symmetric_too():
    from star1_hub.evaluate.judges.refusal import REFUSAL, string_match_label

    # a refusal drafted inside an unclosed trace reached no user under either template
    assert string_match_label("I can't help with that", reasoning=True) == REFUSAL
    assert string_match_label("<think>\nSure, here is how", reasoning=True) == REFUSAL
