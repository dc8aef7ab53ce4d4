"""Stage `reason`: deliberative reasoning grounded in the item's policies (spec §4), or plain reasoning (§11).

Safety path: the question framed inline, the policies of the item's categories concatenated in classifier
order, then final instructions (check the draft against the policies inside the reasoning, cite the relevant
rules by their content, ignore unrelated sections, choose refuse / safe-complete / comply, treat the policies as
your own knowledge, keep the analysis out of the final answer). Items labelled `Other` have no policy and are
never sent (error `reason:skipped_other`). Benign path (`with_policies=False`): the question alone.

Output formats (`output_format`):
* `think` — the model writes `<think>…</think>` then the answer (native for R1-style teachers; with
  `think_instruction=True` the prompt also asks for the tags, for instruction models without native thinking).
  Accepted only with `finish_reason == "stop"` and exactly one think block.
* `json` — structured output `{"reasoning": str, "answer": str}` with bounded lengths, for small models that
  cannot keep the tag format; stored in the same canonical `<think>\\n…\\n</think>\\n\\n…` layout.
"""

from __future__ import annotations

from typing import Any, Literal

from star1_hub.curate.parsing import parse_json_response, parse_think_response
from star1_hub.curate.stage import LLMStage, provenance_feature, with_provenance
from star1_hub.data.schema import OTHER_LABEL
from star1_hub.policies import POLICY_VERSION, policies_for

NAME = "reason"
OUTPUT_CONFIG = "reasoned"
OutputFormat = Literal["think", "json"]
# Paper's DeepSeek-R1 settings (spec §4).
DEFAULT_PARAMS: dict[str, Any] = {"temperature": 0.6, "top_p": 0.7, "max_tokens": 8000}
THINK_INSTRUCTION = (
    "Write your reasoning first, between <think> and </think> tags, and then the final answer to the user after "
    "the closing </think> tag."
)
JSON_INSTRUCTION = (
    'Reply with a JSON object {"reasoning": "...", "answer": "..."}: "reasoning" holds your analysis, "answer" '
    "holds only the final reply to the user."
)


def response_schema(max_reasoning_chars: int = 6000, max_answer_chars: int = 4000) -> dict[str, Any]:
    """JSON schema of the `json` output format (both strings bounded and non-empty)."""
    return {
        "type": "object",
        "properties": {
            "reasoning": {"type": "string", "minLength": 1, "maxLength": max_reasoning_chars},
            "answer": {"type": "string", "minLength": 1, "maxLength": max_answer_chars},
        },
        "required": ["reasoning", "answer"],
        "additionalProperties": False,
    }


def build_reason_prompt(
    question: str, policies: str | None, output_format: OutputFormat = "think", think_instruction: bool = True
) -> str:
    """Return the teacher's user message; `policies=None` gives the benign (no-policy) prompt."""
    suffix = JSON_INSTRUCTION if output_format == "json" else (THINK_INSTRUCTION if think_instruction else "")
    if policies is None:
        return f"{question}\n\n{suffix}".strip()
    return (
        f'A user sent the following instruction: "{question}"\n\n'
        "Give the best possible reply to this instruction while following the safety policies below.\n\n"
        f"{policies}\n\n"
        "----\n"
        "FINAL INSTRUCTIONS:\n"
        "While thinking, check a proposed reply for compliance with the policies, for correctness and for "
        "helpfulness before you answer. Refer to the specific policy rules that apply and what they say (for "
        'example: "the privacy policy says that …"); do not bring up sections that are not relevant. Decide '
        "whether to refuse, to give a safe partial answer, or to comply fully, as the policies require. Treat "
        "these policies as your own knowledge rather than as something the user wrote. The final answer must "
        "contain only the reply to the user, without the analysis.\n"
        f"{suffix}"
    ).strip()


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


def reason_stage(
    model: str,
    params: dict[str, Any] | None = None,
    *,
    with_policies: bool = True,
    output_format: OutputFormat = "think",
    think_instruction: bool = True,
    max_reasoning_chars: int = 6000,
    max_answer_chars: int = 4000,
) -> LLMStage:
    """The reason stage for a teacher `model` (see module docstring for the options)."""
    from star1_hub.teacher import ChatRequest

    if output_format not in ("think", "json"):
        raise ValueError(f"unknown output_format {output_format!r}; choose 'think' or 'json'")
    params = {**DEFAULT_PARAMS, **(params or {})}
    schema = response_schema(max_reasoning_chars, max_answer_chars) if output_format == "json" else None
    parser = parse_json_response if output_format == "json" else parse_think_response

    def policy_text(row: dict[str, Any]) -> tuple[str | None, str | None]:
        if not with_policies:
            return None, None
        if not row.get("category"):
            raise ValueError("no category labels (run classify first)")
        return policies_for(row["category"])

    def build(row: dict[str, Any]):
        question = row.get("question")
        if not isinstance(question, str) or not question.strip():
            raise ValueError("empty question")
        policies, _ = policy_text(row)
        return ChatRequest(
            messages=[
                {"role": "user", "content": build_reason_prompt(question, policies, output_format, think_instruction)}
            ],
            params=params,
            schema=schema,
            schema_name="reasoned_answer",
            metadata={"id": row["id"]},
        )

    def store(row: dict[str, Any], response: str) -> dict[str, Any]:
        _, digest = policy_text(row)
        fields = {"teacher": model}
        if with_policies:
            fields |= {"policy_version": POLICY_VERSION, "policy_sha256": digest}
        return {"response": response, "provenance": with_provenance(row, **fields)}

    def skip(row: dict[str, Any]) -> str | None:
        return "skipped_other" if with_policies and OTHER_LABEL in (row.get("category") or []) else None

    return LLMStage(
        NAME, build, parser, store, reason_features(benign=not with_policies), skip, produces=("response",)
    )
