"""Stage `reason`: deliberative reasoning grounded in the item's policies (docs/curation.md, "Reason"), or plain
reasoning on the benign path.

Safety path (template `reason`): the question framed inline, the policies of the item's categories concatenated
in classifier order, then final instructions (check the draft against the policies inside the reasoning, cite
the relevant rules by their content, ignore unrelated sections, choose refuse / safe-complete / comply, treat the
policies as your own knowledge, keep the analysis out of the final answer). As in the paper, nothing else is
added: a native reasoner (R1) writes its trace by itself. Items labelled `Other` have no policy and are never
sent (error `reason:skipped_other`). Benign path (`benign=True`): the question alone.

Output formats (`output_format`):
* `think` — the teacher's reply carries a reasoning trace in any of the three R1 forms (inline `<think>…</think>`,
  template-prefilled with only `</think>`, or split into `reasoning_content`); the engine normalises it to the
  canonical `<think>\\n…\\n</think>\\n\\nanswer` and the form goes into the row's provenance. A trace that never
  closes is `unparseable` (or `length`), never an answer. `think_instruction=True` also asks for the tags in the
  prompt, for instruction models without native thinking (not the paper's prompt).
* `json` — structured output `{"reasoning": str, "answer": str}` with bounded lengths, for teachers that cannot
  keep the tag format; stored in the same canonical layout (provenance form `json`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from star1_hub.curate.options import StageContext
from star1_hub.curate.parsing import check_reasoned
from star1_hub.curate.provenance import empty_provenance, provenance_feature, with_provenance
from star1_hub.data.schema import OTHER_LABEL
from star1_hub.think import format_think

NAME = "reason"
# The paper's DeepSeek-R1 settings (docs/curation.md, "Reason").
DEFAULT_PARAMS: dict[str, Any] = {"temperature": 0.6, "top_p": 0.7, "max_tokens": 8000}
EXPECTED_COMPLETION_TOKENS = 1500
THINK_INSTRUCTION = (
    "Write your reasoning first, between <think> and </think> tags, and then the final answer to the user after "
    "the closing </think> tag."
)
JSON_INSTRUCTION = (
    'Reply with a JSON object {"reasoning": "...", "answer": "..."}: "reasoning" holds your analysis, "answer" '
    "holds only the final reply to the user."
)


class _ReasonedBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> dict[str, str]:
        reasoning, answer = check_reasoned(data)
        return {"reasoning": reasoning, "answer": answer}


def reasoned_answer_model(max_reasoning_chars: int = 6000, max_answer_chars: int = 4000) -> type[BaseModel]:
    """The response model of the `json` output format (both strings non-empty and bounded)."""
    return create_model(
        "ReasonedAnswer",
        __base__=_ReasonedBase,
        reasoning=(str, Field(min_length=1, max_length=max_reasoning_chars)),
        answer=(str, Field(min_length=1, max_length=max_answer_chars)),
    )


def build_reason_prompt(question: str, policies: str | None, context: StageContext) -> str:
    """Return the teacher's user message; `policies=None` gives the benign prompt (the question alone)."""
    options = context.options
    if options.output_format == "json":
        suffix = JSON_INSTRUCTION
    else:
        suffix = THINK_INSTRUCTION if options.think_instruction else ""
    body = question if policies is None else context.prompts.render("reason", question=question, policies=policies)
    return f"{body}\n\n{suffix}".strip() if suffix else body


def reason_features(with_score: bool = False, benign: bool = False):
    """Output features of the `reasoned` config (and, with `with_score`, the base of `scored`)."""
    from datasets import Features, Sequence, Value

    from star1_hub.data.schema import BENIGN_SCORE_KEYS, SAFETY_SCORE_KEYS

    columns: dict[str, Any] = {
        "id": Value("string"),
        "question": Value("string"),
        "source": Value("string"),
        "category": Sequence(Value("string")),
    }
    if benign:
        columns["original_question"] = Value("string")
    columns["response"] = Value("string")
    if with_score:
        keys = BENIGN_SCORE_KEYS if benign else SAFETY_SCORE_KEYS
        columns["score"] = {key: Value("int32") for key in keys}
    columns["error"] = Value("string")
    columns["provenance"] = provenance_feature()
    return Features(columns)


def build_task(context: StageContext):
    """The reason task for teacher `context.model` (see the module docstring for the options)."""
    from star1_hub.teacher.task import LLMTask

    options = context.options
    with_policies = not options.benign
    as_json = options.output_format == "json"

    def policy_text(row: dict[str, Any]) -> tuple[str | None, str | None]:
        if not with_policies:
            return None, None
        if not row.get("category"):
            raise ValueError("no category labels (run classify first)")
        return context.policies.policies_for(row["category"])

    def prompt(row: dict[str, Any]) -> str:
        question = row.get("question")
        if not isinstance(question, str) or not question.strip():
            raise ValueError("empty question")
        return build_reason_prompt(question, policy_text(row)[0], context)

    def parse(row: dict[str, Any], value: Any, reply) -> dict[str, Any]:
        response = format_think(value.reasoning, value.answer) if as_json else value
        fields: dict[str, Any] = {"teacher": context.model, "reasoning_form": "json" if as_json else reply.form}
        fields["prompt_set_sha256"] = context.prompts.sha256
        if with_policies:
            fields |= context.text_provenance() | {"policy_sha256": policy_text(row)[1]}
        return {"response": response, "provenance": with_provenance(row, **fields)}

    def skip(row: dict[str, Any]) -> str | None:
        return "skipped_other" if with_policies and OTHER_LABEL in (row.get("category") or []) else None

    return LLMTask(
        name=NAME,
        prompt=prompt,
        parse=parse,
        response_model=reasoned_answer_model(options.max_reasoning_chars, options.max_answer_chars)
        if as_json
        else None,
        skip=skip,
        params=DEFAULT_PARAMS,
        think=not as_json,
        output_features=reason_features(benign=options.benign),
        produces=("response",),
        column_defaults={"provenance": empty_provenance},
        schema_name="reasoned_answer",
    )
