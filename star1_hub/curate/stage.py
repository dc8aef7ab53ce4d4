"""The curation stages by name: `STAGES` and `get_stage(name)`.

A stage is either an LLM stage — a declarative `LLMTask` (prompt, pydantic response model, parse, skip) built
from a `StageContext` and run by the teacher engine through `star1_hub.teacher.task.run_task` — or a pure stage
(`filter`, `select`) that maps a dataset to a dataset. Each entry says which model role it needs, the configs it
reads and writes on the safety and the benign path, the paper's generation parameters and retry policy, and the
expected completion size used by `--dry-run`.

Failures never disappear: a row whose call failed gets `error = "<stage>:<reason>"` (engine reasons such as
`unparseable`, `length`, `rate_limited`; or `skipped_other` for `Other` items that have no policy) and travels
on with the other rows; later stages pass such rows through untouched. Counts are read off the output columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from star1_hub.curate import classify, reason, rewrite, score, select
from star1_hub.curate import filter as filter_stage
from star1_hub.curate.options import StageContext, StageOptions
from star1_hub.curate.provenance import PROVENANCE_FIELDS, empty_provenance, provenance_feature, with_provenance
from star1_hub.errors import Star1Error
from star1_hub.teacher.endpoint import RETRY_POLICIES
from star1_hub.teacher.task import TaskCounts

StageCounts = TaskCounts
"""Rows in / sent / ok / failed / skipped / upstream errors / out of one stage (also for the pure stages)."""


class StageConfigError(Star1Error, ValueError):
    """An unknown stage, a stage on a path it does not exist on, or a missing option."""


@dataclass(frozen=True)
class Stage:
    """One curation stage (see the module docstring).

    Attributes:
        name: The stage name (`star1 curate <name>`, the prefix of its error values).
        help: One line for `--help`.
        configs: path (`safety` / `benign`) -> (input config, output config); a missing path means the stage
            does not exist there.
        role: The model role of an LLM stage (`classifier`, `teacher`, `judge`, `rewriter`); None for pure stages.
        build_task: StageContext -> LLMTask (LLM stages).
        run: (dataset, StageOptions) -> (output, counts) (pure stages).
        default_params: The paper's generation parameters (an endpoint's `params` override them).
        endpoint_defaults: Endpoint settings of the paper for this role (e.g. R1's 10 attempts), overridable.
        expected_completion_tokens: Completion size per request assumed by `--dry-run`.
    """

    name: str
    help: str
    configs: dict[str, tuple[str, str]]
    role: str | None = None
    build_task: Callable[[StageContext], Any] | None = None
    run: Callable[[Any, StageOptions], tuple[Any, TaskCounts]] | None = None
    default_params: dict[str, Any] = field(default_factory=dict)
    endpoint_defaults: dict[str, Any] = field(default_factory=dict)
    expected_completion_tokens: int = 0

    @property
    def calls_model(self) -> bool:
        """True for the LLM stages."""
        return self.build_task is not None

    def configs_for(self, options: StageOptions) -> tuple[str, str]:
        """(input config, output config) of this stage on the options' path.

        Raises:
            StageConfigError: the stage does not exist on that path.
        """
        if options.path not in self.configs:
            valid = sorted(name for name, stage in STAGES.items() if options.path in stage.configs)
            raise StageConfigError(
                f"stage {self.name!r} does not exist on the {options.path} path; choose one of {valid}"
            )
        return self.configs[options.path]


STAGES: dict[str, Stage] = {
    "classify": Stage(
        "classify",
        "Label each question with 1–4 of the 8 safety categories (or Other).",
        {"safety": ("collected", "classified")},  # STAR-41K config written by `star1 curate collect`
        role="classifier",
        build_task=classify.build_task,
        default_params=classify.DEFAULT_PARAMS,
        expected_completion_tokens=classify.EXPECTED_COMPLETION_TOKENS,
    ),
    "reason": Stage(
        "reason",
        "Generate policy-grounded reasoning + answer (`--benign`: no policies).",
        {"safety": ("classified", "reasoned"), "benign": ("rewritten", "reasoned")},
        role="teacher",
        build_task=reason.build_task,
        default_params=reason.DEFAULT_PARAMS,
        endpoint_defaults=RETRY_POLICIES["paper-r1"],
        expected_completion_tokens=reason.EXPECTED_COMPLETION_TOKENS,
    ),
    "score": Stage(
        "score",
        "Judge reasoning and answer on 3 criteria (0–10; `--benign`: 1–5).",
        {"safety": ("reasoned", "scored"), "benign": ("reasoned", "scored")},
        role="judge",
        build_task=score.build_task,
        default_params=score.DEFAULT_PARAMS,
        expected_completion_tokens=score.EXPECTED_COMPLETION_TOKENS,
    ),
    "rewrite": Stage(
        "rewrite",
        "Rewrite harmful questions into harmless look-alikes (benign path).",
        {"benign": ("default", "rewritten")},
        role="rewriter",
        build_task=rewrite.build_task,
        default_params=rewrite.DEFAULT_PARAMS,
        expected_completion_tokens=rewrite.EXPECTED_COMPLETION_TOKENS,
    ),
    "filter": Stage(
        "filter",
        "Keep rows with the maximum score on every criterion and no Other.",
        {"safety": ("scored", "filtered"), "benign": ("scored", "default")},
        run=lambda dataset, options: filter_stage.filter_max(dataset, options.benign, options.source_label),
    ),
    "select": Stage(
        "select",
        "Deterministic source × category pruning to exactly --n rows.",
        {"safety": ("filtered", "default")},
        run=lambda dataset, options: select.select_dataset(dataset, options.n),
    ),
}
"""Every stage, in pipeline order (safety path: classify → reason → score → filter → select;
benign path: rewrite → reason → score → filter)."""


def get_stage(name: str) -> Stage:
    """The stage called `name`.

    Raises:
        StageConfigError: an unknown name (the message lists the valid ones).
    """
    try:
        return STAGES[name]
    except KeyError:
        raise StageConfigError(f"unknown stage {name!r}; choose one of {', '.join(STAGES)}") from None


__all__ = [
    "PROVENANCE_FIELDS",
    "STAGES",
    "Stage",
    "StageConfigError",
    "StageCounts",
    "empty_provenance",
    "get_stage",
    "provenance_feature",
    "with_provenance",
]
