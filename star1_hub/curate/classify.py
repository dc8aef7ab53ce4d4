"""Stage `classify`: multi-label safety categories (8 + `Other`) for each question (docs/curation.md, "Classify").

Prompt (template `classify`): the question framed inline, the category definitions, then final instructions to
answer only with the applicable names (`Other` alone when none applies). The response model `Categories` gives
the schema sent as structured output — 1–4 names from the 9 labels; the array is bounded because a small model
otherwise repeats a label until `max_tokens` — and validates the answer with `parsing.check_categories`: labels are stripped, duplicates removed (first occurrence
kept, since the policies follow that order), and a bare JSON list (the original prompt's answer format, e.g. with
`--prompt-dir`) is accepted too.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from star1_hub.curate.options import StageContext
from star1_hub.curate.parsing import ALLOWED_LABELS, MAX_LABELS, check_categories
from star1_hub.curate.provenance import empty_provenance, provenance_feature, with_provenance

NAME = "classify"
# The paper left temperature at the API default (1.0); we pin 0 (docs/deviations.md).
DEFAULT_PARAMS: dict[str, Any] = {"temperature": 0.0, "max_tokens": 1024}
EXPECTED_COMPLETION_TOKENS = 20

Label = Literal[ALLOWED_LABELS]  # type: ignore[valid-type]


class Categories(BaseModel):
    """The classifier's answer: 1–4 distinct labels in answer order (checked by `parsing.check_categories`)."""

    model_config = ConfigDict(extra="forbid")
    categories: list[Label] = Field(min_length=1, json_schema_extra={"maxItems": MAX_LABELS})

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> dict[str, list[str]]:
        return {"categories": check_categories(data)}


def build_classify_prompt(question: str, context: StageContext) -> str:
    """Return the classifier's user message for one question."""
    return context.prompts.render(
        "classify",
        question=question,
        definitions=context.policies.definitions,
        labels=json.dumps(list(ALLOWED_LABELS)),
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


def build_task(context: StageContext):
    """The classify task for `context.model`."""
    from star1_hub.teacher.task import LLMTask

    def prompt(row: dict[str, Any]) -> str:
        question = row.get("question")
        if not isinstance(question, str) or not question.strip():
            raise ValueError("empty question")
        return build_classify_prompt(question, context)

    def parse(row: dict[str, Any], answer: Categories) -> dict[str, Any]:
        return {
            "category": answer.categories,
            "provenance": with_provenance(row, **context.text_provenance(), classifier=context.model),
        }

    return LLMTask(
        name=NAME,
        prompt=prompt,
        response_model=Categories,
        parse=parse,
        params=DEFAULT_PARAMS,
        output_features=classify_features(),
        produces=("category",),
        column_defaults={"provenance": empty_provenance},
        schema_name="categories",
    )
