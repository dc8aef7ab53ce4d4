"""Generation backends: an OpenAI-compatible server (vLLM) or lighteval's transformers model in-process.

- `endpoint`: chat completions against any OpenAI-compatible URL (`star1 serve`, vLLM, a hosted API), declared as
  an `LLMTask` (`generation_task`: a truncated output is a result) and run by the teacher engine, which caches
  every response by (model, params, messages), retries with back-off, bounds concurrency and records
  `finish_reason` per sample. We use it instead of `lighteval endpoint litellm`
  because lighteval 0.13's litellm backend drops `finish_reason` (truncation counts are a required output),
  writes its own `.litellm_cache` into the working directory and passes `repetition_penalty` nowhere; the
  prompts and docs are the same lighteval docs built from the task files.
- `inprocess`: lighteval's `TransformersModel` (the model behind `lighteval accelerate`) on CPU/GPU, for tiny
  models and servers-free runs. Truncation = the generation used its whole token budget without EOS.
  lighteval's own sample cache is disabled: with an absolute model path it writes parquet files *inside the
  model directory*; the run directory keeps every generation instead.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from star1_hub.teacher.task import LLMTask

logger = logging.getLogger(__name__)


@dataclass
class Generation:
    """One generated sample."""

    task: str
    row_id: str
    sample: int
    text: str
    finish_reason: str | None
    error: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def sampling_params(recipe, task, sample: int) -> dict:
    """OpenAI-style request params for one sample of `task` under `recipe` (seed offset by the sample index)."""
    gen = recipe.generation
    params = {
        "temperature": gen.temperature,
        "top_p": gen.top_p,
        "max_tokens": recipe.budget_for(task),
        "seed": recipe.seed + sample,
    }
    if gen.top_k is not None:
        params["top_k"] = gen.top_k
    if gen.repetition_penalty is not None:
        params["repetition_penalty"] = gen.repetition_penalty  # vLLM extension of the OpenAI API
    return params


REMOTE_TIMEOUT_S = 300.0
"""Default per-request timeout for a server that is not on this machine (a local one gets none)."""


def is_local_url(base_url: str) -> bool:
    """True for a server on this machine (127.0.0.1, localhost, ::1, 0.0.0.0)."""
    from urllib.parse import urlparse

    return (urlparse(base_url).hostname or "") in ("127.0.0.1", "localhost", "::1", "0.0.0.0")


def default_request_timeout(base_url: str, request_timeout_s: float | None) -> float | None:
    """The per-request timeout: the given one; else none for a local server (a 32K-token generation at
    concurrency 64 may take many minutes), else `REMOTE_TIMEOUT_S`."""
    if request_timeout_s is not None:
        return request_timeout_s if request_timeout_s > 0 else None
    return None if is_local_url(base_url) else REMOTE_TIMEOUT_S


GENERATE_STAGE = "eval-generate"
"""The task (and engine stage) name of endpoint generation."""


def generation_task(recipe, tasks: dict) -> LLMTask:
    """Endpoint generation as an `LLMTask` over one row per (task, row, sample) (`generation_rows`).

    Each row is sent as one user message with the sample's own parameters (`sampling_params`: the recipe's, the
    budget of its task, the seed offset by the sample index). Any finish reason is a result except a provider's
    content filter: a truncated output (`length`) is kept, scored and counted as truncated, never re-sampled. The
    text kept is the reply's (a reasoning trace sent in a separate field is joined in the canonical layout), but
    for a truncated reply its `content` as returned.
    """
    from datasets import Features, Value

    from star1_hub.teacher.task import ANY_FINISH, LLMTask

    def keep(row, _value, reply):
        return {"text": reply.content if reply.finish_reason == "length" else reply.text}

    string, integer = Value("string"), Value("int64")
    return LLMTask(
        name=GENERATE_STAGE,
        prompt=lambda row: [{"role": "user", "content": row["prompt_text"]}],
        row_params=lambda row: sampling_params(recipe, tasks[row["task"]], row["sample"]),
        parse=keep,
        accept_finish=(ANY_FINISH, "length"),
        outcome_columns=True,
        produces=("text",),
        output_features=Features(
            {
                "id": string,
                "task": string,
                "row_id": string,
                "sample": integer,
                "prompt_text": string,
                "text": string,
                "finish_reason": string,
                "prompt_tokens": integer,
                "completion_tokens": integer,
                "cached": Value("bool"),
                "error_detail": string,
                "reply_text": string,
                "error": string,
            }
        ),
    )


def generation_rows(work: list[tuple], samples: int):
    """One dataset row per (task, row, sample) of `work`, in task/row/sample order."""
    from datasets import Dataset

    rows = [
        {
            "id": f"{task.name}/{row['id']}/{sample}",
            "task": task.name,
            "row_id": str(row["id"]),
            "sample": sample,
            "prompt_text": row["prompt_text"],
        }
        for task, task_rows in work
        for row in task_rows
        for sample in range(samples)
    ]
    columns = ("id", "task", "row_id", "sample", "prompt_text")
    return Dataset.from_dict({column: [row[column] for row in rows] for column in columns})


def generate_endpoint(
    work: list[tuple],
    recipe,
    base_url: str,
    served_model: str,
    cache_dir: Path | None,
    api_key_env: str | None = None,
    request_timeout_s: float | None = None,
    retry_failed: bool = False,
) -> tuple[list[Generation], dict]:
    """Generate every (task, rows) pair of `work` through an OpenAI-compatible server (`generation_task`).

    A failed request (server down, unknown model, context exceeded, timeout) becomes a `Generation` with `error`
    set: it is never scored, only counted (star1_hub.evaluate.aggregate).

    Args:
        api_key_env: the variable holding the server's key (read when sending; None: `$OPENAI_API_KEY`).
        request_timeout_s: per-request timeout; None = `default_request_timeout` (none for a local server).
        retry_failed: re-send requests whose failure is recorded in the cache.

    Returns:
        (generations in task/row/sample order, the engine's accounting dict).
    """
    from star1_hub.teacher import EndpointConfig, TeacherEngine, run_task

    endpoint = EndpointConfig(
        base_url=base_url,
        model=served_model,
        api_key_env=api_key_env,
        concurrency=recipe.concurrency,
        timeout_s=default_request_timeout(base_url, request_timeout_s),
        retry_failed=retry_failed,
        structured_output=False,
        output_retries=0,  # a failed output is counted, not re-sampled
    )
    engine = TeacherEngine(endpoint.engine_config(GENERATE_STAGE, cache_dir))
    rows = generation_rows(work, recipe.samples_per_prompt)
    task = generation_task(recipe, {task.name: task for task, _ in work})
    output = run_task(rows, task, engine, batch_size=len(rows))[0] if len(rows) else []  # one engine run
    generations = []
    for row in output:
        error = row["error"].removeprefix(f"{GENERATE_STAGE}:") if row["error"] else None
        if error and row["error_detail"]:
            error = f"{error}: {row['error_detail']}"[:500]
        generations.append(
            Generation(
                task=row["task"],
                row_id=row["row_id"],
                sample=row["sample"],
                text=(row["text"] if not error else row["reply_text"]) or "",
                finish_reason=row["finish_reason"],
                error=error,
                prompt_tokens=row["prompt_tokens"],
                completion_tokens=row["completion_tokens"],
                cached=bool(row["cached"]),
            )
        )
    return generations, engine.accounting.to_dict()


def load_inprocess_model(model: str, revision: str | None, recipe, batch_size: int = 4, device: str = "cpu"):
    """lighteval's TransformersModel for a local folder or Hub repo, with the recipe's sampling parameters."""
    import torch

    # lighteval's transformers_model calls torch.set_grad_enabled(False) at import and in the model constructor,
    # process-wide; restore the caller's mode afterwards so a later training step in this process still works.
    grad_enabled = torch.is_grad_enabled()
    from lighteval.models.model_input import GenerationParameters
    from lighteval.models.transformers import transformers_model as tm

    gen = recipe.generation
    config = tm.TransformersModelConfig(
        model_name=model,
        revision=revision or "main",
        device=device,
        batch_size=batch_size,
        dtype="float32" if device == "cpu" else "bfloat16",
        generation_parameters=GenerationParameters(
            temperature=gen.temperature,
            top_p=gen.top_p,
            top_k=gen.top_k,
            repetition_penalty=gen.repetition_penalty,
            seed=recipe.seed,
        ),
    )
    original = tm.SampleCache
    tm.SampleCache = lambda _config: None  # see module docstring: no cache files inside the model folder
    try:
        return tm.TransformersModel(config)
    finally:
        tm.SampleCache = original
        torch.set_grad_enabled(grad_enabled)


def generate_inprocess(work: list[tuple], recipe, lighteval_model) -> tuple[list[Generation], dict]:
    """Generate every (task, rows) pair of `work` with an in-process lighteval TransformersModel."""
    import transformers

    transformers.set_seed(recipe.seed)
    eos_id = lighteval_model.tokenizer.eos_token_id
    generations, started, completion_tokens = [], time.monotonic(), 0
    for task, rows in work:
        budget = recipe.budget_for(task)
        docs = []
        for row in rows:
            doc = task.to_doc(row, max_new_tokens=budget)
            doc.num_samples = recipe.samples_per_prompt
            docs.append(doc)
        if not docs:
            continue
        logger.info("generating %d × %d samples for %s in-process", len(docs), recipe.samples_per_prompt, task.name)
        responses = lighteval_model.greedy_until(docs)
        for row, response in zip(rows, responses, strict=True):
            for sample, text in enumerate(response.text):
                tokens = list(response.output_tokens[sample]) if len(response.output_tokens) > sample else []
                tokens = [int(t) for t in tokens if int(t) != (lighteval_model.tokenizer.pad_token_id or -1)]
                hit_budget = len(tokens) >= budget and (not tokens or tokens[-1] != eos_id)
                completion_tokens += len(tokens)
                generations.append(
                    Generation(
                        task=task.name,
                        row_id=str(row["id"]),
                        sample=sample,
                        text=text,
                        finish_reason="length" if hit_budget else "stop",
                        prompt_tokens=len(response.input_tokens),
                        completion_tokens=len(tokens),
                    )
                )
    accounting = {
        "requests_sent": len(generations),
        "cached_hits": 0,
        "completion_tokens": completion_tokens,
        "wall_s": time.monotonic() - started,
    }
    return generations, accounting
