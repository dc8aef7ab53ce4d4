"""Deterministic grader for the math benchmarks (AIME24, MATH-500), built on Hugging Face's `math-verify`.

Extraction and equivalence are math-verify's `parse` and `verify` (the field's reference grader, what lighteval's
math metrics and open-r1 use) instead of the original GPT-4o equivalence judge (see docs/deviations.md), so a
re-run gives the same score and costs nothing. Only the STAR-1-specific rules live here:

- the answer is read from the answer part after `</think>`; a reasoning output without `</think>` has no answer
  (`star1_hub.evaluate.extract.answer_part`);
- the final boxed answer is found by a linear scan (`extract.final_boxed`), and a multi-box answer
  (`\\boxed{(2, 2)} \\text{ and } \\boxed{(6, 2)}`, `\\boxed{1},\\boxed{2},\\boxed{3}`) is graded as one set; without a
  box, math-verify reads the last `MAX_PARSE_CHARS` of the answer part (its regexes are not linear, so the input is
  bounded);
- a few guards for what math-verify 0.5.2 gets wrong (`_guards_reject`): `\\pm 2021` vs `2021`, `1:00` vs `12:00`
  (both parse to an undefined value), `21, 36, and 82` (the list lost to the word "and"), `n=1, 2, 3` vs
  `n=2, 3, 4` and `D = (0, 1.5)` vs `D = (0, 1)` (an equation whose right side is a set or interval);
- math-verify's timeouts use `SIGALRM`, which only works on the main thread: elsewhere they are switched off
  (`_thread_safe_timeout`) and the input bounds above keep a parse short;
- a MemoryError or RecursionError on one row gives that row no answer and an `grade_error`, never ends the run.

HumanEval execution lives in `star1_hub.evaluate.humaneval`.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from functools import cache

from star1_hub.evaluate.extract import answer_part, final_boxed, last_box_group

logger = logging.getLogger(__name__)

MAX_SYMBOLIC_CHARS = 1000
"""Longest extracted answer compared symbolically (longer ones are compared as normalised strings only)."""
MAX_PARSE_CHARS = 4000
"""Without a box, math-verify reads only this many characters from the end of the answer part."""
PARSE_TIMEOUT_S = 3
"""math-verify's own per-parse and per-comparison timeout (main thread only, see the module docstring)."""


@dataclass(frozen=True)
class MathGrade:
    """One graded generation: the answer math-verify read (None: no answer), whether it matches, why it failed."""

    extracted: str | None
    correct: bool
    error: str | None = None


def _thread_safe_timeout(original):
    def timeout(timeout_seconds: int = 10):
        if threading.current_thread() is threading.main_thread():
            return original(timeout_seconds)
        return lambda func: func  # signal.signal raises off the main thread: no timeout, inputs stay bounded

    return timeout


@cache
def _math_verify():
    """math-verify's `parse`, `verify` and extraction configs, with thread-safe timeouts (loaded once)."""
    import math_verify.grader
    import math_verify.parser
    import math_verify.utils
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    safe = _thread_safe_timeout(math_verify.utils.timeout)
    math_verify.parser.timeout = safe  # looked up at call time by parse_latex_with_timeout / parse_expr_with_timeout
    math_verify.grader.timeout = safe  # looked up at call time by verify
    prediction_config = [LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig()]
    gold_config = [LatexExtractionConfig(), ExprExtractionConfig()]
    return parse, verify, prediction_config, gold_config


_AND_IN_LIST = re.compile(r",\s*+(?:\\text\{\s*+and\s*+\}|\\mbox\{\s*+and\s*+\}|and\b)\s*+")


_PLUS_MINUS_ALL = re.compile(r"^\s*+(\$*+)\s*+(?:\\pm|±)\s*+([^,;=$]+?)\s*+\$*+\s*+$")


def _prepare(latex: str) -> str:
    """`21, 36, and 82` -> `21, 36, 82` (math-verify 0.5.2 keeps only the item after the word "and");
    a whole answer `\\pm X` -> `-(X), X` (0.5.2 drops the `\\pm`)."""
    latex = _AND_IN_LIST.sub(", ", latex)
    if match := _PLUS_MINUS_ALL.match(latex):
        dollars, value = match.group(1), match.group(2).strip()
        latex = f"{dollars}-({value}), {value}{dollars}"
    return latex


_UNESCAPED_DOLLAR = re.compile(r"(?<!\\)\$")


def _wrap(answer: str) -> str:
    """An extracted answer as math-verify input: `$...$` unless it already carries its own delimiters."""
    if _UNESCAPED_DOLLAR.search(answer) or "\\boxed" in answer or "\\[" in answer or "\\(" in answer:
        return answer
    return f"${answer}$"


def parse_gold(gold: str) -> list:
    """math-verify's parse of a gold answer (bare LaTeX or a plain number)."""
    parse, _, _, gold_config = _math_verify()
    return parse(_wrap(_prepare(str(gold).strip())), extraction_config=gold_config, parsing_timeout=PARSE_TIMEOUT_S)


def parse_prediction(answer: str, wrap: bool = True) -> list:
    """math-verify's parse of an extracted answer (`wrap`: delimit it as LaTeX) or of a bounded answer-part tail."""
    parse, _, prediction_config, _ = _math_verify()
    text = _wrap(_prepare(answer)) if wrap else _prepare(answer)
    return parse(text, extraction_config=prediction_config, parsing_timeout=PARSE_TIMEOUT_S)


def _has_plus_minus(text: str) -> bool:
    return "\\pm" in text or "\\mp" in text or "±" in text or "∓" in text


def _extracted_text(parsed: list) -> str:
    return next((item for item in reversed(parsed) if isinstance(item, str)), "")


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text).strip("$").rstrip(".")


def _guards_reject(gold_parsed: list, pred_parsed: list, gold_text: str, pred_text: str) -> bool | None:
    """True/False when a STAR-1 guard decides the pair (math-verify 0.5.2 gets these wrong); None otherwise."""
    import sympy

    if _has_plus_minus(gold_text) != _has_plus_minus(pred_text):
        return False  # 0.5.2 drops `\pm`: `\pm 2021` would equal `2021`
    gold_expr = next((item for item in gold_parsed if isinstance(item, sympy.Basic)), None)
    pred_expr = next((item for item in pred_parsed if isinstance(item, sympy.Basic)), None)
    if gold_expr is None or pred_expr is None:
        return None
    if any(expr.has(sympy.zoo) or expr.has(sympy.nan) for expr in (gold_expr, pred_expr)):
        # `1:00` and `12:00` both parse to an undefined value: only the same written answer matches
        return _squash(_extracted_text(gold_parsed)) == _squash(_extracted_text(pred_parsed))
    if (
        isinstance(gold_expr, sympy.Eq)
        and isinstance(pred_expr, sympy.Eq)
        and isinstance(gold_expr.lhs, sympy.Symbol)
        and isinstance(pred_expr.lhs, sympy.Symbol)
        and isinstance(gold_expr.rhs, (sympy.Set, sympy.Tuple))
    ):
        # `n = {1, 2, 3}` vs `n = {2, 3, 4}`: 0.5.2 subtracts the sides of each; compare names, then the sets
        if str(gold_expr.lhs).lower() != str(pred_expr.lhs).lower():
            return False
        _, verify, _, _ = _math_verify()
        return bool(verify(gold_expr.rhs, pred_expr.rhs, timeout_seconds=PARSE_TIMEOUT_S))
    return None


def _verify(gold: str, answer: str, wrap: bool = True) -> tuple[bool, str | None]:
    """(equal, what math-verify read from `answer`) for a gold answer and an extracted answer (`wrap`) or a bounded
    answer-part tail."""
    _, verify, _, _ = _math_verify()
    gold_parsed = parse_gold(gold)
    pred_parsed = parse_prediction(answer, wrap=wrap)
    if not pred_parsed:
        return False, None
    extracted = _extracted_text(pred_parsed) or None
    if extracted and _prepare(extracted) != extracted:  # `\\boxed{\\pm 2021}` found inside a longer text
        pred_parsed = parse_prediction(extracted) or pred_parsed
        extracted = _extracted_text(pred_parsed) or extracted
    if not gold_parsed:
        return False, extracted
    guarded = _guards_reject(gold_parsed, pred_parsed, _prepare(str(gold)), extracted or answer)
    if guarded is not None:
        return guarded, extracted
    return bool(verify(gold_parsed, pred_parsed, timeout_seconds=PARSE_TIMEOUT_S)), extracted


def math_equal(prediction: str | None, gold: str) -> bool:
    """True when the extracted answer `prediction` is mathematically the same answer as `gold` (math-verify)."""
    if prediction is None or not prediction.strip():
        return False
    if _squash(prediction) == _squash(str(gold)) and not _has_plus_minus(prediction):
        return True
    if len(prediction) > MAX_SYMBOLIC_CHARS:
        return False  # no real answer is this long; the LaTeX parser's cost grows faster than linearly
    try:
        return _verify(gold, prediction)[0]
    except (MemoryError, RecursionError) as exc:
        logger.debug("math-verify ran out of room on %r: %s", prediction[:80], exc)
        return False


def integer_equal(prediction: str | None, gold: str) -> bool:
    """AIME scoring: exact integer match (leading zeros ignored); a non-integer prediction falls back to math_equal."""
    if prediction is None:
        return False
    gold_digits = str(gold).strip()
    if prediction.isdigit() and gold_digits.isdigit():  # compared as text: int() refuses over 4,300 digits
        return (prediction.lstrip("0") or "0") == (gold_digits.lstrip("0") or "0")
    return math_equal(prediction, gold_digits)


def grade_math(generation: str, gold: str, reasoning: bool | None = None) -> MathGrade:
    """Grade one math generation against `gold`.

    math-verify reads the last `MAX_PARSE_CHARS` of the answer part (its own priorities: "final answer is",
    `\\boxed{}`, LaTeX, numbers; the rightmost match wins). Two STAR-1 rules come first: a multi-box answer is
    graded as one set (`extract.final_boxed`), and a final box that starts before that window is graded alone.

    Never raises on model output: a MemoryError or RecursionError gives no answer and names itself in `error`.
    """
    try:
        text = answer_part(generation, reasoning)
        if not text:
            return MathGrade(None, False)
        window = max(0, len(text) - MAX_PARSE_CHARS)
        group = last_box_group(text)
        if group is not None and (len(group[1]) > 1 or group[0] < window):
            boxed = final_boxed(text) or ""
            if not boxed:
                return MathGrade(None, False)
            if len(boxed) > MAX_SYMBOLIC_CHARS:
                return MathGrade(boxed[:MAX_SYMBOLIC_CHARS], _squash(boxed) == _squash(str(gold)))
            correct, extracted = _verify(gold, f"\\boxed{{{_prepare(boxed)}}}", wrap=False)
            return MathGrade(extracted or boxed, correct)
        correct, extracted = _verify(gold, text[window:], wrap=False)
        return MathGrade(extracted, correct)
    except (MemoryError, RecursionError) as exc:
        return MathGrade(None, False, f"{type(exc).__name__} while grading")


MATH_PAIRS = "data/graders/math_pairs.jsonl"
"""Labelled (gold, prediction, label) pairs, package data; origin, license and split in data/graders/README.md."""


def load_math_pairs() -> list[dict]:
    """The labelled math pairs shipped with the package (each: source, group, split, gold, prediction, label)."""
    import json
    from importlib import resources

    text = resources.files("star1_hub.evaluate").joinpath(MATH_PAIRS).read_text(encoding="utf-8")
    pairs = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        missing = {"source", "split", "gold", "prediction", "label"} - row.keys()
        if missing:
            raise ValueError(f"{MATH_PAIRS} line {number}: missing field(s) {sorted(missing)}")
        pairs.append(row)
    return pairs


def validate_math_grader():
    """Agreement of `grade_math` with the labelled pairs, reported on the held-out sources (never used to tune the
    STAR-1 guards); the tuning split and each source are in `details`."""
    from importlib import metadata

    from star1_hub.evaluate.graders import GraderValidation

    per_source: dict[str, list[int]] = {}
    per_split: dict[str, list[int]] = {}
    for pair in load_math_pairs():
        verdict = grade_math(pair["prediction"], pair["gold"]).correct
        agree = int(verdict == bool(pair["label"]))
        for key, table in ((pair["source"], per_source), (pair["split"], per_split)):
            table.setdefault(key, [0, 0])
            table[key][0] += agree
            table[key][1] += 1
    agreed, total = per_split.get("heldout", [0, 0])
    if not total:
        raise ValueError(f"{MATH_PAIRS}: no held-out pairs")
    heldout_sources = sorted({p["source"].rsplit("/", 1)[-1] for p in load_math_pairs() if p["split"] == "heldout"})
    return GraderValidation(
        grader="math",
        agreement=agreed / total,
        n=total,
        source="Math-Verify tests " + ", ".join(s.removeprefix("test_").removesuffix(".py") for s in heldout_sources),
        split="heldout",
        details={
            "splits": {k: {"agree": a, "n": n, "agreement": round(a / n, 4)} for k, (a, n) in per_split.items()},
            "sources": {k: {"agree": a, "n": n, "agreement": round(a / n, 4)} for k, (a, n) in per_source.items()},
            "math_verify": metadata.version("math-verify"),
        },
    )
