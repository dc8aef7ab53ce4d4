"""The checks behind the curation stages' response models, and the rewrite stage's free-text parser.

A stage reads its reply through one path: its `LLMTask` locates the JSON in the reply's answer part (the engine's
`extract_json_value`, or strict JSON under structured output) and validates it with the stage's response model,
whose `model_validator` calls a check here (`check_categories`, `check_scores`, `check_reasoned`); the rewrite
stage's `parse` calls `parse_rewrite`. Model text is never evaluated as code. Every rejection raises
`UnparseableOutput` with a short reason, which the teacher engine records as the row's error `unparseable`.
The golden tables (tests/curate/cases/*.json) run through the stages themselves.

Model output is untrusted, so every parser here runs in time linear in its input: the JSON search is the
engine's (`str.find` for fences, no backtracking regex, at most 64 decode attempts inside prose), texts longer than
`MAX_JSON_CHARS` / `star1_hub.think.MAX_OUTPUT_CHARS` are rejected, and JSON nested deeper than the decoder allows
is `unparseable` rather than a `RecursionError`. The think layout lives in `star1_hub.think`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from star1_hub.data.schema import CATEGORIES, OTHER_LABEL
from star1_hub.errors import UnparseableOutput
from star1_hub.teacher.structured import extract_json_value, without_trailing_commas
from star1_hub.think import THINK_CLOSE, THINK_OPEN, check_size

ALLOWED_LABELS: tuple[str, ...] = (*CATEGORIES, OTHER_LABEL)
MAX_LABELS = 4
MAX_JSON_CHARS = 200_000
"""Longest text searched for JSON (a classifier / judge / rewriter answer is a few hundred characters)."""

__all__ = [
    "ALLOWED_LABELS",
    "MAX_JSON_CHARS",
    "MAX_LABELS",
    "check_categories",
    "check_reasoned",
    "check_scores",
    "extract_json",
    "parse_rewrite",
]


def extract_json(text: str | None) -> Any:
    """The rewrite stage's JSON reader: the first JSON value found in `text`, tolerating trailing commas.

    The search itself is the engine's (`teacher.structured.extract_json_value`: a fenced block, the whole text,
    then at most 64 `{`/`[` positions inside prose), run on the text with trailing commas removed.

    Raises:
        UnparseableOutput: empty text, text longer than `MAX_JSON_CHARS`, JSON nested too deeply, or no
            decodable JSON.
    """
    if text is None or not text.strip():
        raise UnparseableOutput("empty output")
    if len(text) > MAX_JSON_CHARS:
        raise UnparseableOutput(f"output is {len(text):,} characters, above the {MAX_JSON_CHARS:,} searched for JSON")
    try:
        return extract_json_value(without_trailing_commas(text))
    except RecursionError as exc:
        raise UnparseableOutput("JSON nested too deeply") from exc


def check_categories(value: Any) -> list[str]:
    """Validate a decoded classifier answer: 1–4 distinct labels from the 8 categories + `Other`, in answer order.

    Accepts a list of strings or an object `{"categories": [...]}`. Labels are stripped and duplicates removed
    (small models repeat labels even under a schema); the order of first occurrence is kept because the policies
    follow it. Used by the classify stage's response model, so the stage and this module check the same way.

    Raises:
        UnparseableOutput: not a list of strings, empty, an unknown label, or more than 4 distinct labels.
    """
    if isinstance(value, dict):
        if set(value) != {"categories"}:
            raise UnparseableOutput(f"expected an object with only 'categories', got keys {sorted(value)}")
        value = value["categories"]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UnparseableOutput("categories must be a JSON array of strings")
    labels = list(dict.fromkeys(v.strip() for v in value))
    if not labels:
        raise UnparseableOutput("empty category list")
    unknown = [label for label in labels if label not in ALLOWED_LABELS]
    if unknown:
        raise UnparseableOutput(f"unknown category label(s) {unknown}")
    if len(labels) > MAX_LABELS:
        raise UnparseableOutput(f"{len(labels)} distinct labels, at most {MAX_LABELS} allowed")
    return labels


def check_scores(value: Any, keys: Sequence[str], low: int, high: int) -> dict[str, int]:
    """Validate a decoded judge answer: `{key: int}` for exactly `keys`, each an integer in [low, high].

    Extra keys (e.g. an explanation) are ignored; a value of `10.0` is accepted as 10, `"10"` or `true` is not.

    Raises:
        UnparseableOutput: not an object, a key missing, a non-integer value or a value out of range.
    """
    if not isinstance(value, dict):
        raise UnparseableOutput("scores must be a JSON object")
    scores: dict[str, int] = {}
    for key in keys:
        if key not in value:
            raise UnparseableOutput(f"missing score {key!r}")
        raw = value[key]
        if isinstance(raw, bool) or not isinstance(raw, int | float) or int(raw) != raw:
            raise UnparseableOutput(f"score {key!r} must be an integer, got {raw!r}")
        if not low <= raw <= high:
            raise UnparseableOutput(f"score {key!r}={raw} outside {low}..{high}")
        scores[key] = int(raw)
    return scores


def check_reasoned(value: Any) -> tuple[str, str]:
    """Validate a decoded `{"reasoning": str, "answer": str}` (the reason stage's `json` output format, whose
    response model calls this); return both parts.

    Raises:
        UnparseableOutput: not that object, or an empty / think-tag-containing field.
    """
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("reasoning"), str)
        or not isinstance(value.get("answer"), str)
    ):
        raise UnparseableOutput("expected an object with string fields 'reasoning' and 'answer'")
    reasoning, answer = value["reasoning"], value["answer"]
    if not reasoning.strip() or not answer.strip():
        raise UnparseableOutput("empty 'reasoning' or 'answer'")
    if any(tag in reasoning + answer for tag in (THINK_OPEN, THINK_CLOSE)):
        raise UnparseableOutput("think tags inside a JSON field")
    return reasoning, answer


def parse_rewrite(text: str | None, max_chars: int = 8000) -> str:
    """Parse a benign rewrite: plain text (surrounding quotes and a `Rewritten request:` prefix removed) or an
    object `{"question": str}`.

    Raises:
        UnparseableOutput: empty, or longer than `max_chars`.
    """
    if text is None or not text.strip():
        raise UnparseableOutput("empty output")
    check_size(text)
    stripped = text.strip()
    question: Any = None
    if stripped.startswith(("{", "```")):
        value = extract_json(stripped)
        if not isinstance(value, dict) or not isinstance(value.get("question"), str):
            raise UnparseableOutput("expected an object with a string field 'question'")
        question = value["question"]
    else:
        question = _drop_prefix(stripped, ("rewritten request", "rewritten question"))
        if len(question) >= 2 and question[0] == question[-1] and question[0] in "\"'":
            question = question[1:-1]
    question = question.strip()
    if not question:
        raise UnparseableOutput("empty rewritten question")
    if len(question) > max_chars:
        raise UnparseableOutput(f"rewritten question longer than {max_chars} characters")
    return question


def _drop_prefix(text: str, labels: tuple[str, ...]) -> str:
    """`text` without a leading `<label>:` (case-insensitive, spaces allowed before the colon)."""
    lowered = text[:64].lower()
    for label in labels:
        if lowered.startswith(label):
            rest = text[len(label) :].lstrip(" \t")
            if rest.startswith(":"):
                return rest[1:].lstrip()
    return text
