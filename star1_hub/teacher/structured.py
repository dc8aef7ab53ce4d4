"""Strict parsing of structured (JSON) model output: `json.loads` plus JSON-schema validation, never `eval`."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from star1_hub.teacher.records import UnparseableOutput

_FENCE = re.compile(r"```(?:json)?\s*\n(.*?)\n?```", re.DOTALL)


@lru_cache(maxsize=64)
def _validator(schema_json: str):
    import jsonschema

    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def parse_json_output(text: str | None, schema: dict[str, Any] | None = None, allow_fence: bool = False) -> Any:
    """Parse model text as strict JSON and validate it against a JSON schema.

    Args:
        text: The model's output.
        schema: JSON schema the object must satisfy (None: any JSON value).
        allow_fence: Also accept the first fenced ```json block (for endpoints without structured output).

    Returns:
        The parsed JSON value.

    Raises:
        UnparseableOutput: The text is empty, not valid JSON, or violates the schema.
    """
    if not text or not text.strip():
        raise UnparseableOutput("empty output")
    candidate = text.strip()
    try:
        value = json.loads(candidate)
    except json.JSONDecodeError as exc:
        match = _FENCE.search(candidate) if allow_fence else None
        if match is None:
            raise UnparseableOutput(f"not valid JSON: {exc.msg} at char {exc.pos}") from None
        try:
            value = json.loads(match.group(1))
        except json.JSONDecodeError as inner:
            raise UnparseableOutput(f"fenced block is not valid JSON: {inner.msg} at char {inner.pos}") from None
    if schema is not None:
        errors = sorted(_validator(json.dumps(schema, sort_keys=True)).iter_errors(value), key=lambda e: list(e.path))
        if errors:
            where = "/".join(str(p) for p in errors[0].absolute_path) or "<root>"
            raise UnparseableOutput(f"schema violation at {where}: {errors[0].message}")
    return value
