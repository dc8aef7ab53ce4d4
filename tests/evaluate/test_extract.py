"""Answer extractors: data-driven cases (tests/evaluate/data/extraction_cases.json) and the think split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from star1_hub.evaluate.extract import (
    answer_part,
    extract_choice,
    extract_code,
    extract_integer_answer,
    extract_math_answer,
    reasoning_part,
)

CASES = json.loads((Path(__file__).parent / "data" / "extraction_cases.json").read_text())["cases"]


def _run(case):
    kind = case["extractor"]
    if kind == "math":
        return extract_math_answer(case["text"])
    if kind == "integer":
        return extract_integer_answer(case["text"])
    if kind == "choice":
        return extract_choice(case["text"], letters=case.get("letters", "ABCD"))
    if kind == "code":
        return extract_code(case["text"])
    raise AssertionError(kind)


@pytest.mark.parametrize("case", CASES, ids=[f"{c['extractor']}:{c['note']}" for c in CASES])
def test_extraction_case(case):
    assert _run(case) == case["expected"]


def test_answer_and_reasoning_parts():
    assert answer_part("<think>a</think> b ") == "b"
    assert reasoning_part("<think>a</think> b") == "a"
    assert answer_part("<think>never closed") == ""
    assert reasoning_part("<think>never closed") == "never closed"
    assert answer_part("plain reply") == "plain reply"
    assert answer_part("<think>x</think>y</think>z") == "z"
