"""Deterministic graders for the reasoning benchmarks: math equivalence and HumanEval execution.

Math answers are compared by normalised string first, then symbolically with lighteval's LaTeX/expression
parser (latex2sympy2 + sympy, math-verify style) instead of the original GPT-4o equivalence judge
(spec §13.2 item 9), so a re-run gives the same score and costs nothing.

HumanEval programs are executed in a separate `python -I` process in a temporary directory with a wall-clock
timeout and an address-space limit. That isolates crashes and infinite loops, but it is NOT a security
sandbox: only evaluate models you trust, or run the evaluation inside a container.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import tempfile
from functools import cache

logger = logging.getLogger(__name__)


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


def _limit_memory() -> None:  # runs in the child before exec
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))
    except (ImportError, ValueError, OSError):
        pass


def build_humaneval_program(prompt: str, code: str, test: str, entry_point: str) -> str:
    """Assemble the program to run: the candidate function (whole definition, or a body completing `prompt`)
    followed by the benchmark's `check` function and a call to it."""
    if re.search(rf"^\s*def\s+{re.escape(entry_point)}\s*\(", code, re.M):
        header = "\n".join(line for line in prompt.splitlines() if line.startswith(("import ", "from ")))
        program = f"{header}\n{code}"
    else:
        program = prompt + code
    return f"{program}\n\n{test}\n\ncheck({entry_point})\n"


def run_humaneval(prompt: str, code: str | None, test: str, entry_point: str, timeout_s: float = 3.0) -> dict:
    """Execute one HumanEval candidate; returns `{"passed": bool, "status": "passed"|"failed"|"timeout"|"no_code"}`."""
    if not code or not code.strip():
        return {"passed": False, "status": "no_code"}
    program = build_humaneval_program(prompt, code, test, entry_point)
    with tempfile.TemporaryDirectory(prefix="star1-humaneval-") as workdir:
        path = os.path.join(workdir, "candidate.py")
        with open(path, "w") as handle:
            handle.write(program)
        try:
            proc = subprocess.run(
                [sys.executable, "-I", path],
                cwd=workdir,
                capture_output=True,
                timeout=timeout_s,
                preexec_fn=_limit_memory if os.name == "posix" else None,
                env={"PATH": os.environ.get("PATH", ""), "PYTHONHASHSEED": "0"},
            )
        except subprocess.TimeoutExpired:
            return {"passed": False, "status": "timeout"}
    return {"passed": proc.returncode == 0, "status": "passed" if proc.returncode == 0 else "failed"}
