"""The golden tables in tests/curate/cases/*.json, run through each stage's production path (its `LLMTask`, response
model and parse, reading the reply as `make_reply` gives it to them; see tests/curate/stage_replies.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from star1_hub.teacher import UnparseableOutput
from star1_hub.teacher.structured import without_trailing_commas
from tests.curate.stage_replies import STAGES, read_reply

CASES_DIR = Path(__file__).parent / "cases"


def _cases():
    for path in sorted(CASES_DIR.glob("*.json")):
        for case in json.loads(path.read_text(encoding="utf-8")):
            yield pytest.param(path.stem, case, id=f"{path.stem}-{case['name']}")


def _is_bare_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def test_every_case_file_has_a_stage():
    assert {p.stem for p in CASES_DIR.glob("*.json")} == set(STAGES)


@pytest.mark.parametrize(("table", "case"), list(_cases()))
def test_golden_case_through_the_stage(table, case):
    if "error" in case:
        with pytest.raises(UnparseableOutput, match=case["error"]):
            read_reply(table, case["input"])
    else:
        assert read_reply(table, case["input"]) == case["expected"]


@pytest.mark.parametrize(
    ("table", "case"), [p for p in _cases() if "expected" in p.values[1] and _is_bare_json(p.values[1]["input"])]
)
def test_bare_json_case_reads_the_same_under_structured_output(table, case):
    assert read_reply(table, case["input"], structured=True) == case["expected"]


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
def test_trailing_commas_are_removed_only_outside_strings(text, expected):
    assert without_trailing_commas(text) == expected
