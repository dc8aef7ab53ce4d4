"""The judge stage: declarative LLM tasks mapped over the details dataset, after generation, through the cache.

Each judge is an `LLMTask` (star1_hub.teacher.task) declared next to its parser in `judges/`; judging is one
`run_task` map per task over the run's per-sample details (a `datasets.Dataset`). Re-judging never regenerates,
and re-running a finished judgement sends no request (every call is a content-addressed cache hit). The judges
are wired by role, each on its own endpoint:

- the **guard** (`--guard-model`, e.g. Llama-Guard-3-8B): harmful tasks, on the full output (reasoning + answer,
  the paper's protocol; `guard_full`) and on the answer part only (`guard_answer`; `no_answer` when a trace never
  closed: nothing reached the user);
- the **judge** (`--judge-model`, a chat model): the 3-way XSTest refusal label on the full output (the paper's
  protocol; `refusal_llm`) and on the answer part (`refusal_llm_answer_only`, an extra column), and the
  StrongREJECT rubric on the answer part. The string-match label is offline and always present.

A role that is not configured is not run (its columns stay absent and the affected headline is named as missing);
the guard is never asked the refusal or rubric questions (Llama-Guard's template only takes a user/assistant
conversation). Unparseable replies are stored as `unparseable` and excluded from rates, counted.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path

from star1_hub.evaluate.extract import answer_part
from star1_hub.evaluate.judges.guard import guard_task
from star1_hub.evaluate.judges.refusal import refusal_task
from star1_hub.evaluate.judges.strongreject import rubric_task
from star1_hub.teacher.endpoint import EndpointConfig, endpoint_from_flags

logger = logging.getLogger(__name__)

JUDGE_CONCURRENCY = 16


@dataclass
class JudgeConfig:
    """The judges by role (see the module docstring); either endpoint may be None (that role is not run).

    Attributes:
        guard: endpoint of the guard model.
        judge: endpoint of the refusal and rubric judge.
        cache_dir: request cache shared with generation.
        note: shown with the results (e.g. "judged by the generating model itself: demo only").
    """

    guard: EndpointConfig | None = None
    judge: EndpointConfig | None = None
    cache_dir: Path | None = None
    note: str = ""
    accounting: dict = field(default_factory=dict)  # per role: the engine's accounting (tokens, requests, cost)
    task_counts: dict = field(default_factory=dict)  # per judge task: rows sent / ok / failed (TaskCounts)

    @classmethod
    def from_flags(
        cls,
        guard_base_url: str | None = None,
        guard_model: str | None = None,
        judge_base_url: str | None = None,
        judge_model: str | None = None,
        cache_dir: Path | None = None,
        note: str = "",
        api_key_env: str | None = None,
        guard_api_key_env: str | None = None,
        judge_api_key_env: str | None = None,
    ) -> JudgeConfig:
        """Roles from command-line style values: a role is wired when its model is given (its URL falls back to the
        other role's URL, for one server serving both; its key variable then falls back with it).

        Key variables: `guard_api_key_env` / `judge_api_key_env` per role (`--guard-api-key-env`,
        `--judge-api-key-env`), else `api_key_env` for both, else `$OPENAI_API_KEY` (see `read_api_key`)."""
        guard_key = guard_api_key_env or (None if guard_base_url else judge_api_key_env) or api_key_env
        judge_key = judge_api_key_env or (None if judge_base_url else guard_api_key_env) or api_key_env

        def endpoint(flag: str, url: str | None, model: str | None, key_env: str | None) -> EndpointConfig | None:
            if not model:
                return None
            return endpoint_from_flags(
                base_url=url,
                model=model,
                api_key_env=key_env,
                concurrency=JUDGE_CONCURRENCY,
                retry_policy="judge",  # greedy judges: a re-sample would repeat the same reply
                where=f"{flag}-* flags",
            )

        return cls(
            guard=endpoint("--guard", guard_base_url or judge_base_url, guard_model, guard_key),
            judge=endpoint("--judge", judge_base_url or guard_base_url, judge_model, judge_key),
            cache_dir=cache_dir,
            note=note,
        )

    @property
    def use_guard(self) -> bool:
        return self.guard is not None

    @property
    def use_judge(self) -> bool:
        return self.judge is not None

    def describe(self) -> dict:
        """What results.json records about the judges (no key, only its variable name)."""
        return {
            "guard_base_url": self.guard.base_url if self.guard else None,
            "guard_model": self.guard.model if self.guard else None,
            "base_url": self.judge.base_url if self.judge else None,
            "model": self.judge.model if self.judge else None,
            "judge_used": self.use_judge,
            "note": self.note,
        }


def _engine(endpoint: EndpointConfig, stage: str, structured: bool, cache_dir: Path | None):
    from star1_hub.teacher import TeacherEngine

    return TeacherEngine(dataclasses.replace(endpoint, structured_output=structured).engine_config(stage, cache_dir))


def _refusal_prompt_override(task, key: str):
    """The refusal judge task with the run's `xstest_judge` prompt file (`--prompt-dir`), if there is one."""
    from star1_hub.evaluate.judges.refusal import refusal_judge_messages
    from star1_hub.evaluate.prompts import active_prompt_set, judge_messages

    if "xstest_judge" not in active_prompt_set().templates:
        return task
    column = "generation" if key == "refusal_llm" else "answer"  # what refusal_task judges for each key
    return dataclasses.replace(
        task, prompt=lambda row: judge_messages(row["prompt"], row[column], refusal_judge_messages)
    )


JUDGE_ROLES = {"guard": "guard", "refusal": "judge", "rubric": "judge"}
"""The endpoint role that runs each judge a task may declare (`EvalTask.judges`)."""


def roles_needed(tasks) -> set[str]:
    """The roles (`guard`, `judge`) the judges declared by `tasks` run on."""
    return {JUDGE_ROLES[name] for task in tasks for name in task.judges}


def _judge_rows(samples: list[dict], tasks: dict) -> list[dict]:
    """The columns the judge tasks read, one row per sample: `judge_<name>` says whether the sample's task declared
    that judge (a sample whose generation failed is not judged)."""
    rows = []
    for index, sample in enumerate(samples):
        task = tasks[sample["task"]]
        failed = bool(sample.get("generation_error"))
        answer = sample["answer"] if "answer" in sample else answer_part(sample["generation"])
        rows.append(
            {
                "id": f"{sample['task']}/{sample['row_id']}/{sample.get('sample', 0)}",
                "index": index,
                "prompt": sample["prompt"],
                "generation": sample["generation"] or "",
                "answer": answer or "",
                **{f"judge_{name}": not failed and name in task.judges for name in JUDGE_ROLES},
            }
        )
    return rows


def run_judges(samples: list[dict], tasks: dict, recipe, config: JudgeConfig) -> list[dict]:
    """Judge every sample in place (adds the judge columns) and return the list.

    Args:
        samples: per-sample dicts with keys task, row_id, prompt, generation, answer (see runner.build_details).
        tasks: EvalTask by name.
        recipe: the Recipe (judge token limits, structured output, guard mode).
        config: the judges by role.
    """
    import datasets

    settings = recipe.judges
    rows = _judge_rows(samples, tasks)
    if not rows:
        return samples
    details = datasets.Dataset.from_list(rows)
    plan = []
    if config.guard is not None:
        engine = _engine(config.guard, "eval-judge-guard", settings.guard_mode == "instructed", config.cache_dir)
        plan += [(engine, "guard", guard_task(key, settings.guard_mode, settings.guard_max_tokens))
                 for key in ("guard_full", "guard_answer")]  # fmt: skip
    if config.judge is not None:
        engine = _engine(config.judge, "eval-judge", settings.structured_output, config.cache_dir)
        plan += [(engine, "refusal", _refusal_prompt_override(
                     refusal_task(key, settings.structured_output, settings.refusal_max_tokens), key))
                 for key in ("refusal_llm", "refusal_llm_answer_only")]  # fmt: skip
        plan.append((engine, "rubric", rubric_task(settings.structured_output, settings.rubric_max_tokens)))
    counts = {}
    for engine, role, task in plan:
        output, task_counts = _run(details, task, engine)
        counts[task.name] = task_counts.to_dict()
        for row in output:
            _merge(samples[row["index"]], task, row, rows[row["index"]])
        config.accounting[role] = engine.accounting.to_dict()
    config.task_counts = counts
    return samples


def _run(details, task, engine):
    from star1_hub.teacher import run_task

    return run_task(details, task, engine)


def _merge(sample: dict, task, row: dict, source: dict) -> None:
    """Copy one judge task's columns into the sample; a failure becomes its status, a skip leaves nothing."""
    key = task.produces[0]
    error = row.get("error")
    if error is None:
        sample.update({column: row[column] for column in task.produces})
        return
    reason = error.split(":", 1)[1]
    if reason.startswith("skipped_"):
        if key == "guard_answer" and source["judge_guard"] and not source["answer"]:
            sample["guard_answer"] = "no_answer"  # a trace that never closed: nothing reached the user
        if key == "rubric" and source["judge_rubric"] and not source["answer"]:
            sample.update({"rubric": "no_answer", "rubric_score": 0.0, "rubric_raw": ""})
        return
    status = "unparseable" if reason == "unparseable" else f"error:{reason}"
    sample[key] = status
    for column in task.produces[1:]:
        sample[column] = None if column.endswith("_score") else ""
