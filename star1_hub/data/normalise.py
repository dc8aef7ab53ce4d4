"""Read the released STAR-* JSON/JSONL files and turn them into clean, validated records.

The released STAR-1 file has been seen both with real lists/dicts and with Python-literal strings
(`"['Self-Harm']"`, `"{'Content_Safety_Compliance': 10, …}"`) in `category` / `score`. Literal strings are parsed
with `ast.literal_eval` (literals only — never `eval`) and then checked against the schema. Every problem is
collected and reported in ONE error naming the file, row id and field, so a bad file is fixed in one pass.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from star1_hub.data.schema import CATEGORIES, OTHER_LABEL, DatasetKind, score_spec
from star1_hub.errors import Star1Error
from star1_hub.think import count_think_blocks

# `split_response` is the data API's name for the one think rule, reading a stored row (`star1_hub.think.split_think`)
from star1_hub.think import split_think as split_response  # noqa: F401

_MAX_REPORTED = 20


class DataValidationError(Star1Error, ValueError):
    """One or more rows of a STAR-* file are invalid. `problems` lists (row id, field, message)."""

    def __init__(self, origin: str, problems: list[tuple[str, str, str]]):
        self.origin = origin
        self.problems = problems
        shown = "\n".join(f"  row id={rid!s} field={field!r}: {msg}" for rid, field, msg in problems[:_MAX_REPORTED])
        more = f"\n  … and {len(problems) - _MAX_REPORTED} more" if len(problems) > _MAX_REPORTED else ""
        super().__init__(
            f"{origin}: {len(problems)} invalid value(s); nothing was written or pushed. "
            f"Fix these rows and run again:\n{shown}{more}"
        )


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSON array or JSON-Lines file of objects.

    Raises:
        FileNotFoundError: the file does not exist.
        DataValidationError: malformed JSON (with line/column) or a top-level value that is not a list of objects.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    stripped = text.lstrip()
    if not stripped:
        raise DataValidationError(str(path), [("-", "-", "the file is empty")])
    if stripped.startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataValidationError(
                str(path), [("-", "-", f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")]
            ) from exc
    else:
        rows = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DataValidationError(
                    str(path),
                    [(f"line {lineno}", "-", f"malformed JSON Lines record: {exc.msg} (column {exc.colno})")],
                ) from exc
    bad = [
        (f"index {i}", "-", "record is not a JSON object") for i, row in enumerate(rows) if not isinstance(row, dict)
    ]
    if bad:
        raise DataValidationError(str(path), bad)
    return rows


def _literal(value: Any, expected: type) -> Any:
    """Parse a Python-literal string (only literals; `ast.literal_eval` never executes code)."""
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
            raise ValueError(f"not a valid {expected.__name__} literal ({type(exc).__name__})") from exc
    if not isinstance(value, expected):
        raise ValueError(f"expected a {expected.__name__}, got {type(value).__name__}")
    return value


def _check_category(value: Any, kind: DatasetKind) -> list[str]:
    labels = _literal(value, list)
    allowed = set(CATEGORIES) | ({OTHER_LABEL} if kind == "star41k" else set())
    if not labels and kind != "benign915":
        raise ValueError("empty category list (every harmful row has at least one of the 8 labels)")
    unknown = [label for label in labels if label not in allowed]
    if unknown:
        raise ValueError(f"unknown label(s) {unknown}; allowed: {sorted(allowed)}")
    if len(set(labels)) != len(labels):
        raise ValueError(f"duplicate labels in {labels}")
    return [str(label) for label in labels]


def _check_score(value: Any, kind: DatasetKind) -> dict[str, int]:
    keys, (low, high) = score_spec(kind)
    score = _literal(value, dict)
    if set(score) != set(keys):
        missing, extra = sorted(set(keys) - set(score)), sorted(set(score) - set(keys))
        raise ValueError(f"score keys must be exactly {list(keys)} (missing {missing}, unexpected {extra})")
    for key in keys:
        item = score[key]
        if isinstance(item, bool) or not isinstance(item, int) or not low <= item <= high:
            raise ValueError(f"{key}={item!r} is not an integer in {low}..{high}")
    return {key: int(score[key]) for key in keys}


def normalise_records(rows: Iterable[dict[str, Any]], kind: DatasetKind, origin: str = "<records>") -> list[dict]:
    """Validate and normalise released STAR-* rows into the typed column layout of `features_for(kind)`.

    Args:
        rows: raw records (e.g. from `read_records`).
        kind: `star1`, `star41k` or `benign915`.
        origin: the file name used in error messages.

    Returns:
        Records with keys `id, question, response, category, source, score` (ids as strings).

    Raises:
        DataValidationError: listing every bad row id and field.
    """
    score_spec(kind)  # validates `kind` early with a clear message
    problems: list[tuple[str, str, str]] = []
    out: list[dict] = []
    seen: set[str] = set()
    for index, row in enumerate(rows):
        raw_id = row.get("id")
        rid = str(raw_id).strip() if raw_id is not None and not isinstance(raw_id, bool) else ""
        label = rid or f"<index {index}>"
        if not rid:
            problems.append((label, "id", "missing or empty id"))
        elif rid in seen:
            problems.append((label, "id", "duplicate id"))
        seen.add(rid)
        record: dict[str, Any] = {"id": rid}
        for field in ("question", "response", "source"):
            value = row.get(field)
            if field == "source" and value is None and kind == "benign915":
                value = "4o_rewrite"  # the released benign file adds this constant source (spec §11)
            if not isinstance(value, str) or not value.strip():
                empty = value is None or (isinstance(value, str) and not value.strip())
                problems.append((label, field, "missing or empty text" if empty else "not a string"))
                continue
            record[field] = value.strip() if field != "response" else value
        response = record.get("response")
        if kind != "benign915" and isinstance(response, str) and count_think_blocks(response) != 1:
            problems.append((label, "response", "must contain exactly one <think>…</think> block"))
        for field, check in (("category", _check_category), ("score", _check_score)):
            if field not in row:
                if field == "category" and kind == "benign915":
                    record[field] = []
                    continue
                problems.append((label, field, "missing column"))
                continue
            try:
                record[field] = check(row[field], kind)
            except ValueError as exc:
                problems.append((label, field, str(exc)))
        out.append(record)
    if not out and not problems:
        problems.append(("-", "-", "no rows"))
    if problems:
        raise DataValidationError(origin, problems)
    return out


def load_records(path: str | Path, kind: DatasetKind) -> list[dict]:
    """Read and normalise a released STAR-* file in one call."""
    return normalise_records(read_records(path), kind, origin=str(path))
