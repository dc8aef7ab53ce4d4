"""Run an evaluation: load task rows → generate → score offline → judge (optional) → metrics → files.

Outputs in `output_dir`: `results.json` (every parameter, seed, source, timing, count and metric),
`details/<task>.parquet` (one row per sample: prompt, generation, finish_reason, answer part, extraction,
score, judge labels and raw judge replies).
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from star1_hub.evaluate.aggregate import summarise, task_metrics
from star1_hub.evaluate.extract import answer_part, trace_closed
from star1_hub.evaluate.generate import default_request_timeout
from star1_hub.evaluate.prompts import active_prompt_set
from star1_hub.evaluate.reasoning import decide_reasoning
from star1_hub.evaluate.scoring import score_generation

logger = logging.getLogger(__name__)

RESULTS_SCHEMA = "star1-eval/1"


@dataclass
class EvalRun:
    """The outcome of `run_eval`."""

    results: dict
    details: dict[str, list[dict]]
    output_dir: Path
    results_path: Path
    detail_paths: dict[str, Path] = field(default_factory=dict)


def parse_model_ref(model: str) -> tuple[str, str | None]:
    """`PATH` or `owner/name[@revision]` → (path-or-repo, revision or None)."""
    if Path(model).expanduser().exists():
        return str(Path(model).expanduser().resolve()), None
    from star1_hub.hub.commit import parse_ref

    return tuple(parse_ref(model, require_namespace=False, what="model (not a local folder either)"))


def model_short_name(model: str) -> str:
    """A name for files and leaderboard rows: the repo name or the folder name."""
    ref, _ = parse_model_ref(model)
    return Path(ref).name if Path(ref).exists() else ref.split("/")[-1]


def _versions() -> dict:
    out = {}
    for dist in ("star1-hub", "lighteval", "transformers", "torch", "huggingface_hub", "datasets"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def build_details(task, rows: list[dict], generations: list, reasoning: bool | None = None) -> list[dict]:
    """Per-sample detail dicts (scored offline) for one task.

    A generation that failed (no text from the server) gets no score (`score` None): it is excluded from every
    metric and counted in `n_errors`. For a reasoning model, an output whose trace never closed has no answer and
    counts as truncated, whatever `finish_reason` says.
    """
    by_id = {str(row["id"]): row for row in rows}
    details = []
    for gen in generations:
        row = by_id[gen.row_id]
        answer = answer_part(gen.text, reasoning)
        unclosed = bool(reasoning) and not trace_closed(gen.text)
        sample = {
            "task": task.name,
            "row_id": gen.row_id,
            "sample": gen.sample,
            "prompt": row["prompt_text"],
            "gold": None if row.get("gold") is None else str(row["gold"]),
            "category": None if row.get("category") is None else str(row["category"]),
            "generation": gen.text,
            "finish_reason": gen.finish_reason,
            "generation_error": gen.error,
            "completion_tokens": gen.completion_tokens,
            "truncated": not gen.error and (gen.finish_reason == "length" or unclosed),
            "trace_unclosed": not gen.error and unclosed,
            "has_answer": bool(answer),
            "answer": answer,
        }
        if gen.error:
            sample.update({"score": None, "extracted": None, "string_match_label": None})
        else:
            sample.update(score_generation(task, row, gen.text, reasoning))
        details.append(sample)
    return details


def resolve_revision(ref: str, revision: str | None) -> dict:
    """The Hub commit sha a model reference points to (`{"sha": …}`), or why it could not be resolved."""
    if Path(ref).exists():
        return {"sha": None, "note": "local folder"}
    try:
        from huggingface_hub import HfApi

        return {"sha": HfApi().model_info(ref, revision=revision).sha}
    except Exception as exc:  # noqa: BLE001 - recorded with the results, never fatal for a local eval
        return {"sha": None, "note": f"could not resolve {ref}@{revision or 'main'}: {type(exc).__name__}"}


def run_eval(
    model: str,
    tasks: list,
    recipe,
    output_dir: Path,
    backend: str = "endpoint",
    base_url: str | None = None,
    served_model: str | None = None,
    max_samples: int | None = None,
    cache_dir: Path | None = None,
    task_sources: dict[str, str] | None = None,
    judge=None,
    api_key_env: str | None = None,
    inprocess_model=None,
    request_timeout_s: float | None = None,
    retry_failed: bool = False,
    template_opens_think: bool | None = None,
) -> EvalRun:
    """Evaluate `model` on `tasks` under `recipe` and write the results.

    Args:
        model: local folder or Hub repo `owner/name[@rev]` (what is evaluated; recorded in the results).
        tasks: EvalTasks to run.
        recipe: a Recipe.
        output_dir: where results.json and details/ go.
        backend: "endpoint" (OpenAI-compatible server at base_url serving `served_model`) or "inprocess"
            (lighteval TransformersModel).
        max_samples: first K rows per task.
        cache_dir: teacher-engine cache for generations and judges (re-runs cost 0 requests).
        task_sources: task name → source override.
        judge: a JudgeConfig, or None to skip LLM judges (safety tasks then report string-match only).
        api_key_env: the variable holding the generation server's key (None: `$OPENAI_API_KEY`, else none).
        inprocess_model: an already loaded lighteval model to reuse (tests, demo).
        request_timeout_s: per-request timeout of the endpoint backend (None: none for a local server).
        retry_failed: re-send generations whose failure is recorded in the cache.
        template_opens_think: whether the model's chat template pre-fills `<think>` (None: read it from the
            model's tokenizer when it can be loaded; the outputs decide otherwise).
    """
    started = time.monotonic()
    started_at = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    ref, revision = parse_model_ref(model)
    work, sources = _load_rows(tasks, task_sources or {}, max_samples)
    load_s = time.monotonic() - started

    gen_started = time.monotonic()
    generations, gen_accounting, tokenizer = _generate(
        work,
        recipe,
        backend,
        base_url=base_url,
        served_model=served_model,
        cache_dir=cache_dir,
        api_key_env=api_key_env,
        request_timeout_s=request_timeout_s,
        retry_failed=retry_failed,
        inprocess_model=inprocess_model,
        ref=ref,
        revision=revision,
    )
    generate_s = time.monotonic() - gen_started

    if template_opens_think is None:  # the in-process model's tokenizer, else the endpoint model's on the Hub
        template_opens_think = _template_flag(
            ref if backend == "endpoint" else None, revision if backend == "endpoint" else None, tokenizer
        )
    reasoning = decide_reasoning(template_opens_think, [g.text for g in generations if not g.error])
    details = _score(work, generations, reasoning["reasoning_model"])
    task_map = {task.name: task for task, _ in work}

    judge_s = 0.0
    if judge is not None and any(t.judges for t in task_map.values()):  # some task declared a judge
        from star1_hub.evaluate.judge import run_judges

        judge_started = time.monotonic()
        run_judges([s for samples in details.values() for s in samples], task_map, recipe, judge)
        judge_s = time.monotonic() - judge_started

    per_task = {name: task_metrics(task_map[name], samples) for name, samples in details.items()}
    results = {
        "schema": RESULTS_SCHEMA,
        "model": _model_record(model, ref, revision),
        "config": {
            "recipe": recipe.model_dump(),
            "backend": backend,
            "base_url": base_url,
            "served_model": served_model,
            "max_samples": max_samples,
            "request_timeout_s": default_request_timeout(base_url, request_timeout_s) if base_url else None,
            "reasoning": reasoning,
            "task_sources": sources,
            "prompts": active_prompt_set().describe(),
            "versions": _versions(),
            "started_at": started_at,
        },
        "judge": judge.describe() if judge is not None else None,
        "timings": {
            "load_s": round(load_s, 3),
            "generate_s": round(generate_s, 3),
            "judge_s": round(judge_s, 3),
            "total_s": round(time.monotonic() - started, 3),
        },
        "accounting": {"generation": gen_accounting, "judges": dict(judge.accounting) if judge else {}},
        "judge_task_counts": dict(judge.task_counts) if judge else {},
        "tasks": per_task,
        "summary": summarise(task_map, per_task),
    }
    return _write_run(results, details, output_dir)


def _load_rows(tasks: list, task_sources: dict[str, str], max_samples: int | None) -> tuple[list, dict[str, str]]:
    """Each task with its rows (the first `max_samples`), and the source each was read from."""
    work, sources = [], {}
    for task in tasks:
        rows = task.load_rows(task_sources.get(task.name), limit=max_samples)
        sources[task.name] = task.resolve_source(task_sources.get(task.name))
        work.append((task, rows))
    return work, sources


def _generate(
    work: list,
    recipe,
    backend: str,
    *,
    base_url: str | None,
    served_model: str | None,
    cache_dir: Path | None,
    api_key_env: str | None,
    request_timeout_s: float | None,
    retry_failed: bool,
    inprocess_model,
    ref: str,
    revision: str | None,
) -> tuple[list, dict, object]:
    """Generate every row with the chosen backend: (generations, accounting, the in-process tokenizer or None)."""
    from star1_hub.evaluate.generate import generate_endpoint, generate_inprocess, load_inprocess_model

    if backend == "endpoint":
        if not base_url or not served_model:
            raise ValueError("backend 'endpoint' needs --base-url and --served-model (the server's model name)")
        generations, accounting = generate_endpoint(
            work,
            recipe,
            base_url,
            served_model,
            None if cache_dir is None else Path(cache_dir),
            api_key_env,
            request_timeout_s=request_timeout_s,
            retry_failed=retry_failed,
        )
        return generations, accounting, None
    if backend == "inprocess":
        lm = inprocess_model or load_inprocess_model(ref, revision, recipe)
        generations, accounting = generate_inprocess(work, recipe, lm)
        return generations, accounting, getattr(lm, "tokenizer", None)
    raise ValueError(f"unknown backend {backend!r}; use 'endpoint' or 'inprocess'")


def _score(work: list, generations: list, reasoning_model: bool | None) -> dict[str, list[dict]]:
    """Per-task detail rows, scored offline."""
    by_task: dict[str, list] = {task.name: [] for task, _ in work}
    for gen in generations:
        by_task[gen.task].append(gen)
    return {task.name: build_details(task, rows, by_task[task.name], reasoning_model) for task, rows in work}


def _model_record(model: str, ref: str, revision: str | None) -> dict:
    """The `model` block of results.json: what was evaluated, with the commit its revision resolved to."""
    revision_info = resolve_revision(ref, revision)
    return {
        "ref": ref,
        "revision": revision,
        "revision_sha": revision_info["sha"],
        "revision_note": revision_info.get("note"),
        "name": model_short_name(model),
        "given": model,
    }


def _write_run(results: dict, details: dict[str, list[dict]], output_dir: Path) -> EvalRun:
    """Write results.json and details/<task>.parquet."""
    results_path = output_dir / "results.json"
    results_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    detail_paths = write_details(details, output_dir / "details")
    logger.info("wrote %s and %d detail files", results_path, len(detail_paths))
    return EvalRun(results, details, output_dir, results_path, detail_paths)


def _template_flag(ref: str | None, revision: str | None, tokenizer=None) -> bool | None:
    from star1_hub.evaluate.reasoning import template_opens_think

    if tokenizer is None and ref is None:
        return None
    return template_opens_think(ref or "", revision, tokenizer=tokenizer)


def write_details(details: dict[str, list[dict]], folder: Path) -> dict[str, Path]:
    """One parquet file per task; columns are the union of the sample keys (missing → null)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, samples in details.items():
        columns = sorted({key for sample in samples for key in sample})
        table = pa.Table.from_pylist([{c: s.get(c) for c in columns} for s in samples]) if samples else pa.table({})
        path = folder / f"{name}.parquet"
        pq.write_table(table, path)
        paths[name] = path
    return paths


GUARD_FIELDS_PREFIXES = ("guard_full", "guard_answer")
JUDGE_FIELDS_PREFIXES = ("rubric", "refusal_llm")


def rejudge(run_dir: Path, judge) -> EvalRun:
    """Re-run only the judge stage on a finished run's stored generations (never regenerates), then recompute
    the metrics and rewrite `results.json` and `details/`. Judgements already made are cache hits (0 requests).
    """
    import pyarrow.parquet as pq

    from star1_hub.evaluate.judge import run_judges
    from star1_hub.evaluate.recipe import Recipe
    from star1_hub.evaluate.registry import get_task

    run_dir = Path(run_dir)
    results_path = run_dir / "results.json"
    if not results_path.is_file():
        raise FileNotFoundError(f"{results_path} not found: pass the --output-dir of a finished `star1 eval` run")
    results = json.loads(results_path.read_text())
    recipe = Recipe.model_validate(results["config"]["recipe"])
    task_map = {name: get_task(name) for name in results["tasks"]}
    # only the roles given are judged again; the other role's verdicts are kept
    rerun = (GUARD_FIELDS_PREFIXES if judge.use_guard else ()) + (JUDGE_FIELDS_PREFIXES if judge.use_judge else ())
    details = {}
    for name in task_map:
        rows = pq.read_table(run_dir / "details" / f"{name}.parquet").to_pylist()
        details[name] = [{k: v for k, v in row.items() if not k.startswith(rerun)} for row in rows]
    started = time.monotonic()
    run_judges([s for samples in details.values() for s in samples], task_map, recipe, judge)
    per_task = {name: task_metrics(task_map[name], samples) for name, samples in details.items()}
    previous, described = results.get("judge") or {}, judge.describe()
    if not judge.use_guard:
        described.update({k: previous.get(k) for k in ("guard_base_url", "guard_model")})
    if not judge.use_judge:
        described.update({k: previous.get(k) for k in ("base_url", "model")})
    results["judge"] = described
    results["timings"]["judge_s"] = round(time.monotonic() - started, 3)
    results["accounting"]["judges"] = {**results["accounting"].get("judges", {}), **judge.accounting}
    results["judge_task_counts"] = {**results.get("judge_task_counts", {}), **judge.task_counts}
    results["tasks"] = per_task
    results["summary"] = summarise(task_map, per_task)
    results_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    detail_paths = write_details(details, run_dir / "details")
    return EvalRun(results, details, run_dir, results_path, detail_paths)
