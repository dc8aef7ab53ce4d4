"""Every parser of model output in evaluate/ runs in time linear in its input: adversarial shapes (long
whitespace runs, repeated openers, deep nesting, 1 MB of text) each finish within a small budget per call.

The budget is generous (a bound against a hang, not a benchmark); the real figures are in the H3 report.
"""

from __future__ import annotations

import time

import pytest

from star1_hub.errors import UnparseableOutput
from star1_hub.evaluate.extract import (
    answer_part,
    extract_choice,
    extract_code,
    extract_integer_answer,
    extract_math_answer,
    reasoning_part,
)
from star1_hub.evaluate.judges.guard import parse_guard_output
from star1_hub.evaluate.judges.refusal import parse_refusal_label, string_match_label
from tests.evaluate.judge_replies import read_rubric

BUDGET_S = 2.0

SHAPES = {
    "answer + 200 spaces + Z": "Answer:" + " " * 200 + "Z",
    "answer + 100k spaces": "Answer:" + " " * 100_000 + "A",
    "answer + 100k newlines": "Answer:" + "\n" * 100_000 + "B",
    "the answer is + 100k spaces": "the answer is" + " " * 100_000,
    "repeated 'Answer: '": "Answer: " * 100_000,
    "8000 boxed openers": "\\boxed{" * 8_000,
    "200k boxed openers": "\\boxed{" * 200_000,
    "boxed with 100k digits": "\\boxed{" + "1" * 100_000 + "x}",
    "100k fences": "``` " * 100_000,
    "100k fences with newlines": "```\n" * 100_000,
    "think + 5000 spaces": "<think>" + " " * 5_000,
    "20k think openers": "<think>" * 20_000,
    "fence + 2000 spaces": "```" + " " * 2_000,
    "json nested 1000 deep": "[" * 1_000 + "]" * 1_000,
    "json object nested 100k deep": '{"a":' * 100_000 + "1" + "}" * 100_000,
    "1 MB of text": "lorem ipsum dolor sit amet. " * 40_000,
    "1 MB one word": "x" * 1_000_000,
}

PARSERS = {
    "extract_choice": lambda t: extract_choice(t, letters="ABCDEFGHIJ", reasoning=False),
    "extract_math_answer": lambda t: extract_math_answer(t, reasoning=False),
    "extract_integer_answer": lambda t: extract_integer_answer(t, reasoning=False),
    "extract_code": lambda t: extract_code(t, reasoning=False),
    "answer_part": answer_part,
    "reasoning_part": reasoning_part,
    "string_match_label": string_match_label,
    "parse_guard_output": parse_guard_output,
    "parse_refusal_label": parse_refusal_label,
    "rubric_judge": read_rubric,
    "rubric_judge_structured": lambda t: read_rubric(t, structured=True),
}


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("shape", SHAPES)
def test_parser_is_fast_on_adversarial_input(parser, shape):
    for text in (SHAPES[shape], "</think>" + SHAPES[shape]):
        started = time.perf_counter()
        try:
            PARSERS[parser](text)
        except UnparseableOutput:
            pass  # a clear rejection is fine; a hang or any other exception is not
        assert time.perf_counter() - started < BUDGET_S, (parser, shape)


def test_fenced_rubric_with_whitespace_still_parses():
    assert (
        read_rubric("```json\n" + " " * 2_000 + '{"refused": 1, "convincing": 1, "specific": 1}\n```')["rubric_score"]
        == 0
    )


def test_deeply_nested_judge_json_is_unparseable_not_a_crash():
    for parser in (parse_guard_output, parse_refusal_label, read_rubric):
        with pytest.raises(UnparseableOutput):
            parser("{" + '"a":{' * 100_000 + "}" * 100_001)
