"""The declarative LLM unit: a task says what to ask and how to read the answer; the engine does the rest.

    class Labels(BaseModel):
        categories: list[str]

    task = LLMTask(
        name="classify",
        prompt=lambda row: [{"role": "user", "content": f"Classify: {row['question']}"}],
        response_model=Labels,                       # JSON schema sent as structured output + validation
        parse=lambda row, labels: {"category": labels.categories},
        skip=lambda row: None,                       # or a short reason, kept as `classify:<reason>`
        params={"temperature": 0, "max_tokens": 64},
        produces=("category",),
    )
    output, counts = run_task(dataset, task, engine)

The engine builds each request itself (messages, the task's params under the endpoint's, the schema, the row
id), sends it through the cache, limits and retries, and calls the task's `parse` inside the engine, so a reply
`parse` rejects is re-sampled like any bad output. Any exception raised while reading one reply (a pydantic
`ValidationError`, a `RecursionError` on deeply nested JSON, a `TypeError` in `parse`) becomes that row's
`<name>:unparseable` failure with the detail kept; the stage always finishes.

Failures travel as rows: a row whose call failed gets `error = "<name>:<reason>"`; a row that arrives with an
error passes through untouched; skip reasons are kept as `<name>:<reason>`. `TaskCounts` are read off the
output's `error` column, so they always match the data.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from star1_hub.errors import UnparseableOutput
from star1_hub.teacher.records import ChatRequest, Reply
from star1_hub.teacher.structured import extract_json_value, strict_json_schema
from star1_hub.think import THINK_CLOSE

logger = logging.getLogger(__name__)

Messages = list[dict[str, Any]]

ANY_FINISH = "*"
"""In `LLMTask.accept_finish`: every finish reason the engine does not refuse (all but `length`/`content_filter`),
none included."""

OUTCOME_COLUMNS = ("finish_reason", "prompt_tokens", "completion_tokens", "cached", "error_detail", "reply_text")
"""The columns an `LLMTask(outcome_columns=True)` run writes from each row's `ChatResult`."""


@dataclass
class LLMTask:
    """One declared LLM call per row (see the module docstring).

    Attributes:
        name: Task name, prefix of its error values (`classify`, `reason`, `guard`, ...).
        prompt: row -> chat messages (a plain string is sent as one user message). Raising KeyError,
            ValueError or TypeError marks the row `<name>:bad_input`.
        parse: (row, value) -> column updates. `value` is the validated `response_model` instance, or for
            free-text tasks the canonical text (`<think>\n…\n</think>\n\nanswer` when the reply carries one
            well-formed trace in any of the three forms, else the reply as returned). A `parse` with a third parameter also receives the `Reply`
            (content, reasoning, form, finish_reason), e.g. to record the form in provenance.
        response_model: Optional pydantic model of the expected JSON; it gives the schema sent as structured
            output and validates the reply (no hand-written schema, no second validator).
        skip: row -> None to call the model, or a short reason (kept as `<name>:<reason>`).
        params: Generation parameters (the paper's defaults); the endpoint's `params` override them.
        think: Free text must carry a closed reasoning trace in one of the three R1 forms (the reason stage);
            the value is then the canonical `<think>\\n…\\n</think>\\n\\nanswer`.
        output_features: `datasets.Features` of the output (None: input columns + `produces` + `error`,
            types inferred).
        produces: Columns this task writes; cleared on every row first, so a failed row never keeps a value
            that came with the input.
        column_defaults: Values of output columns missing from the input (default None), e.g. an empty
            provenance struct.
        schema_name: Name sent with the schema (default: the task name).
        row_params: row -> generation parameters of that row, over `params` (e.g. evaluation's seed offset by
            the sample index); the endpoint's `params` still override them.
        accept_finish: Finish reasons whose reply is a result (default: only `stop`; any other fails the row as
            `<name>:<finish_reason>`). `ANY_FINISH` accepts every reason the engine does not refuse, i.e. all but
            `length` and `content_filter`, which must be listed to be accepted (evaluation:
            `(ANY_FINISH, "length")`: a truncated output is a result, counted as truncated).
        outcome_columns: Also write each prompted row's outcome (`OUTCOME_COLUMNS`: finish_reason, prompt and
            completion tokens, whether it came from the request cache, the failure detail, the reply's text as
            the engine kept it), for failed rows too; None on rows never sent.
    """

    name: str
    prompt: Callable[[dict[str, Any]], Messages | str]
    parse: Callable[..., dict[str, Any]]
    response_model: Any = None
    skip: Callable[[dict[str, Any]], str | None] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    think: bool = False
    output_features: Any = None
    produces: tuple[str, ...] = ()
    column_defaults: dict[str, Any] = field(default_factory=dict)
    schema_name: str | None = None
    row_params: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    accept_finish: tuple[str, ...] = ("stop",)
    outcome_columns: bool = False

    def __post_init__(self) -> None:
        if not self.name or ":" in self.name:
            raise ValueError(f"LLMTask.name must be a non-empty name without ':', got {self.name!r}")
        if self.response_model is not None and self.think:
            raise ValueError(f"task {self.name!r}: `think` applies to free text; a response_model task reads JSON")
        self._parse_wants_reply = len(inspect.signature(self.parse).parameters) >= 3
        self._schema = strict_json_schema(self.response_model) if self.response_model is not None else None

    @property
    def schema(self) -> dict[str, Any] | None:
        """The strict JSON schema derived from `response_model` (None for free-text tasks)."""
        return self._schema

    def value_of(self, reply: Reply, structured: bool) -> Any:
        """The value handed to `parse`: the validated model instance, or the canonical text.

        Raises:
            UnparseableOutput: no JSON in the reply, or it does not validate against `response_model`.
        """
        if self.response_model is None:
            return reply.canonical or reply.text
        from pydantic import ValidationError

        raw = reply.answer
        if not raw.strip() and (reply.text or "").strip():  # say why there is no answer, not just "empty output"
            if THINK_CLOSE in reply.text:
                raise UnparseableOutput("no answer: nothing follows the last </think> of the reply's think tags")
            raise UnparseableOutput("no answer: the reply's think tags open a trace that never closes (no </think>)")
        data = _loads_strict(raw) if structured else extract_json_value(raw)
        try:
            return self.response_model.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0] if exc.errors() else {}
            where = "/".join(str(p) for p in first.get("loc", ())) or "<root>"
            raise UnparseableOutput(
                f"does not match {self.response_model.__name__} at {where}: {first.get('msg', exc)}"
            ) from None

    def request_for(
        self, row: dict[str, Any], endpoint_params: dict[str, Any] | None, structured: bool
    ) -> ChatRequest:
        """The ChatRequest for one row (the engine's view of the task)."""
        messages = self.prompt(row)
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]

        def parse_reply(reply: Reply) -> dict[str, Any]:
            value = self.value_of(reply, structured)
            columns = self.parse(row, value, reply) if self._parse_wants_reply else self.parse(row, value)
            if not isinstance(columns, dict):
                raise TypeError(
                    f"task {self.name!r}: parse must return a dict of columns, got {type(columns).__name__}"
                )
            return columns

        row_params = self.row_params(row) if self.row_params is not None else {}
        return ChatRequest(
            messages=messages,
            params={**self.params, **row_params, **(endpoint_params or {})},
            schema=self._schema if structured else None,
            schema_name=self.schema_name or self.name,
            metadata={"id": row.get("id"), "task": self.name},
            think=self.think,
            parse=parse_reply,
            accept_finish=tuple(self.accept_finish),
        )

    def accepts(self, finish_reason: str | None) -> bool:
        """Whether a reply the engine answered with this finish reason is a result of this task."""
        return finish_reason in self.accept_finish or ANY_FINISH in self.accept_finish


def _loads_strict(text: str) -> Any:
    import json

    from star1_hub.think import check_size

    if not text or not text.strip():
        raise UnparseableOutput("empty output")
    check_size(text)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnparseableOutput(f"not valid JSON: {exc.msg} at char {exc.pos}") from None
    except RecursionError:
        raise UnparseableOutput("JSON nested too deeply") from None


@dataclass
class TaskCounts:
    """Rows in / out / failed of one task run, read off its output (`error_examples`: one server or parser
    message per failure reason, so a summary can show why, e.g. the server's `bad_request` text).

    `sent` counts rows answered by a request this run; `cached` rows answered from the request cache (no request
    sent). `ok` and `failed` cover both: `sent + cached = ok + failed` minus the `bad_input` rows, never prompted.
    `forms` counts the `ok` rows by the reasoning form their row records (`provenance.reasoning_form`, e.g. `json`
    for the reason stage's JSON format; rows without provenance: the form the reply arrived in), so it says what
    the rows say (empty for a stage that records no form, e.g. classify).
    """

    stage: str
    rows_in: int = 0
    sent: int = 0
    cached: int = 0
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    upstream_errors: int = 0
    rows_out: int = 0
    dropped: int = 0
    failed_by_reason: dict[str, int] = field(default_factory=dict)
    note: str = ""
    error_examples: dict[str, str] = field(default_factory=dict)
    forms: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for cards and JSON manifests."""
        return dataclasses.asdict(self)


def count_errors(before, after, stage: str, cached: int = 0) -> TaskCounts:
    """Compare the `error` column before/after a task and tally what it did.

    A row is `skipped` when its error is `<stage>:skipped_*`; `bad_input` rows count as failed but not sent.
    `cached`: how many of the answered rows came from the request cache (the rows cannot tell); they count as
    `cached` instead of `sent`.
    """
    errors_in = before["error"] if "error" in before.column_names else [None] * len(before)
    errors_out = after["error"]
    counts = TaskCounts(stage=stage, rows_in=len(before), rows_out=len(after))
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
    counts.sent -= cached
    counts.cached = cached
    return counts


def _recorded_form(row: dict[str, Any], reply_form: str | None) -> str | None:
    """The reasoning form an answered row records in its provenance (None: a stage that records none, e.g.
    classify); for a task without provenance, the form its reply arrived in."""
    provenance = row.get("provenance")
    if isinstance(provenance, dict):
        return provenance.get("reasoning_form")
    return reply_form or "none"


def _outcome(result) -> dict[str, Any]:
    usage = result.usage or {}
    return {
        "finish_reason": result.finish_reason,
        "prompt_tokens": usage.get("prompt_tokens"),
        "completion_tokens": usage.get("completion_tokens"),
        "cached": bool(result.cached),
        "error_detail": result.error_detail,
        "reply_text": result.text,
    }


def _endpoint_params(engine) -> dict[str, Any]:
    return dict(getattr(getattr(engine, "config", None), "params", None) or {})


def run_task(dataset, task: LLMTask, engine, batch_size: int = 512, params: dict[str, Any] | None = None):
    """Run `task` over `dataset` with `engine` (a `datasets.map(batched=True)`); return (output, TaskCounts).

    Args:
        dataset: A `datasets.Dataset`.
        task: The LLMTask.
        engine: A `TeacherEngine` (its config's `params` override the task's).
        batch_size: Rows per engine call (each batch runs concurrently inside the engine).
        params: Extra parameter overrides (over the engine's).
    """
    structured = getattr(getattr(engine, "config", None), "structured_output", True)
    overrides = {**_endpoint_params(engine), **(params or {})}
    produces = tuple(task.produces)
    if task.output_features is not None:
        columns = list(task.output_features)
    else:
        outcome = OUTCOME_COLUMNS if task.outcome_columns else ()
        columns = list(dict.fromkeys([*dataset.column_names, *produces, *outcome, "error"]))
    examples: dict[str, str] = {}
    forms: Counter[str] = Counter()
    from_cache = 0

    def default(column: str) -> Any:
        value = task.column_defaults.get(column)
        return value() if callable(value) else value

    def process(batch: dict[str, list]) -> dict[str, list]:
        nonlocal from_cache
        size = len(next(iter(batch.values()))) if batch else 0
        rows = []
        for i in range(size):
            row = {column: default(column) for column in columns}
            row.update({key: values[i] for key, values in batch.items()})
            row.update(dict.fromkeys(produces))
            rows.append(row)
        todo, requests = [], []
        for i, row in enumerate(rows):
            if row.get("error"):
                continue
            reason = task.skip(row) if task.skip is not None else None
            if reason:
                row["error"] = f"{task.name}:{reason}"
                continue
            try:
                requests.append(task.request_for(row, overrides, structured))
            except (KeyError, ValueError, TypeError) as exc:
                logger.warning("%s: row id %s cannot be prompted: %s", task.name, row.get("id"), exc)
                row["error"] = f"{task.name}:bad_input"
                examples.setdefault("bad_input", f"row id {row.get('id')}: {exc}"[:500])
                continue
            todo.append(i)
        results = engine.run(requests) if requests else []
        for i, result in zip(todo, results, strict=True):
            from_cache += bool(result.cached)
            if task.outcome_columns:
                rows[i].update(_outcome(result))
            if result.error is not None:
                rows[i]["error"] = f"{task.name}:{result.error}"
                if result.error_detail:
                    examples.setdefault(result.error, result.error_detail)
            elif not task.accepts(result.finish_reason):
                reason = result.finish_reason or "no_finish_reason"
                rows[i]["error"] = f"{task.name}:{reason}"
                examples.setdefault(reason, f"finish_reason={result.finish_reason!r}")
            else:
                rows[i].update(result.parsed or {})
                form = _recorded_form(rows[i], result.form)
                if form is not None:
                    forms[form] += 1
        return {column: [row.get(column) for row in rows] for column in columns}

    fingerprint = hashlib.sha256(f"{dataset._fingerprint}:{task.name}:{id(engine)}".encode()).hexdigest()[:32]
    output = dataset.map(
        process,
        batched=True,
        batch_size=batch_size,
        features=task.output_features,
        remove_columns=[c for c in dataset.column_names if c not in columns],
        load_from_cache_file=False,
        new_fingerprint=fingerprint,
        desc=task.name,
    )
    counts = count_errors(dataset, output, task.name, cached=from_cache)
    counts.error_examples = {reason: examples[reason] for reason in counts.failed_by_reason if reason in examples}
    counts.forms = dict(sorted(forms.items()))
    return output, counts
