"""Math equivalence."""

from __future__ import annotations

import pytest

from star1_hub.evaluate.grading import integer_equal, math_equal


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
