"""Provider Batch API mode (OpenAI-style `/v1/files` + `/v1/batches`): half the price for large stages.

The pending requests are written as JSONL (`custom_id` = request key), uploaded with purpose "batch", and
submitted as one job per 50,000 lines. Each job id is persisted in the cache database before polling starts,
so a re-run after a crash polls the job it already paid for instead of submitting again. Completed output
(and error) files are downloaded and every line is judged like a live response and stored in the same cache.
Lines that fail are recorded as failures; `retry_failed` re-submits them in a new job.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any, Protocol

from star1_hub.teacher.redact import redact

if TYPE_CHECKING:
    from star1_hub.teacher.engine import _Pending
    from star1_hub.teacher.progress import LiveProgress


class BatchRecorder(Protocol):
    """What the Batch API mode needs from the engine (implemented by `TeacherEngine`)."""

    config: Any
    accounting: Any
    cache: Any

    def make_client(self) -> Any: ...

    def judge(self, request: Any, payload: dict[str, Any]) -> tuple: ...

    def record(
        self,
        item: Any,
        payload: Any,
        parsed: Any,
        error: Any,
        detail: Any,
        attempts: int,
        latency: float,
        reply: Any = None,
    ) -> None: ...

    def count_sent(self, n: int) -> None: ...

    def set_inflight(self, n: int) -> None: ...


logger = logging.getLogger(__name__)

MAX_LINES_PER_JOB = 50_000
_TERMINAL_FAILED = ("failed", "expired", "cancelled")


def _line_error(line: dict[str, Any]) -> tuple[str, str]:
    response = line.get("response") or {}
    status = int(response.get("status_code") or 0)
    message = redact(json.dumps(line.get("error") or response.get("body"))[:300])[:200]
    if status == 429:
        return "rate_limited", f"batch line HTTP 429: {message}"
    if status >= 500 or status == 0:
        return "server_error", f"batch line HTTP {status or 'error'}: {message}"
    return "bad_request", f"batch line HTTP {status}: {message}"


async def _submit(engine: BatchRecorder, client, items: list[_Pending]) -> str:
    lines = "".join(
        json.dumps({"custom_id": item.key, "method": "POST", "url": "/v1/chat/completions", "body": item.body}) + "\n"
        for item in items
    )
    uploaded = await client.files.create(
        file=("batch_input.jsonl", lines.encode(), "application/jsonl"), purpose="batch"
    )
    batch = await client.batches.create(
        input_file_id=uploaded.id,
        endpoint="/v1/chat/completions",
        completion_window=engine.config.batch_completion_window,
        metadata={"stage": engine.config.stage},
    )
    if engine.cache is not None:
        engine.cache.add_batch(batch.id, engine.config.stage, [item.key for item in items])
    engine.count_sent(len(items))
    logger.info("submitted batch job %s with %d requests (stage %s)", batch.id, len(items), engine.config.stage)
    return batch.id


async def _download(client, file_id: str | None) -> list[dict[str, Any]]:
    if not file_id:
        return []
    content = await client.files.content(file_id)
    return [json.loads(line) for line in content.text.splitlines() if line.strip()]


def _collect_line(engine: BatchRecorder, line: dict[str, Any], by_key: dict[str, _Pending]) -> None:
    from star1_hub.teacher.transport import response_payload

    key = line.get("custom_id", "")
    item = by_key.get(key)
    response = line.get("response") or {}
    payload = None
    if response.get("status_code") == 200 and not line.get("error"):
        try:
            payload = response_payload(response.get("body") or {})
        except ValueError as exc:
            error, detail = "server_error", f"batch line malformed: {exc}"
        else:
            engine.accounting.add_usage(payload["usage"], batch=True)
            if item is None:  # a line of a resumed job that this run did not ask for: keep it if it stopped cleanly
                if engine.cache is not None and payload["finish_reason"] == "stop":
                    engine.cache.put_result(key, engine.config.stage, engine.config.model, payload)
                return
            error, detail, parsed, reply = engine.judge(item.request, payload)
            if error is None:
                engine.record(item, payload, parsed, None, None, attempts=1, latency=0.0, reply=reply)
                return
    else:
        error, detail = _line_error(line)
    if item is not None:
        engine.record(item, payload, None, error, detail, attempts=1, latency=0.0)


async def run_batch(engine: BatchRecorder, pending: list[_Pending], progress: LiveProgress) -> None:
    """Resolve `pending` through the Batch API, resuming jobs recorded in the cache (see module docstring)."""
    cfg = engine.config
    by_key = {item.key: item for item in pending}
    jobs: dict[str, list[str]] = {}
    if engine.cache is not None:
        for batch_id, keys in engine.cache.open_batches(cfg.stage).items():
            if any(k in by_key for k in keys):
                jobs[batch_id] = keys
                logger.info("resuming batch job %s (%d requests) instead of resubmitting", batch_id, len(keys))
    covered = {k for keys in jobs.values() for k in keys}
    to_submit = [item for item in pending if item.key not in covered]
    client = engine.make_client()
    try:
        for start in range(0, len(to_submit), MAX_LINES_PER_JOB):
            chunk = to_submit[start : start + MAX_LINES_PER_JOB]
            jobs[await _submit(engine, client, chunk)] = [item.key for item in chunk]
        engine.set_inflight(sum(1 for item in pending if item.result is None))
        while jobs:
            for batch_id in list(jobs):
                batch = await client.batches.retrieve(batch_id)
                if batch.status == "completed" or batch.status in _TERMINAL_FAILED:
                    for line in await _download(client, batch.output_file_id) + await _download(
                        client, getattr(batch, "error_file_id", None)
                    ):
                        _collect_line(engine, line, by_key)
                    if engine.cache is not None:
                        engine.cache.close_batch(
                            batch_id, "collected" if batch.status == "completed" else batch.status
                        )
                    for key in jobs.pop(batch_id):
                        item = by_key.get(key)
                        if item is not None and item.result is None:
                            engine.record(
                                item,
                                None,
                                None,
                                "server_error",
                                f"batch job {batch_id} ended {batch.status} without this request",
                                1,
                                0.0,
                            )
                    engine.set_inflight(sum(1 for item in pending if item.result is None))
                    progress.advance()
            if jobs:
                await asyncio.sleep(cfg.batch_poll_s)
    finally:
        await client.close()
