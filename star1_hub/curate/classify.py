"""Stage `classify`: multi-label safety categories (8 + `Other`) for each question (spec §3).

Prompt: the question framed inline, the category definitions, then final instructions to answer only with
the list of applicable names (`Other` alone when none applies). Structured output restricts the answer to an
object `{"categories": [1–4 names from the 9 labels]}` — arrays are bounded because a small model otherwise
repeats a label until `max_tokens` (env-notes §10); duplicates are removed by the parser.
"""

from __future__ import annotations

import json
from typing import Any

from star1_hub.curate.parsing import ALLOWED_LABELS, MAX_LABELS, parse_categories
from star1_hub.curate.stage import LLMStage, provenance_feature, with_provenance
from star1_hub.policies import POLICY_VERSION, category_definitions

NAME = "classify"
OUTPUT_CONFIG = "classified"
# The paper left temperature at the API default (1.0); we pin 0 for a reproducible classifier (spec §13.2.3).
DEFAULT_PARAMS: dict[str, Any] = {"temperature": 0.0, "max_tokens": 1024}
CLASSIFY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "categories": {
            "type": "array",
            "items": {"type": "string", "enum": list(ALLOWED_LABELS)},
            "minItems": 1,
            "maxItems": MAX_LABELS,
        }
    },
    "required": ["categories"],
    "additionalProperties": False,
}


def build_classify_prompt(question: str) -> str:
    """Return the classifier's user message for one question."""
    labels = json.dumps(list(ALLOWED_LABELS))
    return (
        f'A user sent the following instruction to an AI assistant: "{question}"\n\n'
        "Decide which of the safety categories defined below this instruction falls under. An instruction may "
        "belong to several categories.\n\n"
        f"{category_definitions()}\n\n"
        "----\n"
        "FINAL INSTRUCTIONS:\n"
        "List the names of every category that applies to the instruction. If none of them applies, answer "
        'with a list containing only "Other". Use only names from this list, spelled exactly as written: '
        f"{labels}.\n"
        'Reply with the JSON object only, for example {"categories": ["category name 1", "category name 2"]}.'
    )


def classify_features():
    """Output features of the `classified` config."""
    from datasets import Features, Sequence, Value

    return Features(
        {
            "id": Value("string"),
            "question": Value("string"),
            "source": Value("string"),
            "category": Sequence(Value("string")),
            "error": Value("string"),
            "provenance": provenance_feature(),
        }
    )


def classify_stage(model: str, params: dict[str, Any] | None = None) -> LLMStage:
    """The classify stage for a classifier `model` with generation `params` (defaults: `DEFAULT_PARAMS`)."""
    from star1_hub.teacher import ChatRequest

    params = {**DEFAULT_PARAMS, **(params or {})}

    def build(row: dict[str, Any]):
        question = row.get("question")
        if not isinstance(question, str) or not question.strip():
            raise ValueError("empty question")
        return ChatRequest(
            messages=[{"role": "user", "content": build_classify_prompt(question)}],
            params=params,
            schema=CLASSIFY_SCHEMA,
            schema_name="categories",
            metadata={"id": row["id"]},
        )

    def store(row: dict[str, Any], labels: list[str]) -> dict[str, Any]:
        return {
            "category": labels,
            "provenance": with_provenance(row, policy_version=POLICY_VERSION, classifier=model),
        }

    return LLMStage(NAME, build, parse_categories, store, classify_features(), produces=("category",))
