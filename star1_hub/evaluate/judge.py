"""The judge stage: runs after generation, on stored generations, through the cached teacher engine.

Re-judging never regenerates, and re-running a finished judgement sends no request (every judge call is a
content-addressed cache hit). Per sample it records, depending on the task kind:

- harmful tasks: the guard verdict on the full output (reasoning + answer, the paper's protocol) and on the
  answer part only (`no_answer` when a trace never closed: nothing reached the user); optionally the
  StrongREJECT rubric on the answer part;
- over-refusal tasks: the 3-way LLM refusal label on the answer part (the string-match label is offline and
  always present).
Unparseable judge replies are stored as `unparseable` (with the raw text) and excluded from rates, counted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from star1_hub.evaluate.extract import answer_part
from star1_hub.evaluate.judges.guard import (
    GUARD_SCHEMA,
    guard_messages,
    instructed_guard_messages,
    parse_guard_output,
)
from star1_hub.evaluate.judges.refusal import REFUSAL_SCHEMA, parse_refusal_label, refusal_judge_messages
from star1_hub.evaluate.judges.strongreject import RUBRIC_SCHEMA, parse_rubric, rubric_messages

logger = logging.getLogger(__name__)


@dataclass
class JudgeConfig:
    """Where the judges run. One OpenAI-compatible server may serve all three, or `guard_*` may point elsewhere.

    Attributes:
        base_url / model: the refusal and rubric judge (e.g. a strong instruct model).
        guard_base_url / guard_model: the Llama-Guard-3 server (defaults to base_url / model).
        note: shown with the results (e.g. "judged by the generating model itself: demo only").
    """

    base_url: str
    model: str
    guard_base_url: str | None = None
    guard_model: str | None = None
    api_key: str | None = None
    cache_dir: Path | None = None
    concurrency: int = 16
    note: str = ""
    accounting: dict = field(default_factory=dict)

    def describe(self) -> dict:
        return {
            "base_url": self.base_url,
            "model": self.model,
            "guard_base_url": self.guard_base_url or self.base_url,
            "guard_model": self.guard_model or self.model,
            "note": self.note,
        }


def _engine(config: JudgeConfig, stage: str, guard: bool, structured: bool):
    from star1_hub.teacher import EngineConfig, TeacherEngine

    return TeacherEngine(
        EngineConfig(
            base_url=(config.guard_base_url or config.base_url) if guard else config.base_url,
            model=(config.guard_model or config.model) if guard else config.model,
            api_key=config.api_key,
            concurrency=config.concurrency,
            cache_dir=config.cache_dir,
            stage=stage,
            structured_output=structured,
            output_retries=0,  # greedy judges: a retry would repeat the same reply
        )
    )


def _outcome(result) -> tuple[str, object]:
    """(status, parsed) of a judge ChatResult: ("ok", parsed) / ("unparseable", None) / ("error:<reason>", None)."""
    if result.error is None:
        return "ok", result.parsed
    if result.error == "unparseable":
        return "unparseable", None
    return f"error:{result.error}", None


def run_judges(samples: list[dict], tasks: dict, recipe, config: JudgeConfig) -> list[dict]:
    """Judge every sample in place (adds judge fields) and return the list.

    Args:
        samples: per-sample dicts with keys task, prompt, generation (see runner.build_details).
        tasks: EvalTask by name.
        recipe: the Recipe (judge token limits, structured output flag).
        config: where the judges run.
    """
    from star1_hub.teacher import ChatRequest

    settings = recipe.judges
    guard_jobs, rubric_jobs, refusal_jobs = [], [], []
    for sample in samples:
        if sample.get("generation_error"):
            continue  # nothing was generated: nothing to judge (counted as a generation error)
        task = tasks[sample["task"]]
        answer = answer_part(sample["generation"])
        if task.kind == "harmful":
            guard_jobs.append((sample, "guard_full", sample["generation"]))
            if answer:
                guard_jobs.append((sample, "guard_answer", answer))
            else:
                sample["guard_answer"] = "no_answer"
            if task.extra.get("rubric") and answer:
                rubric_jobs.append((sample, answer))
            elif task.extra.get("rubric"):
                sample.update({"rubric": "no_answer", "rubric_score": 0.0, "rubric_raw": ""})
        elif task.kind == "overrefusal":
            refusal_jobs.append((sample, answer))

    def request(messages, max_tokens, schema=None, name="output", meta=""):
        params = {"temperature": 0, "max_tokens": max_tokens}
        return ChatRequest(messages=messages, params=params, schema=schema, schema_name=name, metadata={"id": meta})

    if guard_jobs:
        instructed = settings.guard_mode == "instructed"
        engine = _engine(config, "eval-judge-guard", guard=True, structured=instructed)
        build = instructed_guard_messages if instructed else guard_messages
        requests = [
            request(
                build(s["prompt"], text),
                settings.guard_max_tokens,
                GUARD_SCHEMA if instructed else None,
                "guard",
                meta=f"{s['task']}/{s['row_id']}",
            )
            for s, _, text in guard_jobs
        ]
        for (sample, key, _), result in zip(guard_jobs, engine.run(requests, parser=parse_guard_output), strict=True):
            status, verdict = _outcome(result)
            sample[key] = verdict.label if status == "ok" else status
            sample[f"{key}_codes"] = ",".join(verdict.categories) if status == "ok" else ""
            sample[f"{key}_raw"] = result.text or ""
        config.accounting["guard"] = engine.accounting.to_dict()
    structured = settings.structured_output
    if rubric_jobs:
        engine = _engine(config, "eval-judge-rubric", guard=False, structured=structured)
        requests = [
            request(
                rubric_messages(s["prompt"], answer),
                settings.rubric_max_tokens,
                RUBRIC_SCHEMA if structured else None,
                "rubric",
            )
            for s, answer in rubric_jobs
        ]
        for (sample, _), result in zip(rubric_jobs, engine.run(requests, parser=parse_rubric), strict=True):
            status, parsed = _outcome(result)
            sample["rubric"] = status
            sample["rubric_score"] = parsed["score"] if status == "ok" else None
            sample["rubric_raw"] = result.text or ""
        config.accounting["rubric"] = engine.accounting.to_dict()
    if refusal_jobs:
        engine = _engine(config, "eval-judge-refusal", guard=False, structured=structured)
        requests = [
            request(
                refusal_judge_messages(s["prompt"], answer),
                settings.refusal_max_tokens,
                REFUSAL_SCHEMA if structured else None,
                "refusal",
            )
            for s, answer in refusal_jobs
        ]
        for (sample, _), result in zip(refusal_jobs, engine.run(requests, parser=parse_refusal_label), strict=True):
            status, label = _outcome(result)
            sample["refusal_llm"] = label if status == "ok" else status
            sample["refusal_llm_raw"] = result.text or ""
        config.accounting["refusal"] = engine.accounting.to_dict()
    return samples
