"""Deterministic grader for the math benchmarks (AIME24, MATH-500): answer equivalence.

Math answers are compared by normalised string first, then symbolically with lighteval's LaTeX/expression
parser (latex2sympy2 + sympy, math-verify style) instead of the original GPT-4o equivalence judge
(see docs/deviations.md), so a re-run gives the same score and costs nothing. HumanEval execution lives in
`star1_hub.evaluate.humaneval`.
"""

from __future__ import annotations

import logging
import re
from functools import cache

logger = logging.getLogger(__name__)


MAX_SYMBOLIC_CHARS = 1000
"""Longest extracted answer compared symbolically (longer ones are compared as normalised strings only)."""


def _normalise(text: str) -> str:
    text = text.strip().strip("$").strip()
    text = re.sub(r"\\(?:left|right|displaystyle|!|,|;|:)", "", text)
    text = re.sub(r"\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}", r"\1", text)
    text = (
        text.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("^\\circ", "").replace("^{\\circ}", "")
    )
    text = re.sub(r"\s+", "", text)
    return text.rstrip(".")


@cache
def _latex_regexes():
    from lighteval.metrics.utils.extractive_match_utils import (
        ExprExtractionConfig,
        LatexExtractionConfig,
        get_extraction_regexes,
    )
    from lighteval.utils.language import Language

    return get_extraction_regexes(None, [LatexExtractionConfig(), ExprExtractionConfig()], Language.ENGLISH)


def _parse(expression: str):
    from lighteval.metrics.utils.extractive_match_utils import extract_target_from_pred

    return extract_target_from_pred(f"${expression}$", _latex_regexes())


def math_equal(prediction: str | None, gold: str) -> bool:
    """True when `prediction` is mathematically the same answer as `gold` (both LaTeX or plain expressions)."""
    if prediction is None or not prediction.strip():
        return False
    if _normalise(prediction) == _normalise(gold):
        return True
    if len(prediction) > MAX_SYMBOLIC_CHARS:
        return False  # no real answer is this long; the LaTeX parser's cost grows faster than linearly
    try:
        from lighteval.metrics.utils.math_comparison import compare_gold_target

        parsed_gold, parsed_pred = _parse(gold), _parse(prediction)
        if not parsed_gold or not parsed_pred:
            return False
        return bool(compare_gold_target(parsed_gold, parsed_pred))
    except Exception as exc:  # sympy can raise almost anything on odd input; a failed parse is "not equal"
        logger.debug("symbolic comparison of %r vs %r failed: %s", prediction, gold, exc)
        return False


def integer_equal(prediction: str | None, gold: str) -> bool:
    """AIME scoring: exact integer match (leading zeros ignored); a non-integer prediction falls back to math_equal."""
    if prediction is None:
        return False
    gold_digits = str(gold).strip()
    if prediction.isdigit() and gold_digits.isdigit():
        return int(prediction) == int(gold_digits)
    return math_equal(prediction, gold_digits)
