"""Stage `rewrite` (benign path, docs/curation.md, "Rewrite"): turn each harmful request into a harmless
look-alike.

As in the paper, the rewriter (template `rewrite`) is told the request belongs to one or more of the eight
sensitive categories (all eight are named), asked for a completely harmless, legal request that keeps a
superficial resemblance in wording and structure (so that a model trained on it learns not to refuse on surface
cues), shown a few harmful → harmless pairs of our own that share a verb, and asked to output only the rewritten
request. The reply is free text: surrounding quotes or a `Rewritten request:` prefix are removed; a JSON object
`{"question": ...}` is accepted too.
"""

from __future__ import annotations

from typing import Any

from star1_hub.curate.options import StageContext
from star1_hub.curate.parsing import parse_rewrite
from star1_hub.curate.provenance import empty_provenance, provenance_feature, with_provenance
from star1_hub.data.schema import CATEGORIES

NAME = "rewrite"
# The paper's rewriter call: max 1,024 completion tokens, temperature left at the API default.
DEFAULT_PARAMS: dict[str, Any] = {"max_tokens": 1024}
EXPECTED_COMPLETION_TOKENS = 40


def build_rewrite_prompt(question: str, context: StageContext) -> str:
    """Return the rewriter's user message for one harmful question."""
    return context.prompts.render("rewrite", question=question, categories=", ".join(CATEGORIES))


def rewrite_features():
    """Output features of the `rewritten` config."""
    from datasets import Features, Sequence, Value

    return Features(
        {
            "id": Value("string"),
            "question": Value("string"),
            "source": Value("string"),
            "category": Sequence(Value("string")),
            "original_question": Value("string"),
            "error": Value("string"),
            "provenance": provenance_feature(),
        }
    )


def build_task(context: StageContext):
    """The rewrite task for rewriter `context.model`. A row keeps its id; the old question moves to
    `original_question`."""
    from star1_hub.teacher.task import LLMTask

    def prompt(row: dict[str, Any]) -> str:
        question = row.get("question")
        if not isinstance(question, str) or not question.strip():
            raise ValueError("empty question")
        return build_rewrite_prompt(question, context)

    def parse(row: dict[str, Any], text: str, reply) -> dict[str, Any]:
        fields = {"rewriter": context.model, "prompt_set_sha256": context.prompts.sha256}
        return {
            "question": parse_rewrite(reply.answer),
            "original_question": row["question"],
            "provenance": with_provenance(row, **fields),
        }

    return LLMTask(
        name=NAME,
        prompt=prompt,
        parse=parse,
        params=DEFAULT_PARAMS,
        output_features=rewrite_features(),
        produces=("original_question",),
        column_defaults={"provenance": empty_provenance},
    )
