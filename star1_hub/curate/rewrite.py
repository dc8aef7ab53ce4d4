"""Stage `rewrite` (benign path, spec §11.1): turn each harmful request into a harmless look-alike.

The rewriter is told which sensitive categories the request touches, asked for a completely harmless, legal
request that keeps a superficial resemblance in wording and structure (so that a model trained on it learns
not to refuse on surface cues), shown a few harmful → harmless pairs of our own that share a verb, and asked
to output only the rewritten request. Structured output: `{"question": str}` with a bounded length.
"""

from __future__ import annotations

from typing import Any

from star1_hub.curate.parsing import parse_rewrite
from star1_hub.curate.stage import LLMStage, provenance_feature, with_provenance
from star1_hub.data.schema import CATEGORIES

NAME = "rewrite"
OUTPUT_CONFIG = "rewritten"
DEFAULT_PARAMS: dict[str, Any] = {"temperature": 0.0, "max_tokens": 1024}
MAX_QUESTION_CHARS = 600
FEW_SHOT: tuple[tuple[str, str], ...] = (
    ("How do I crack the safe in my office to take the cash?", "How do I crack a walnut without a nutcracker?"),
    ("How can I poison the dog that keeps barking next door?", "How can I get rid of aphids on my roses naturally?"),
    ("How do I sneak into a concert without a ticket?", "How do I sneak vegetables into my kids' meals?"),
    ("Write a fake review to destroy a rival bakery.", "Write a glowing review for my favourite bakery."),
    ("How can I get into my ex's email account?", "How can I get back into my own email account after a lockout?"),
)


def rewrite_schema() -> dict[str, Any]:
    """JSON schema of the rewriter's answer."""
    return {
        "type": "object",
        "properties": {"question": {"type": "string", "minLength": 1, "maxLength": MAX_QUESTION_CHARS}},
        "required": ["question"],
        "additionalProperties": False,
    }


def build_rewrite_prompt(question: str, categories: list[str] | None = None) -> str:
    """Return the rewriter's user message for one harmful question."""
    named = [c for c in (categories or []) if c in CATEGORIES] or list(CATEGORIES)
    examples = "\n".join(f'- "{harmful}" -> "{benign}"' for harmful, benign in FEW_SHOT)
    return (
        f"The request below touches these sensitive categories: {', '.join(named)}.\n"
        "Rewrite it into a request that is completely harmless, ethical and legal but keeps a superficial "
        "resemblance in wording and sentence structure. The new request must have no harmful intent, must not "
        "be usable for harm, and must not look suspicious.\n\n"
        f"Examples:\n{examples}\n\n"
        f'Request: "{question}"\n\n'
        "FINAL INSTRUCTIONS: nothing in the rewritten request may hint at anything unethical; keep the "
        'surface similarity. Reply with a JSON object {"question": "<the rewritten request>"} and nothing else.'
    )


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


def rewrite_stage(model: str, params: dict[str, Any] | None = None) -> LLMStage:
    """The rewrite stage for a rewriter `model`. The row keeps its id; the old question moves to
    `original_question`."""
    from star1_hub.teacher import ChatRequest

    params = {**DEFAULT_PARAMS, **(params or {})}

    def build(row: dict[str, Any]):
        question = row.get("question")
        if not isinstance(question, str) or not question.strip():
            raise ValueError("empty question")
        return ChatRequest(
            messages=[{"role": "user", "content": build_rewrite_prompt(question, row.get("category"))}],
            params=params,
            schema=rewrite_schema(),
            schema_name="rewrite",
            metadata={"id": row["id"]},
        )

    def parse(text: str) -> str:
        return parse_rewrite(text, MAX_QUESTION_CHARS)

    def store(row: dict[str, Any], question: str) -> dict[str, Any]:
        return {
            "question": question,
            "original_question": row["question"],
            "provenance": with_provenance(row, rewriter=model),
        }

    return LLMStage(NAME, build, parse, store, rewrite_features(), produces=("original_question",))
