"""Strict parsers for model output: JSON extraction, category lists, rubric scores, think blocks, rewrites.

Model text is never evaluated as code. JSON is located (a fenced ```json block, the whole text, or the first
decodable object/array inside prose), trailing commas before a closing bracket are removed by a scanner that
skips string literals, and the result is decoded with `json` and validated. Every rejection raises
`UnparseableOutput` with a short reason, which the teacher engine records as the row's error `unparseable`.

Model output is untrusted, so every parser here runs in time linear in its input: the JSON search is the
engine's (`str.find` for fences, no backtracking regex, at most 64 decode attempts inside prose), texts longer than
`MAX_JSON_CHARS` / `MAX_OUTPUT_CHARS` are rejected, and JSON nested deeper than the decoder allows is `unparseable`
rather than a `RecursionError`. The think layout lives in `star1_hub.think`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from star1_hub.data.schema import CATEGORIES, OTHER_LABEL
from star1_hub.errors import UnparseableOutput
from star1_hub.teacher.structured import extract_json_value
from star1_hub.teacher.structured import without_trailing_commas as strip_trailing_commas
from star1_hub.think import MAX_OUTPUT_CHARS, check_size, format_think, parse_think_response

ALLOWED_LABELS: tuple[str, ...] = (*CATEGORIES, OTHER_LABEL)
MAX_LABELS = 4
MAX_JSON_CHARS = 200_000
"""Longest text searched for JSON (a classifier / judge / rewriter answer is a few hundred characters)."""

__all__ = [
    "ALLOWED_LABELS",
    "MAX_LABELS",
    "MAX_OUTPUT_CHARS",
    "check_categories",
    "check_reasoned",
    "check_scores",
    "extract_json",
    "format_think",
    "parse_categories",
    "parse_json_response",
    "parse_rewrite",
    "parse_scores",
    "parse_think_response",
    "strip_trailing_commas",
]


def extract_json(text: str | None) -> Any:
    """Return the first JSON value found in `text`, tolerating trailing commas (the paper's judge example has one).

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
        return extract_json_value(strip_trailing_commas(text))
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


def parse_categories(text: str | None) -> list[str]:
    """`check_categories` of the JSON found in `text`."""
    return check_categories(extract_json(text))


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


def parse_scores(text: str | None, keys: Sequence[str], low: int, high: int) -> dict[str, int]:
    """`check_scores` of the JSON found in `text`."""
    return check_scores(extract_json(text), keys, low, high)


def check_reasoned(value: Any) -> tuple[str, str]:
    """Validate a decoded `{"reasoning": str, "answer": str}` (the `json` output format); return both parts.

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
    if any(tag in reasoning + answer for tag in ("<think>", "</think>")):
        raise UnparseableOutput("think tags inside a JSON field")
    return reasoning, answer


def parse_json_response(text: str | None) -> str:
    """The canonical think layout of a `json`-format reasoning answer found in `text`, so later stages see the
    same `response` format either way."""
    return format_think(*check_reasoned(extract_json(text)))


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
