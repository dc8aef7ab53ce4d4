"""Grader-validity report: how far each deterministic grader agrees with labelled validation data.

Every grader behind a published score ships a small labelled validation set (real model outputs, labelled by
people or by a reference implementation, with source and license in its README) and a validator that measures
the grader's agreement with those labels on a held-out split. `star1 eval graders` prints the table; the eval
card shows each grader's agreement beside its scores.

The registry holds import paths, not functions, so a grader module can import `GraderValidation` from here
without an import cycle, and a run that needs one grader never loads (or runs) another's validation. A validator
that is missing or fails is reported as such (`error`), never dropped.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field

from star1_hub.errors import Star1Error

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GraderValidation:
    """One grader's measured agreement with labelled data.

    Attributes:
        grader: registry name ("math", "humaneval", "refusal_string").
        agreement: fraction of the `n` labelled items where the grader's verdict equals the label.
        n: how many labelled items `agreement` is measured on (the reported split only).
        source: where the labelled items come from (short; the data README has the full origin and license).
        split: which split `agreement` is measured on (e.g. "heldout": sources never used to tune the grader).
        details: anything else worth showing (other splits, per-source numbers, the grader's version).
    """

    grader: str
    agreement: float
    n: int
    source: str
    split: str
    details: dict = field(default_factory=dict)


GRADERS: dict[str, str] = {
    "math": "star1_hub.evaluate.grading:validate_math_grader",
    "humaneval": "star1_hub.evaluate.humaneval:validate_humaneval_grader",
    "refusal_string": "star1_hub.evaluate.judges.refusal:validate_string_judge",
}
"""Grader name -> `module:function` returning its GraderValidation (imported only when that grader is asked for)."""

_CACHE: dict[str, GraderValidation | Exception] = {}


class GraderUnavailable(Star1Error, RuntimeError):
    """A grader's validator could not be imported or raised; the message says which and why."""


def validate(name: str) -> GraderValidation:
    """The validation of grader `name`, computed once per process.

    Raises:
        KeyError: `name` is not in GRADERS.
        GraderUnavailable: its validator is missing or failed (the failure is cached too: asked again, it says so).
    """
    target = GRADERS[name]
    if name not in _CACHE:
        module_name, _, function_name = target.partition(":")
        try:
            function = getattr(importlib.import_module(module_name), function_name)
        except (ImportError, AttributeError) as exc:
            _CACHE[name] = GraderUnavailable(f"{name}: validator {target} is missing ({type(exc).__name__}: {exc})")
        else:
            try:
                result = function()
                if not isinstance(result, GraderValidation):
                    raise TypeError(f"returned {type(result).__name__}, not GraderValidation")
                _CACHE[name] = result
            except Exception as exc:  # noqa: BLE001 - reported as this grader's failure, never hidden
                logger.warning("grader validation %s failed: %s: %s", name, type(exc).__name__, exc)
                _CACHE[name] = GraderUnavailable(f"{name}: validator {target} failed ({type(exc).__name__}: {exc})")
    cached = _CACHE[name]
    if isinstance(cached, Exception):
        raise cached
    return cached


def validation_rows(names: list[str] | None = None) -> list[dict]:
    """One row per grader for the `star1 eval graders` table; a missing or failed validator shows its error."""
    rows = []
    for name in names or list(GRADERS):
        try:
            result = validate(name)
        except GraderUnavailable as exc:
            rows.append(
                {
                    "grader": name,
                    "agreement": None,
                    "n": 0,
                    "split": "",
                    "source": "",
                    "error": str(exc),
                    "details": {},
                }
            )
            continue
        rows.append(
            {
                "grader": result.grader,
                "agreement": round(result.agreement, 4),
                "n": result.n,
                "split": result.split,
                "source": result.source,
                "error": None,
                "details": result.details,
            }
        )
    return rows


def agreement_line(name: str) -> str:
    """The sentence shown beside a score in the eval card, e.g. "math grader: 0.97 agreement on 215 labelled
    pairs (held-out: Math-Verify test tables)"; says so when the validation is unavailable."""
    try:
        result = validate(name)
    except GraderUnavailable as exc:
        return f"{name} grader: agreement not measured ({exc})"
    return f"{name} grader: {result.agreement:.2f} agreement on {result.n} labelled items ({result.split}: {result.source})"


def card_agreements(tasks: dict) -> dict[str, str]:
    """Task name -> agreement line for the tasks (name -> EvalTask) whose declared scoring has a validated grader;
    computed once per grader and only for graders these tasks use (a run without a math task never runs the math
    validation)."""
    lines: dict[str, str] = {}
    for name, task in tasks.items():
        if task.scoring.grader is not None:
            lines[name] = agreement_line(task.scoring.grader)
    return lines
