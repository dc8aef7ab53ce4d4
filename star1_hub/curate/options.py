"""Options of a curation stage besides its endpoint, and the context a stage's LLM task is built from.

The same `StageOptions` fields are the `options:` block of a build YAML and the flags of `star1 curate <stage>`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from star1_hub.errors import RecipeError
from star1_hub.policies import POLICY_VERSION, PolicySet, PromptSet, TextSetError, load_policy_set, load_prompt_set

OUTPUT_FORMATS = ("think", "json")
Path_ = Literal["safety", "benign"]


@dataclass
class StageOptions:
    """What a stage does besides calling its endpoint.

    Attributes:
        benign: The over-refusal path (rewrite → reason without policies → 1–5 rubric → all-5 filter).
        output_format: reason: `think` (the teacher writes its trace itself, the paper's R1 path) or `json`
            (`{"reasoning", "answer"}` under structured output, for teachers without native reasoning).
        think_instruction: reason/think: also ask in the prompt for `<think>` tags (off by default: the paper's
            prompt is the policy template alone; turn on only for instruction models that do not think natively).
        max_reasoning_chars: reason/json: longest reasoning accepted.
        max_answer_chars: reason/json: longest answer accepted.
        n: select: rows to keep.
        source_label: benign filter: the `source` value of kept rows (`4o_rewrite` in the release).
        batch_size: Rows handed to the engine per batch.
        policy_dir: A directory of policy texts to use instead of the project's (see `star1_hub.policies`).
        prompt_dir: A directory of prompt templates to use instead of the project's.
        push_partial: Push a stage even when its rows all failed or one configuration error dominates.
        extra: Free-form values recorded in the manifest next to the options.
    """

    benign: bool = False
    output_format: str = "think"
    think_instruction: bool = False
    max_reasoning_chars: int = 6000
    max_answer_chars: int = 4000
    n: int = 1000
    source_label: str = "4o_rewrite"
    batch_size: int = 512
    policy_dir: str | None = None
    prompt_dir: str | None = None
    push_partial: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.output_format not in OUTPUT_FORMATS:
            raise RecipeError(
                f"output_format = {self.output_format!r} is invalid; choose one of {list(OUTPUT_FORMATS)}"
            )
        for key in ("n", "batch_size", "max_reasoning_chars", "max_answer_chars"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise RecipeError(f"{key} = {value!r} is invalid; give an integer ≥ 1")

    @property
    def path(self) -> Path_:
        """`benign` or `safety`."""
        return "benign" if self.benign else "safety"

    @classmethod
    def from_mapping(cls, block: dict[str, Any] | None, where: str = "options", **overrides: Any) -> StageOptions:
        """Build from a YAML `options:` block (unknown keys are an error naming the valid ones)."""
        block = dict(block or {})
        allowed = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(block) - allowed)
        if unknown:
            raise RecipeError(f"{where}: unknown key(s) {unknown} in 'options'; allowed: {sorted(allowed)}")
        try:
            return cls(**{**block, **overrides})
        except RecipeError as exc:
            raise RecipeError(f"{where}: {exc}") from None

    def record(self) -> dict[str, Any]:
        """The manifest entry of these options."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "extra"} | self.extra


@dataclass(frozen=True)
class StageContext:
    """Everything a stage's LLM task is built from: the model id and the texts it uses."""

    model: str
    options: StageOptions
    policies: PolicySet
    prompts: PromptSet

    @classmethod
    def load(cls, model: str, options: StageOptions) -> StageContext:
        """Load and validate the policy and prompt sets the options name.

        Raises:
            RecipeError: an unusable `policy_dir` / `prompt_dir` (the message names the file and the fix).
        """
        try:
            policies = load_policy_set(options.policy_dir, POLICY_VERSION)
            prompts = load_prompt_set(options.prompt_dir)
        except TextSetError as exc:
            raise RecipeError(str(exc)) from None
        return cls(model, options, policies, prompts)

    def text_provenance(self) -> dict[str, str]:
        """The provenance fields naming the policy and prompt sets."""
        return {
            "policy_version": self.policies.version,
            "policy_set_sha256": self.policies.sha256,
            "prompt_set_sha256": self.prompts.sha256,
        }
