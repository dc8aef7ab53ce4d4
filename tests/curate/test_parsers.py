"""Strict parsers, driven by the (input, expected) tables in tests/curate/cases/*.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from star1_hub.curate.parsing import (
    parse_categories,
    parse_json_response,
    parse_rewrite,
    parse_scores,
    parse_think_response,
    strip_trailing_commas,
)
from star1_hub.data.schema import BENIGN_SCORE_KEYS, SAFETY_SCORE_KEYS
from star1_hub.teacher import UnparseableOutput

CASES_DIR = Path(__file__).parent / "cases"
PARSERS = {
    "classify": parse_categories,
    "score": lambda text: parse_scores(text, SAFETY_SCORE_KEYS, 0, 10),
    "score_benign": lambda text: parse_scores(text, BENIGN_SCORE_KEYS, 1, 5),
    "reason_think": parse_think_response,
    "reason_json": parse_json_response,
    "rewrite": lambda text: parse_rewrite(text, 600),
}


def _cases():
    for path in sorted(CASES_DIR.glob("*.json")):
        for case in json.loads(path.read_text(encoding="utf-8")):
            yield pytest.param(path.stem, case, id=f"{path.stem}-{case['name']}")


def test_every_case_file_has_a_parser():
    assert {p.stem for p in CASES_DIR.glob("*.json")} == set(PARSERS)


@pytest.mark.parametrize(("parser_name", "case"), list(_cases()))
def test_parser_case(parser_name, case):
    parser = PARSERS[parser_name]
    if "error" in case:
        with pytest.raises(UnparseableOutput, match=case["error"]):
            parser(case["input"])
    else:
        assert parser(case["input"]) == case["expected"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1,}', '{"a": 1}'),
        ("[1, 2 ,\n ]", "[1, 2 \n ]"),
        ('{"s": "x,}"}', '{"s": "x,}"}'),
        ('{"s": "q\\",]"}', '{"s": "q\\",]"}'),
        ("[1, 2]", "[1, 2]"),
    ],
)
def test_strip_trailing_commas_only_outside_strings(text, expected):
    assert strip_trailing_commas(text) == expected
