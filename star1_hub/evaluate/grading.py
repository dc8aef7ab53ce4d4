"""Deterministic graders for the reasoning benchmarks: math equivalence and HumanEval execution.

Math answers are compared by normalised string first, then symbolically with lighteval's LaTeX/expression
parser (latex2sympy2 + sympy, math-verify style) instead of the original GPT-4o equivalence judge
(see docs/deviations.md), so a re-run gives the same score and costs nothing.

HumanEval programs are executed in a separate `python -I` process in its own session/process group, with a fresh
temporary directory as cwd, a wall-clock timeout after which the whole group is killed, and limits on address
space, CPU time, processes, open files and file size. That contains crashes, infinite loops and forks, but it is
NOT a security sandbox: only evaluate models you trust, or run the evaluation inside a container.
"""

from __future__ import annotations

import logging
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
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


CANDIDATE_LIMITS = {
    "address_space_bytes": 2 * 1024**3,
    "file_size_bytes": 16 * 1024**2,
    "processes": 64,
    "open_files": 64,
}
"""Resource limits of one HumanEval candidate process (CPU seconds follow the timeout)."""


def _candidate_limits(cpu_seconds: int):
    """A `preexec_fn` that applies `CANDIDATE_LIMITS` (and the CPU limit) in the child before exec."""

    def apply() -> None:
        import resource

        for limit, value in (
            (resource.RLIMIT_AS, CANDIDATE_LIMITS["address_space_bytes"]),
            (resource.RLIMIT_FSIZE, CANDIDATE_LIMITS["file_size_bytes"]),
            (resource.RLIMIT_NPROC, CANDIDATE_LIMITS["processes"]),
            (resource.RLIMIT_NOFILE, CANDIDATE_LIMITS["open_files"]),
            (resource.RLIMIT_CPU, cpu_seconds),
            (resource.RLIMIT_CORE, 0),
        ):
            try:
                resource.setrlimit(limit, (value, value))
            except (ValueError, OSError):  # a hard limit already lower than ours stays as it is
                pass

    return apply


def _kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the candidate's whole process group (its own session), then reap the candidate."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


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
    """Execute one HumanEval candidate; returns `{"passed": bool, "status": "passed"|"failed"|"timeout"|"no_code"}`.

    The candidate runs as `python -I` in its own session and process group, with a fresh temporary directory as
    its working directory and `HOME`/`TMPDIR`, a minimal environment and `CANDIDATE_LIMITS`. When it exits or
    times out, the whole process group is killed, so processes it forked do not outlive it. This contains
    accidents (loops, crashes, memory blow-ups, stray files in the cwd); it is not a sandbox for untrusted code:
    the candidate can still read and write anything the user running `star1 eval` can (see the evaluate README
    for running the evaluation in a container).
    """
    if not code or not code.strip():
        return {"passed": False, "status": "no_code"}
    if os.name != "posix":
        raise RuntimeError("HumanEval execution needs a POSIX system (process groups and resource limits)")
    program = build_humaneval_program(prompt, code, test, entry_point)
    with tempfile.TemporaryDirectory(prefix="star1-humaneval-") as workdir:
        path = os.path.join(workdir, "candidate.py")
        with open(path, "w") as handle:
            handle.write(program)
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONHASHSEED": "0", "HOME": workdir, "TMPDIR": workdir}
        process = subprocess.Popen(
            [sys.executable, "-I", path],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # its own session and process group: killpg reaches everything it forks
            preexec_fn=_candidate_limits(max(1, math.ceil(timeout_s)) + 1),
        )
        try:
            returncode = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            return {"passed": False, "status": "timeout"}
        _kill_group(process)  # the candidate is gone; anything it left running in its group goes too
    return {"passed": returncode == 0, "status": "passed" if returncode == 0 else "failed"}
