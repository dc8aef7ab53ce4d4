"""The machinery shared by every LLM stage: a `datasets.map(batched=True)` that hands each batch to the engine.

A stage is declared as an `LLMStage`: which rows it skips (and why), how a row becomes a `ChatRequest`, the
strict parser, and how a parsed answer updates the row. Failures never disappear: a row whose call failed gets
`error = "<stage>:<reason>"` (engine reasons such as `unparseable`, `length`, `rate_limited`; or
`skipped_other` for `Other` items that have no policy) and travels on with the other rows; later stages pass
such rows through untouched. Counts are computed from the output columns, so they always match the data.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

PROVENANCE_FIELDS: tuple[str, ...] = (
    "policy_version",
    "policy_sha256",
    "classifier",
    "rewriter",
    "teacher",
    "judge",
)
"""Per-row provenance: policy text version + sha256 of the exact policy text used, and the model id per role."""


def provenance_feature():
    """`datasets` type of the `provenance` column (a struct of nullable strings)."""
    from datasets import Value

    return {name: Value("string") for name in PROVENANCE_FIELDS}


def empty_provenance() -> dict[str, str | None]:
    """A provenance struct with every field unset."""
    return dict.fromkeys(PROVENANCE_FIELDS)


@dataclass
class Endpoint:
    """Where a stage's model lives and how hard it may be driven (one YAML block / CLI option group)."""

    base_url: str
    model: str
    params: dict[str, Any] = field(default_factory=dict)
    concurrency: int = 64
    rpm: float | None = None
    tpm: float | None = None
    batch_api: bool = False
    structured_output: bool = True
    timeout_s: float = 300.0
    max_attempts: int = 5
    backoff_base_s: float = 1.0
    retry_failed: bool = False  # re-send requests whose failure is in the cache (otherwise they stay failed)
    api_key_env: str | None = None  # name of the env var holding the key; the key itself is never stored

    def public_dict(self) -> dict[str, Any]:
        """The settings that go into dataset cards (no key, only the variable's name)."""
        return dataclasses.asdict(self)


def make_engine(endpoint: Endpoint, stage: str, cache_dir: Path | None):
    """Build a `TeacherEngine` for one stage from an `Endpoint`."""
    import os

    from star1_hub.teacher import EngineConfig, TeacherEngine

    api_key = os.environ.get(endpoint.api_key_env) if endpoint.api_key_env else None
    config = EngineConfig(
        base_url=endpoint.base_url,
        model=endpoint.model,
        api_key=api_key,
        concurrency=endpoint.concurrency,
        rpm=endpoint.rpm,
        tpm=endpoint.tpm,
        timeout_s=endpoint.timeout_s,
        max_attempts=endpoint.max_attempts,
        backoff_base_s=endpoint.backoff_base_s,
        retry_failed=endpoint.retry_failed,
        cache_dir=Path(cache_dir) if cache_dir is not None else None,
        stage=stage,
        structured_output=endpoint.structured_output,
        batch_api=endpoint.batch_api,
    )
    return TeacherEngine(config)


@dataclass
class StageCounts:
    """Rows in / out / failed of one stage, read off its output."""

    stage: str
    rows_in: int = 0
    sent: int = 0
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    upstream_errors: int = 0
    rows_out: int = 0
    dropped: int = 0
    failed_by_reason: dict[str, int] = field(default_factory=dict)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for cards and JSON manifests."""
        return dataclasses.asdict(self)


@dataclass
class LLMStage:
    """Declarative description of one LLM stage (see module docstring).

    Attributes:
        name: stage name, prefix of its error values (`classify`, `reason`, `score`, `rewrite`).
        build_request: row -> ChatRequest (may raise ValueError/KeyError for bad rows → `<name>:bad_input`).
        parser: strict parser of the model text (raises `UnparseableOutput`).
        store: (row, parsed) -> column updates on success.
        output_features: the `datasets.Features` of the output.
        skip_reason: row -> None to call the model, or a short reason to skip it (kept as an error value).
        produces: columns this stage writes; they are cleared on every row first, so a failed row never keeps a
            value that came with the input (e.g. the released label of a re-classified row).
    """

    name: str
    build_request: Callable[[dict[str, Any]], Any]
    parser: Callable[[str], Any]
    store: Callable[[dict[str, Any], Any], dict[str, Any]]
    output_features: Any
    skip_reason: Callable[[dict[str, Any]], str | None] = lambda row: None
    produces: tuple[str, ...] = ()


def _row_defaults(features) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    for column in features:
        defaults[column] = empty_provenance() if column == "provenance" else None
    return defaults


def run_llm_stage(dataset, stage: LLMStage, engine, batch_size: int = 512):
    """Run `stage` over `dataset` with `engine`; return (output dataset, StageCounts).

    Rows that already carry an error are passed through; rows the stage skips get `<stage>:<reason>`.
    """
    defaults = _row_defaults(stage.output_features)
    structured = getattr(getattr(engine, "config", None), "structured_output", True)

    def process(batch: dict[str, list]) -> dict[str, list]:
        size = len(next(iter(batch.values()))) if batch else 0
        cleared = dict.fromkeys(stage.produces)
        rows = [{**defaults, **{key: values[i] for key, values in batch.items()}, **cleared} for i in range(size)]
        todo, requests = [], []
        for i, row in enumerate(rows):
            if row.get("error"):
                continue
            reason = stage.skip_reason(row)
            if reason:
                row["error"] = f"{stage.name}:{reason}"
                continue
            try:
                request = stage.build_request(row)
            except (KeyError, ValueError) as exc:
                logger.warning("%s: row id %s cannot be prompted: %s", stage.name, row.get("id"), exc)
                row["error"] = f"{stage.name}:bad_input"
                continue
            if not structured:  # no response_format sent: our tolerant parser validates instead of the engine
                request = dataclasses.replace(request, schema=None)
            requests.append(request)
            todo.append(i)
        results = engine.run(requests, parser=stage.parser) if requests else []
        for i, result in zip(todo, results, strict=True):
            if result.error is not None:
                rows[i]["error"] = f"{stage.name}:{result.error}"
            elif result.finish_reason != "stop":
                rows[i]["error"] = f"{stage.name}:{result.finish_reason or 'no_finish_reason'}"
            else:
                rows[i].update(stage.store(rows[i], result.parsed))
        return {column: [row[column] for row in rows] for column in stage.output_features}

    fingerprint = hashlib.sha256(f"{dataset._fingerprint}:{stage.name}:{id(engine)}".encode()).hexdigest()[:32]
    output = dataset.map(
        process,
        batched=True,
        batch_size=batch_size,
        features=stage.output_features,
        remove_columns=[c for c in dataset.column_names if c not in stage.output_features],
        load_from_cache_file=False,
        new_fingerprint=fingerprint,
        desc=f"{stage.name}",
    )
    counts = count_errors(dataset, output, stage.name)
    return output, counts


def count_errors(before, after, stage: str) -> StageCounts:
    """Compare the `error` column before/after a stage and tally what the stage did."""
    errors_in = before["error"] if "error" in before.column_names else [None] * len(before)
    errors_out = after["error"]
    counts = StageCounts(stage=stage, rows_in=len(before), rows_out=len(after))
    failed: Counter[str] = Counter()
    prefix = f"{stage}:"
    for error_in, error_out in zip(errors_in, errors_out, strict=True):
        if error_in:
            counts.upstream_errors += 1
        elif error_out is None:
            counts.ok += 1
            counts.sent += 1
        elif error_out.startswith(prefix + "skipped_"):
            counts.skipped += 1
        else:
            counts.failed += 1
            counts.sent += error_out != prefix + "bad_input"
            failed[error_out.removeprefix(prefix)] += 1
    counts.failed_by_reason = dict(sorted(failed.items()))
    return counts


def with_provenance(row: dict[str, Any], **fields: str | None) -> dict[str, str | None]:
    """Return the row's provenance with `fields` set."""
    provenance = dict(row.get("provenance") or empty_provenance())
    unknown = set(fields) - set(PROVENANCE_FIELDS)
    if unknown:
        raise ValueError(f"unknown provenance field(s) {sorted(unknown)}; choose from {PROVENANCE_FIELDS}")
    provenance.update(fields)
    return provenance
