"""Strict parsers for model output: JSON extraction, category lists, rubric scores, think blocks, rewrites.

Model text is never evaluated as code. JSON is located (a fenced ```json block, the whole text, or the first
decodable object/array inside prose), trailing commas before a closing bracket are removed by a scanner that
skips string literals, and the result is decoded with `json` and validated. Every rejection raises
`UnparseableOutput` with a short reason, which the teacher engine records as the row's error `unparseable`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from star1_hub.data.schema import CATEGORIES, OTHER_LABEL
from star1_hub.teacher import UnparseableOutput

ALLOWED_LABELS: tuple[str, ...] = (*CATEGORIES, OTHER_LABEL)
MAX_LABELS = 4
_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n?(.*?)```", re.DOTALL)
_DECODER = json.JSONDecoder()
_MAX_START_POSITIONS = 64  # bounded search for JSON inside prose


def strip_trailing_commas(text: str) -> str:
    """Remove commas that directly precede `}` or `]` (ignoring whitespace), leaving string literals untouched."""
    out: list[str] = []
    in_string = escaped = False
    pending_comma: int | None = None  # index in `out` of a comma that may turn out to be trailing
    for char in text:
        if in_string:
            out.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char in "}]" and pending_comma is not None:
            del out[pending_comma]
            pending_comma = None
        elif not char.isspace():
            pending_comma = None
        if char == '"':
            in_string = True
        out.append(char)
        if char == ",":
            pending_comma = len(out) - 1
    return "".join(out)


def extract_json(text: str | None) -> Any:
    """Return the first JSON value found in `text`.

    Tries, in order: the first fenced code block, the whole text, then each `{`/`[` position from the left
    (prose before/after the JSON is ignored). Trailing commas are tolerated.

    Raises:
        UnparseableOutput: empty text or no decodable JSON.
    """
    if text is None or not text.strip():
        raise UnparseableOutput("empty output")
    candidates = [m.group(1) for m in _FENCE.finditer(text)][:1] + [text]
    for candidate in candidates:
        cleaned = strip_trailing_commas(candidate.strip())
        try:
            return json.loads(cleaned)
        except json.JSONDecodeError:
            pass
        starts = [i for i, ch in enumerate(cleaned) if ch in "{["][:_MAX_START_POSITIONS]
        for start in starts:
            try:
                value, _ = _DECODER.raw_decode(cleaned, start)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict | list):
                return value
    raise UnparseableOutput("no JSON object or array found")


def parse_categories(text: str | None) -> list[str]:
    """Parse a classifier answer into 1–4 distinct labels from the 8 categories + `Other`, in answer order.

    Accepts a JSON array of strings or an object `{"categories": [...]}`. Duplicates are removed (small models
    repeat labels even under a schema); order of first occurrence is kept because policies follow it.

    Raises:
        UnparseableOutput: not a list of strings, empty, an unknown label, or more than 4 distinct labels.
    """
    value = extract_json(text)
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


def parse_scores(text: str | None, keys: Sequence[str], low: int, high: int) -> dict[str, int]:
    """Parse a judge answer into `{key: int}` for exactly `keys`, each an integer in [low, high].

    Extra keys (e.g. an explanation) are ignored; a value of `10.0` is accepted as 10, `"10"` or `true` is not.

    Raises:
        UnparseableOutput: not an object, a key missing, a non-integer value or a value out of range.
    """
    value = extract_json(text)
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


def format_think_response(reasoning: str, answer: str) -> str:
    """Return the canonical STAR-1 response layout `<think>\\n…\\n</think>\\n\\n…`."""
    return f"<think>\n{reasoning.strip()}\n</think>\n\n{answer.strip()}"


def parse_think_response(text: str | None) -> str:
    """Accept a response with exactly one `<think>…</think>` block first, then a non-empty answer.

    Returns the canonical layout (see `format_think_response`).

    Raises:
        UnparseableOutput: no/several think blocks, text before `<think>`, empty reasoning or empty answer.
    """
    if text is None or not text.strip():
        raise UnparseableOutput("empty output")
    opens, closes = text.count("<think>"), text.count("</think>")
    if opens != 1 or closes != 1:
        raise UnparseableOutput(f"expected exactly one <think>…</think> block, found {opens} open / {closes} close")
    before, rest = text.split("<think>", 1)
    if before.strip():
        raise UnparseableOutput("text before <think>")
    if "</think>" not in rest:
        raise UnparseableOutput("</think> comes before <think>")
    reasoning, answer = rest.split("</think>", 1)
    if not reasoning.strip():
        raise UnparseableOutput("empty reasoning inside <think>")
    if not answer.strip():
        raise UnparseableOutput("empty answer after </think>")
    return format_think_response(reasoning, answer)


def parse_json_response(text: str | None) -> str:
    """Accept `{"reasoning": str, "answer": str}` (structured-output mode for models without native thinking).

    Returns the canonical think layout, so later stages see the same `response` format either way.

    Raises:
        UnparseableOutput: not that object, or an empty / think-tag-containing field.
    """
    value = extract_json(text)
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
    return format_think_response(reasoning, answer)


def parse_rewrite(text: str | None, max_chars: int = 2000) -> str:
    """Parse a benign rewrite: `{"question": str}` or plain text (quotes and a `Rewritten request:` prefix removed).

    Raises:
        UnparseableOutput: empty, or longer than `max_chars`.
    """
    if text is None or not text.strip():
        raise UnparseableOutput("empty output")
    stripped = text.strip()
    question: Any = None
    if stripped.startswith(("{", "```")):
        value = extract_json(stripped)
        if not isinstance(value, dict) or not isinstance(value.get("question"), str):
            raise UnparseableOutput("expected an object with a string field 'question'")
        question = value["question"]
    else:
        question = re.sub(r"^(rewritten (request|question)\s*:)\s*", "", stripped, flags=re.IGNORECASE)
        if len(question) >= 2 and question[0] == question[-1] and question[0] in "\"'":
            question = question[1:-1]
    question = question.strip()
    if not question:
        raise UnparseableOutput("empty rewritten question")
    if len(question) > max_chars:
        raise UnparseableOutput(f"rewritten question longer than {max_chars} characters")
    return question
