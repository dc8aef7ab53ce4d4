"""Stage `score`: the judge rates reasoning and answer on three criteria (docs/curation.md, "Score").

The judge sees the question, the reasoning (inside the think block) and the final answer as three separate
sections, the rubric with anchored bands (templates `score`, 0–10, and `score_benign`, 1–5 with all five anchors
of the paper), and — on the safety path — the same concatenated policies used for generation. The response
model (`SafetyScores` / `BenignScores`) gives the schema sent as structured output (three integers in the
rubric's range) and validates the answer with `parsing.check_scores`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from star1_hub.curate.options import StageContext
from star1_hub.curate.parsing import check_scores
from star1_hub.curate.provenance import empty_provenance, with_provenance
from star1_hub.curate.reason import reason_features
from star1_hub.data.schema import (
    BENIGN_SCORE_KEYS,
    BENIGN_SCORE_RANGE,
    OTHER_LABEL,
    SAFETY_SCORE_KEYS,
    SAFETY_SCORE_RANGE,
)
from star1_hub.think import split_think

NAME = "score"
# GPT-4o in the paper ran at the API default temperature (1.0); we pin 0 (docs/deviations.md).
DEFAULT_PARAMS: dict[str, Any] = {"temperature": 0.0, "max_tokens": 1024}
EXPECTED_COMPLETION_TOKENS = 60


def scores_model(keys: tuple[str, ...], low: int, high: int, name: str) -> type[BaseModel]:
    """A response model with exactly `keys`, each an integer in [low, high]."""

    class _Base(BaseModel):
        model_config = ConfigDict(extra="ignore")

        @model_validator(mode="before")
        @classmethod
        def _check(cls, data: Any) -> dict[str, int]:
            return check_scores(data, keys, low, high)

    fields: dict[str, Any] = {key: (int, Field(ge=low, le=high)) for key in keys}
    return create_model(name, __base__=_Base, **fields)


SafetyScores = scores_model(SAFETY_SCORE_KEYS, *SAFETY_SCORE_RANGE, name="SafetyScores")
BenignScores = scores_model(BENIGN_SCORE_KEYS, *BENIGN_SCORE_RANGE, name="BenignScores")


def build_score_prompt(question: str, reasoning: str, answer: str, policies: str | None, context: StageContext) -> str:
    """Return the judge's user message; `policies=None` gives the benign 1–5 rubric."""
    values = {"question": question, "reasoning": reasoning or "(none)", "answer": answer or "(none)"}
    if policies is None:
        return context.prompts.render("score_benign", **values)
    return context.prompts.render("score", **values, policies=policies)


def build_task(context: StageContext):
    """The score task for judge `context.model`; the benign path uses the 1–5 rubric without policies."""
    from star1_hub.teacher.task import LLMTask

    benign = context.options.benign

    def prompt(row: dict[str, Any]) -> str:
        response = row.get("response")
        if not isinstance(response, str) or not response.strip():
            raise ValueError("no response to score (run reason first)")
        question = row.get("question")
        if not isinstance(question, str) or not question.strip():
            raise ValueError("empty question")
        reasoning, answer = split_think(response)
        policies = None if benign else context.policies.policies_for(row.get("category") or [])[0]
        return build_score_prompt(question, reasoning, answer, policies, context)

    def parse(row: dict[str, Any], scores: BaseModel) -> dict[str, Any]:
        fields = {"judge": context.model, "prompt_set_sha256": context.prompts.sha256}
        return {"score": scores.model_dump(), "provenance": with_provenance(row, **fields)}

    def skip(row: dict[str, Any]) -> str | None:
        return "skipped_other" if not benign and OTHER_LABEL in (row.get("category") or []) else None

    return LLMTask(
        name=NAME,
        prompt=prompt,
        parse=parse,
        response_model=BenignScores if benign else SafetyScores,
        skip=skip,
        params=DEFAULT_PARAMS,
        output_features=reason_features(with_score=True, benign=benign),
        produces=("score",),
        column_defaults={"provenance": empty_provenance},
        schema_name="scores",
    )
