"""Math equivalence and HumanEval execution."""

from __future__ import annotations

import pytest

from star1_hub.evaluate.grading import build_humaneval_program, integer_equal, math_equal, run_humaneval


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
    ],
)
def test_math_equal(pred, gold, equal):
    assert math_equal(pred, gold) is equal


def test_integer_equal():
    assert integer_equal("33", "033")
    assert not integer_equal("34", "33")
    assert not integer_equal(None, "1")


PROMPT = 'from typing import List\n\ndef add(a: int, b: int) -> int:\n    """Add two numbers."""\n'
TEST = "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n"


def test_humaneval_full_function_and_body():
    assert run_humaneval(PROMPT, "def add(a, b):\n    return a + b\n", TEST, "add")["passed"]
    assert run_humaneval(PROMPT, "    return a + b\n", TEST, "add")["passed"]
    assert run_humaneval(PROMPT, "def add(a, b):\n    return a - b\n", TEST, "add")["status"] == "failed"
    assert run_humaneval(PROMPT, None, TEST, "add")["status"] == "no_code"


def test_humaneval_timeout():
    result = run_humaneval(PROMPT, "def add(a, b):\n    while True:\n        pass\n", TEST, "add", timeout_s=1.0)
    assert result == {"passed": False, "status": "timeout"}


def test_program_keeps_prompt_imports():
    program = build_humaneval_program(PROMPT, "def add(a, b):\n    return a + b\n", TEST, "add")
    assert program.startswith("from typing import List")
    assert program.rstrip().endswith("check(add)")
