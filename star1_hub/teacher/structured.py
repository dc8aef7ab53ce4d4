"""Reading JSON model output, never with `eval`: the strict JSON schema an `LLMTask` sends as structured output
(`strict_json_schema`), and the bounded search for the JSON value in a reply from an endpoint without structured
output (`extract_json_value`). Validation is the task's response model (`LLMTask.value_of`)."""

from __future__ import annotations

import json
from typing import Any

from star1_hub.teacher.records import UnparseableOutput


def _loads(text: str) -> Any:
    """`json.loads` that reports JSON nested past the interpreter's recursion limit as unparseable."""
    try:
        return json.loads(text)
    except RecursionError:
        raise UnparseableOutput("JSON nested too deeply") from None


_MAX_JSON_STARTS = 64  # bounded search for a JSON value inside prose


def _first_fenced_block(text: str) -> str | None:
    start = text.find("```")
    if start < 0:
        return None
    body_start = text.find("\n", start + 3)
    end = text.find("```", start + 3)
    if end < 0:
        return None
    if 0 <= body_start < end:
        return text[body_start + 1 : end]
    return text[start + 3 : end]


def without_trailing_commas(text: str) -> str:
    """`text` with every comma that is followed (after whitespace) by `}` or `]` removed, outside strings.

    Models copying a prompt's example often write `{"a": 1,}`; one linear pass, string literals untouched.
    """
    out: list[str] = []
    in_string = escaped = False
    comma_at: int | None = None  # index in `out` of a comma that may turn out to be trailing
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
        if char in "}]" and comma_at is not None:
            out[comma_at] = ""
        if not char.isspace():
            comma_at = None
        if char == '"':
            in_string = True
        out.append(char)
        if char == ",":
            comma_at = len(out) - 1
    return "".join(out)


def extract_json_value(text: str | None) -> Any:
    """Locate and decode the JSON value in a reply from an endpoint without structured output.

    Tries the first fenced code block, then the whole text (each also with trailing commas removed), then the first
    64 `{`/`[` positions (prose around the JSON is ignored). Runs in time linear in the input (a bounded number
    of decodes).

    Raises:
        UnparseableOutput: empty, too long, or no decodable JSON object or array.
    """
    from star1_hub.think import check_size

    if text is None or not text.strip():
        raise UnparseableOutput("empty output")
    check_size(text)
    decoder = json.JSONDecoder()
    candidates = [text.strip()]
    fenced = _first_fenced_block(text)
    if fenced is not None:
        candidates.insert(0, fenced.strip())
    for candidate in candidates:
        for variant in (candidate, without_trailing_commas(candidate)):
            try:
                return _loads(variant)
            except json.JSONDecodeError:
                pass
    tried = 0
    for position, char in enumerate(text):
        if char not in "{[":
            continue
        tried += 1
        if tried > _MAX_JSON_STARTS:
            break
        try:
            value, _ = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            continue
        except RecursionError:
            raise UnparseableOutput("JSON nested too deeply") from None
        if isinstance(value, dict | list):
            return value
    raise UnparseableOutput("no JSON object or array found")


def strict_json_schema(model) -> dict[str, Any]:
    """The JSON schema of a pydantic model in the strict form structured output expects.

    Every object lists all its properties as required and forbids others (OpenAI's strict mode and vLLM's
    guided decoding then produce exactly the model's fields); titles are dropped.
    """
    schema = model.model_json_schema()

    def tighten(node: Any) -> None:
        if isinstance(node, dict):
            node.pop("title", None)
            if node.get("type") == "object" and isinstance(node.get("properties"), dict):
                node["required"] = list(node["properties"])
                node["additionalProperties"] = False
            for key, value in node.items():
                if key != "properties":
                    tighten(value)
                else:
                    for sub in value.values():
                        tighten(sub)
        elif isinstance(node, list):
            for item in node:
                tighten(item)

    tighten(schema)
    return schema
