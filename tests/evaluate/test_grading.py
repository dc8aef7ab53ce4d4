"""Math grading on math-verify: the data-driven verdict table (tests/evaluate/data/math_grading_cases.json), the
STAR-1 rules on top (answer after `</think>`, multi-box sets, bounded input) and failures that stay per row."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from star1_hub.evaluate import grading
from star1_hub.evaluate.grading import MathGrade, grade_math, integer_equal, math_equal

CASES = json.loads((Path(__file__).parent / "data" / "math_grading_cases.json").read_text())["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["note"] for c in CASES])
def test_math_grading_case(case):
    grade = grade_math(case["output"], case["gold"], reasoning=case.get("reasoning", False))
    assert grade.correct is case["expected"], grade


@pytest.mark.parametrize(
    ("pred", "gold", "equal"),
    [
        ("(3, \\pi/2)", "\\left( 3, \\frac{\\pi}{2} \\right)", True),
        ("\\frac12", "0.5", True),
        ("x=5", "5", True),
        ("\\dfrac{3}{4}", "\\frac{3}{4}", True),
        ("205", "204", False),
        ("", "1", False),
        (None, "1", False),
        ("2^{1/2}", "\\sqrt{2}", True),
        ("\\pm 2021", "2021", False),
        ("1:00", "12:00", False),
    ],
)
def test_math_equal_on_extracted_answers(pred, gold, equal):
    assert math_equal(pred, gold) is equal


def test_integer_equal():
    assert integer_equal("33", "033")
    assert not integer_equal("34", "33")
    assert not integer_equal(None, "1")


@pytest.mark.parametrize(
    ("output", "gold", "correct"),
    [
        ("</think>\\boxed{033}", "33", True),
        ("</think>So \\boxed{x = 204}", "204", True),
        ("</think>\\boxed{1},\\boxed{2},\\boxed{3}", "123", False),  # three boxes are not the integer 123
        ("</think>\\boxed{1},\\boxed{2},\\boxed{3}", "3", False),
        ("</think>\\boxed{" + "9" * 5_000 + "}", "9", False),  # past Python's int() digit limit: no crash
    ],
)
def test_aime_integer_scoring(output, gold, correct):
    from star1_hub.evaluate.extract import extract_integer_answer

    assert integer_equal(extract_integer_answer(output), gold) is correct


def test_grading_off_the_main_thread_matches_the_main_thread():
    # math-verify's SIGALRM timeouts cannot be installed off the main thread; there they are switched off
    results = {}

    def worker():
        results["thread"] = [grade_math(c["output"], c["gold"], c.get("reasoning", False)).correct for c in CASES]

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(120)
    assert results["thread"] == [c["expected"] for c in CASES]


def test_the_extracted_answer_is_what_math_verify_read():
    assert grade_math("So \\boxed{(2, 2)} \\text{ and } \\boxed{(6, 2)}.", "(2, 2), (6, 2)") == MathGrade(
        "(2, 2), (6, 2)", True
    )
    assert grade_math("<think>never closed \\boxed{1}", "1", reasoning=True) == MathGrade(None, False)


def test_hostile_output_is_graded_without_crashing():
    hostile = "\\boxed{" * 8_000 + "1" + "}" * 8_000  # 8,000 nested boxes
    grade = grade_math(hostile, "1", reasoning=False)
    assert grade.error is None and grade.correct is False  # far past MAX_SYMBOLIC_CHARS: string compare only
    tail = "\\[ x " * 60_000  # no box: math-verify reads only the last MAX_PARSE_CHARS of it
    assert grade_math(tail, "1", reasoning=False).error is None


def test_a_row_that_runs_out_of_memory_gets_no_answer_and_says_why(monkeypatch):
    def exhausted(text):
        raise MemoryError

    monkeypatch.setattr(grading, "last_box_group", exhausted)  # fault injection: the real parser is linear
    assert grade_math("\\boxed{1}", "1") == MathGrade(None, False, "MemoryError while grading")


def test_a_grading_failure_is_counted_in_the_task_metrics(monkeypatch):
    from star1_hub.evaluate.aggregate import task_metrics
    from star1_hub.evaluate.registry import all_tasks
    from star1_hub.evaluate.scoring import score_generation

    task = all_tasks()["math500"]
    row = {"id": "q", "gold": "1"}
    good = score_generation(task, row, "</think>\\boxed{1}", reasoning=True)
    monkeypatch.setattr(grading, "last_box_group", lambda text: (_ for _ in ()).throw(RecursionError()))
    failed = score_generation(task, row, "</think>\\boxed{1}", reasoning=True)
    assert good["grade_error"] is None and failed == {
        "extracted": None,
        "score": 0.0,
        "grade_error": "RecursionError while grading",
    }
    samples = [{"row_id": str(i), "has_answer": True, **scored} for i, scored in enumerate((good, failed))]
    assert task_metrics(task, samples)["n_grade_errors"] == 1
