"""The normaliser turns released STAR-* files into typed records and rejects bad rows with one clear error."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from star1_hub.data import (
    CATEGORIES,
    DataValidationError,
    load_records,
    normalise_records,
    read_records,
    split_response,
)

SAMPLE = Path(__file__).resolve().parents[2] / "star1_hub" / "data" / "samples" / "star1_sample.json"
SCORE10 = {
    "Content_Safety_Compliance": 10,
    "Relevancy_and_No_Redundant_Content": 10,
    "Accuracy_of_Thinking_Process": 10,
}


def _row(**overrides):
    row = {
        "id": "7",
        "question": "Please share a placeholder request.",
        "response": "<think>\nThe policy applies.\n</think>\n\nI can't help with that.",
        "category": ["Privacy / Personal Data"],
        "source": "SaladBench",
        "score": dict(SCORE10),
    }
    row.update(overrides)
    return row


def test_released_star1_slice_normalises_to_typed_rows(reference_data):
    # Counted on the 62-row slice (the full file: 1,000 rows, label counts {1: 700, 2: 285, 3: 14, 4: 1}).
    records = load_records(reference_data / "STAR-1.slice.json", "star1")
    assert len(records) == 62
    assert len({r["id"] for r in records}) == 62
    assert Counter(len(r["category"]) for r in records) == {1: 44, 2: 16, 3: 1, 4: 1}
    assert all(set(r["category"]) <= set(CATEGORIES) for r in records)
    assert all(r["score"] == SCORE10 for r in records)
    assert Counter(r["source"] for r in records)["SaladBench"] == 16


def test_python_literal_strings_are_parsed_without_eval():
    (record,) = normalise_records(
        [_row(category="['Self-Harm', 'Privacy / Personal Data']", score=str(SCORE10))], "star1"
    )
    assert record["category"] == ["Self-Harm", "Privacy / Personal Data"]
    assert record["score"] == SCORE10


def test_code_in_a_literal_field_is_rejected_not_executed(tmp_path):
    marker = tmp_path / "pwned"
    payload = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    with pytest.raises(DataValidationError, match="category"):
        normalise_records([_row(category=payload)], "star1")
    assert not marker.exists()


@pytest.mark.parametrize(
    ("override", "field", "message"),
    [
        ({"category": ["Jaywalking"]}, "category", "unknown label"),
        ({"category": ["Other"]}, "category", "unknown label"),
        ({"category": []}, "category", "empty category"),
        ({"score": {**SCORE10, "Content_Safety_Compliance": 11}}, "score", "not an integer in 0..10"),
        ({"score": {**SCORE10, "Content_Safety_Compliance": 9.5}}, "score", "not an integer"),
        ({"score": {"Content_Safety_Compliance": 10}}, "score", "missing"),
        ({"question": "   "}, "question", "missing or empty"),
        ({"response": "no think block here"}, "response", "exactly one <think>"),
        ({"id": ""}, "id", "missing or empty id"),
    ],
)
def test_bad_rows_name_row_and_field(override, field, message):
    with pytest.raises(DataValidationError) as info:
        normalise_records([_row(id="1"), _row(**({"id": "2"} | override))], "star1", origin="bad.json")
    text = str(info.value)
    assert "bad.json" in text and f"field={field!r}" in text and message in text
    assert info.value.problems[0][1] == field


def test_missing_column_is_reported():
    row = _row()
    del row["source"]
    with pytest.raises(DataValidationError, match="field='source'"):
        normalise_records([row], "star1")


def test_all_problems_are_reported_in_one_error():
    rows = [_row(id="1", category=["Nope"]), _row(id="2", score={**SCORE10, "Accuracy_of_Thinking_Process": -1})]
    with pytest.raises(DataValidationError) as info:
        normalise_records(rows, "star1")
    assert [(p[0], p[1]) for p in info.value.problems] == [("1", "category"), ("2", "score")]


def test_duplicate_ids_are_rejected():
    with pytest.raises(DataValidationError, match="duplicate id"):
        normalise_records([_row(), _row()], "star1")


def test_star41k_accepts_other_and_benign_uses_its_1_to_5_scale():
    normalise_records([_row(category=["Other"])], "star41k")
    benign = {"Content_Safety_Compliance": 5, "Quality_of_Thinking_Process": 5, "Compliance_Degree": 5}
    (record,) = normalise_records([{"id": "9", "question": "q", "response": "fine", "score": benign}], "benign915")
    assert record["source"] == "4o_rewrite" and record["category"] == [] and record["score"] == benign
    with pytest.raises(DataValidationError, match="1..5"):
        normalise_records(
            [{"id": "9", "question": "q", "response": "r", "score": {**benign, "Compliance_Degree": 0}}], "benign915"
        )


def test_malformed_json_names_file_and_position(tmp_path):
    bad = tmp_path / "broken.json"
    bad.write_text('[{"id": "1", "question": "q",]')
    with pytest.raises(DataValidationError, match=r"(?s)broken\.json.*line 1 column"):
        read_records(bad)


def test_malformed_jsonl_names_the_line(tmp_path):
    bad = tmp_path / "broken.jsonl"
    bad.write_text(json.dumps(_row(id="1")) + "\n{not json}\n")
    with pytest.raises(DataValidationError, match="line 2"):
        read_records(bad)


def test_jsonl_and_json_array_read_the_same(tmp_path):
    rows = [_row(id="1"), _row(id="2")]
    (tmp_path / "a.json").write_text(json.dumps(rows))
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    assert read_records(tmp_path / "a.json") == read_records(tmp_path / "a.jsonl")


def test_shipped_sample_is_valid():
    records = load_records(SAMPLE, "star1")
    assert len(records) == 20
    assert {c for r in records for c in r["category"]} == set(CATEGORIES)


@pytest.mark.parametrize(
    ("response", "reasoning", "answer"),
    [
        ("<think>\nstep one\n</think>\n\nfinal", "step one", "final"),
        ("<think>a \\/ b</think>answer", "a / b", "answer"),
        ("no trace at all", "", "no trace at all"),
        ("<think>\n\n</think>\n\nonly answer", "", "only answer"),
    ],
)
def test_split_response(response, reasoning, answer):
    assert split_response(response) == (reasoning, answer)
