"""What an evaluation task is, where its rows come from, and how it becomes lighteval docs and task configs.

Each benchmark file under `star1_hub/evaluate/tasks/{safety,reasoning}/` builds one or more `EvalTask`s and a
lighteval `TASKS_TABLE`, so the same file serves `star1 eval` and
`lighteval accelerate ... --custom-tasks star1_hub/evaluate/tasks/reasoning/aime24.py`, with the same rows:
every selection runs in `EvalTask.load_rows`, and the lighteval config reads that selection (see
`stage_selected_rows`). Row ids come from the source's id column, else from the row's content (`content_id`).

Row sources, in order of precedence:
1. an explicit `source=` argument (CLI `--task-source NAME=SOURCE`);
2. the environment variable `STAR1_EVAL_SOURCE_<NAME>` (e.g. `STAR1_EVAL_SOURCE_XSTEST_SAFE=../shared/data/xstest_prompts.csv`);
3. the task's public Hub id (`datasets.load_dataset`, honours `HF_ENDPOINT`, so a local Hub works too).
A source is a local `.csv`/`.jsonl`/`.json`/`.parquet` file, a local dataset folder, or a Hub repo `owner/name[@rev]`.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from star1_hub.errors import Star1Error

logger = logging.getLogger(__name__)

LIGHTEVAL_PREFIX = "star1_"
JUDGES = ("guard", "refusal", "rubric")
"""Judges a task may declare (star1_hub.evaluate.judge runs each one on the tasks that ask for it)."""
AVERAGES = ("safety", "reasoning", "xstest")
"""Suite averages a task may feed (star1_hub.evaluate.aggregate.summarise)."""


class TaskDataError(Star1Error, ValueError):
    """A task's source is missing, unreadable or lacks a required field."""


@dataclass(frozen=True)
class Scoring:
    """How a task's generations become numbers, declared by the task (as a lighteval task declares `metrics=[…]`).

    The instances live in star1_hub.evaluate.scoring (`REFUSAL_SAFETY`, `MATH_VERIFY`, …); a new benchmark
    picks one, or declares its own.

    Attributes:
        kind: the scoring family's name, recorded in results.json (`kind`) and shown by `star1 eval tasks`.
        score: (row, generation, reasoning) -> the sample's offline columns, `score` among them (see
            star1_hub.evaluate.scoring.score_generation).
        metrics: (successful samples, all samples) -> the task's metric entries, `headline_metric` and `headline`
            among them (see star1_hub.evaluate.aggregate.task_metrics).
        grader: the validated grader behind the offline score (star1_hub.evaluate.graders), if any.
        grader_metric: the grader stands behind the metric keys containing this text ("" = every metric).
        sample_metric: the per-sample metric's name on the lighteval path (`--custom-tasks FILE`).
        higher_is_better: whether a higher per-sample score is better there (a refusal is not).
    """

    kind: str
    score: Callable[[dict, str, bool | None], dict]
    metrics: Callable[[list[dict], list[dict]], dict]
    grader: str | None = None
    grader_metric: str = ""
    sample_metric: str = "pass@1"
    higher_is_better: bool = True

    def grader_for(self, metric_key: str) -> str | None:
        """The validated grader behind `metric_key`, or None (e.g. a guard or LLM-judge metric)."""
        return self.grader if self.grader and self.grader_metric in metric_key else None


@dataclass(frozen=True)
class EvalTask:
    """One benchmark as evaluated by star1-hub.

    Attributes:
        name: task name used on the CLI, in results and as the details config (e.g. "strongreject").
        suite: "safety" or "reasoning".
        scoring: how a generation is scored and the task's metrics computed (a `Scoring`).
        hub_id: default source on the Hub; hub_config / split select the subset.
        expected_size: number of rows of the full benchmark (None when it depends on the source).
        description: one line shown by `star1 eval --list-tasks`.
        select: turns the raw rows of the source into normalised rows
            `{"id": str, "prompt": str, "gold": str | None, ...extra}`; raises TaskDataError naming the field.
        build_prompt: the user message for a normalised row.
        judges: the judges this task's samples are sent to (names from JUDGES; none: offline scoring only).
        average: the suite average the task's headline feeds (one of AVERAGES), or None.
        budget_key: which recipe token budget applies (defaults to the task name).
        rank: place in listings and results within its suite (the paper's table order; ties keep file order).
    """

    name: str
    suite: str
    scoring: Scoring
    hub_id: str
    split: str
    expected_size: int | None
    description: str
    select: Callable[[list[dict]], list[dict]]
    build_prompt: Callable[[dict], str]
    hub_config: str | None = None
    judges: tuple[str, ...] = ()
    average: str | None = None
    budget_key: str | None = None
    rank: int = 0
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = [judge for judge in self.judges if judge not in JUDGES]
        if unknown:
            raise ValueError(f"task {self.name!r}: unknown judges {unknown}; choose from {JUDGES}")
        if self.average is not None and self.average not in AVERAGES:
            raise ValueError(f"task {self.name!r}: unknown average {self.average!r}; choose one of {AVERAGES}")

    @property
    def kind(self) -> str:
        """The scoring family's name (recorded in results.json; behaviour comes from `scoring`)."""
        return self.scoring.kind

    @property
    def in_safety_average(self) -> bool:
        """Whether the task is one of the benchmarks of the safety average (the paper's four)."""
        return self.average == "safety"

    def prompt_text(self, row: dict) -> str:
        """The user message of a row: ours (`build_prompt`), or the run's `--prompt-dir` file for this task."""
        from star1_hub.evaluate.prompts import task_prompt

        return task_prompt(self.name, row, self.build_prompt)

    @property
    def env_var(self) -> str:
        return "STAR1_EVAL_SOURCE_" + self.name.upper().replace("-", "_")

    def resolve_source(self, source: str | Path | None = None) -> str:
        """The source actually used: explicit argument, then the env var, then the Hub id."""
        return str(source or os.environ.get(self.env_var) or self.hub_id)

    def load_rows(self, source: str | Path | None = None, limit: int | None = None) -> list[dict]:
        """Load, select and normalise the task's rows (first `limit` after selection)."""
        resolved = self.resolve_source(source)
        raw = read_rows(resolved, config=self.hub_config, split=self.split, hint=self.extra.get("access_hint"))
        rows = self.select(raw)
        for row in rows:
            row["prompt_text"] = self.prompt_text(row)
        if self.expected_size is not None and len(rows) != self.expected_size and limit is None:
            logger.warning(
                "%s: %d rows from %s (the benchmark has %d)", self.name, len(rows), resolved, self.expected_size
            )
        return rows[:limit] if limit is not None else rows

    def to_doc(self, row: dict, max_new_tokens: int | None = None):
        """A lighteval `Doc` for a normalised row (query = the user message; gold kept in `specific`)."""
        from lighteval.tasks.requests import Doc

        return Doc(
            query=row.get("prompt_text") or self.prompt_text(row),
            choices=[str(row.get("gold") or "")],
            gold_index=0,
            id=str(row["id"]),
            task_name=self.name,
            specific={"row": {k: v for k, v in row.items() if k != "prompt_text"}},
            generation_size=max_new_tokens,  # lighteval's pipeline adds the sampling methods itself
        )


def require(row: dict, field_names: str | tuple[str, ...], where: str):
    """Value of the first present field among `field_names`, else TaskDataError naming the row and the fields."""
    names = (field_names,) if isinstance(field_names, str) else field_names
    for name in names:
        if name in row and row[name] is not None:
            return row[name]
    raise TaskDataError(
        f"{where}: field {' or '.join(repr(n) for n in names)} missing (columns: {sorted(row)}); "
        "point the task at a source with that column (see `star1 eval --list-tasks`)"
    )


def content_id(text: str) -> str:
    """A row id derived from the row's content (for sources without an id column): stable across row order,
    the same on every eval path, never a position such as "0"."""
    return "h" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def source_id(line: dict, id_fields: tuple[str, ...], text: str) -> str:
    """The row's id: the first non-empty of `id_fields`, else `content_id(text)`."""
    for name in id_fields:
        value = line.get(name)
        if value is not None and str(value).strip():
            return str(value)
    return content_id(text)


def unique_ids(rows: list[dict]) -> list[dict]:
    """Make `row["id"]` unique in order (a repeated id gets `-2`, `-3`, …), so every row is addressable."""
    seen: dict[str, int] = {}
    for row in rows:
        count = seen.get(row["id"], 0) + 1
        seen[row["id"]] = count
        if count > 1:
            row["id"] = f"{row['id']}-{count}"
    return rows


def _read_file(path: Path) -> list[dict]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    if suffix == ".jsonl":
        rows = []
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as exc:
                        raise TaskDataError(
                            f"{path}:{number}: not valid JSON ({exc.msg}); fix or remove the line"
                        ) from exc
        return rows
    if suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("data"), list):
            data = data["data"]
        if not isinstance(data, list):
            raise TaskDataError(f"{path}: expected a JSON list of rows (or {{'data': [...]}})")
        return data
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    raise TaskDataError(f"{path}: unsupported file type {suffix!r}; use .csv, .jsonl, .json or .parquet")


def read_rows(source: str, config: str | None = None, split: str = "test", hint: str | None = None) -> list[dict]:
    """Raw rows of a local file, a local dataset folder or a Hub dataset (`owner/name[@revision]`).

    Args:
        hint: what to do when a Hub dataset cannot be read (e.g. how to request access to a gated one).
    """
    path = Path(source).expanduser()
    if path.is_file():
        return _read_file(path)
    import datasets

    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in {".csv", ".jsonl", ".json", ".parquet"})
        if files and not (path / "README.md").exists():
            return [row for file in files for row in _read_file(file)]
        return datasets.load_dataset(str(path), config, split=split).to_list()
    if source.startswith((".", "/", "~")):
        raise TaskDataError(f"{source}: no such file or folder; pass an existing path or a Hub dataset id")
    from star1_hub.hub.commit import RefError, parse_ref

    try:
        repo_id, revision = parse_ref(source, require_namespace=False, what="task source")
    except RefError as exc:
        raise TaskDataError(f"{exc} (and it is not an existing local file or folder)") from None
    try:
        return datasets.load_dataset(repo_id, config, split=split, revision=revision or None).to_list()
    except Exception as exc:
        raise TaskDataError(
            f"could not load Hub dataset {repo_id!r} (config {config!r}, split {split!r}): {exc}. "
            + (f"If it is gated: {hint}. " if hint else "")
            + "Offline? point the task at a local copy with --task-source or its STAR1_EVAL_SOURCE_* variable"
        ) from exc


def default_budget(task: EvalTask) -> int:
    """Token budget for the lighteval CLI path: `$STAR1_EVAL_MAX_NEW_TOKENS`, else the paper recipe's budget."""
    if os.environ.get("STAR1_EVAL_MAX_NEW_TOKENS"):
        return int(os.environ["STAR1_EVAL_MAX_NEW_TOKENS"])
    from star1_hub.evaluate.recipe import load_recipe

    return load_recipe("paper").budget_for(task)


def stage_selected_rows(task: EvalTask, source: str | Path | None = None) -> Path:
    """Write the task's selected, normalised rows (exactly what `star1 eval` evaluates, `prompt_text` included) as
    the `test` split of a local dataset folder, and return the folder.

    This is how the lighteval path and `star1 eval` see the same rows: selections that need the whole dataset
    (WildJailbreak's seeded shuffle, WildChat's per-category top-100) run once, here, in the same `load_rows`,
    and lighteval reads the result one row at a time. The folder is named by a hash of its content, so concurrent
    runs and re-runs never clobber each other's rows.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from star1_hub.home import star1_home

    rows = task.load_rows(source)
    if not rows:
        raise TaskDataError(f"{task.name}: the selection from {task.resolve_source(source)} is empty")
    payload = json.dumps(rows, sort_keys=True, default=str)
    digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]
    folder = star1_home() / "lighteval-sources" / task.name / digest
    target = folder / "test.parquet"
    if not target.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        # one JSON column: rows of a task may mix value types (e.g. a category that is sometimes missing)
        table = pa.table({"row_json": [json.dumps(row, default=str) for row in rows]})
        partial = folder / f".test.{os.getpid()}.parquet"
        pq.write_table(table, partial)
        partial.replace(target)
    return folder


def lighteval_config(task: EvalTask, max_new_tokens: int | None = None):
    """A `LightevalTaskConfig` for `task`, scored per sample with the task's offline scorer.

    `max_new_tokens` defaults to `default_budget(task)` (without a budget lighteval generates up to the model's
    context length). The rows come from `stage_selected_rows` (the same selection `star1 eval` runs);
    lighteval 0.13 calls the prompt function once per dataset row and then overwrites `Doc.id` with the row's
    position, so the task's own row id travels in `Doc.specific["row"]["id"]`.
    """
    import numpy as np
    from lighteval.metrics.metrics_sample import SampleLevelComputation
    from lighteval.metrics.utils.metric_utils import SampleLevelMetric
    from lighteval.tasks.lighteval_task import LightevalTaskConfig
    from lighteval.tasks.requests import SamplingMethod

    max_new_tokens = max_new_tokens or default_budget(task)

    class _TaskScore(SampleLevelComputation):
        def compute(self, doc, model_response, **kwargs):
            row = (doc.specific or {}).get("row", {})
            return float(task.scoring.score(row, model_response.text[0], None)["score"])

    metric = SampleLevelMetric(
        metric_name=task.scoring.sample_metric,
        higher_is_better=task.scoring.higher_is_better,
        category=SamplingMethod.GENERATIVE,
        sample_level_fn=_TaskScore(),
        corpus_level_fn=np.mean,
    )

    def prompt_function(line: dict, task_name: str | None = None):
        row = json.loads(line["row_json"])
        doc = task.to_doc(row, max_new_tokens)
        doc.task_name = task_name or doc.task_name
        return doc

    return LightevalTaskConfig(
        name=LIGHTEVAL_PREFIX + task.name,  # prefixed: lighteval's built-ins own names like "aime24"
        prompt_function=prompt_function,
        hf_repo=str(stage_selected_rows(task)),
        hf_subset="default",
        hf_avail_splits=["test"],
        evaluation_splits=["test"],
        few_shots_split=None,
        few_shots_select=None,
        generation_size=max_new_tokens,
        stop_sequence=None,
        metrics=[metric],
        version=1,
    )


def lazy_tasks_table(tasks: list[EvalTask], namespace: dict):
    """A module `__getattr__` (PEP 562) that builds lighteval's `TASKS_TABLE` from `tasks` on first access.

    Task files assign it as `__getattr__ = lazy_tasks_table(TASKS, globals())`, so `star1 eval` can import them
    without importing lighteval, while `lighteval … --custom-tasks FILE` still finds `TASKS_TABLE`.
    """

    def __getattr__(name: str):
        if name == "TASKS_TABLE":
            table = namespace["TASKS_TABLE"] = [lighteval_config(task) for task in tasks]  # built once
            return table
        raise AttributeError(name)

    return __getattr__
