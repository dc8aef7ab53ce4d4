"""TeacherEngine: one fast, resumable, fault-tolerant path for every LLM call of a stage.

    engine = TeacherEngine(EngineConfig(base_url=..., model=..., cache_dir=..., stage="classify"))
    results = engine.run([ChatRequest(messages=[...], params={"temperature": 0, "max_tokens": 64})])

`run()` is synchronous and safe to call from a `datasets.map(batched=True)` function (it runs the async core
in a fresh event loop, or in a worker thread when the caller already runs one). Results come back in input
order, one per request, each a success or a failure with its reason — never dropped, never duplicated.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from star1_hub.teacher.accounting import StageAccounting, price_for
from star1_hub.teacher.cache import RequestCache
from star1_hub.teacher.limits import TokenBucket, backoff_delay
from star1_hub.teacher.progress import LiveProgress, LiveStats
from star1_hub.teacher.records import (
    ChatRequest,
    ChatResult,
    EngineConfig,
    UnparseableOutput,
    request_body,
    request_key,
)
from star1_hub.teacher.structured import parse_json_output
from star1_hub.teacher.transport import make_transport

logger = logging.getLogger(__name__)

Parser = Callable[[str], Any]


@dataclasses.dataclass
class _Pending:
    """One unique request still to be sent, and every input position that asked for it."""

    key: str
    request: ChatRequest
    body: dict[str, Any]
    positions: list[int]
    result: ChatResult | None = None


def _estimate_tokens(body: dict[str, Any]) -> float:
    chars = sum(len(str(m.get("content", ""))) for m in body.get("messages", []))
    return chars / 4.0 + float(body.get("max_tokens") or body.get("max_completion_tokens") or 256)


class TeacherEngine:
    """Runs chat requests against an OpenAI-compatible endpoint with cache, limits, retries and accounting.

    Args:
        config: The stage's EngineConfig.
    """

    def __init__(self, config: EngineConfig):
        self.config = config
        self.accounting = StageAccounting(
            stage=config.stage,
            model=config.model,
            prices=price_for(config.model, config.prices),
            batch_api=config.batch_api,
        )
        self._cache: RequestCache | None = None
        self._stats = LiveStats()
        self._writes: list[tuple] = []
        self._flush_scheduled = False

    def __repr__(self) -> str:
        return f"TeacherEngine(stage={self.config.stage!r}, model={self.config.model!r}, base_url={self.config.base_url!r})"

    @property
    def cache(self) -> RequestCache | None:
        """The request cache (opened on first use; None without a cache_dir)."""
        if self._cache is None and self.config.cache_dir is not None:
            self._cache = RequestCache(self.config.cache_dir)
        return self._cache

    def close(self) -> None:
        """Close the cache connection (it reopens on the next run)."""
        if self._cache is not None:
            self._cache.close()
            self._cache = None

    def __getstate__(self) -> dict[str, Any]:
        # Picklable for datasets.map (fingerprinting, num_proc > 1): the sqlite connection is reopened lazily in
        # each process. Accounting then counts per process.
        return {"config": self.config, "accounting": self.accounting}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.config, self.accounting = state["config"], state["accounting"]
        self._cache, self._stats = None, LiveStats()
        self._writes, self._flush_scheduled = [], False

    # --- public entry points ---------------------------------------------------------------------------------

    def run(self, requests: Iterable[ChatRequest], parser: Parser | None = None) -> list[ChatResult]:
        """Run requests and return one result per request, in input order (synchronous).

        Args:
            requests: The chat requests.
            parser: Optional `Callable[[str], Any]` turning a response text into `ChatResult.parsed`; it raises
                `UnparseableOutput` for bad text (the result then fails with reason "unparseable").

        Returns:
            A list of ChatResult, aligned with `requests`.
        """
        coroutine = self.arun(requests, parser)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coroutine)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="teacher-engine") as pool:
            return pool.submit(asyncio.run, coroutine).result()

    async def arun(self, requests: Iterable[ChatRequest], parser: Parser | None = None) -> list[ChatResult]:
        """Async version of `run()`."""
        started = time.perf_counter()
        cfg, acc = self.config, self.accounting
        requests = list(requests)
        results: list[ChatResult | None] = [None] * len(requests)
        unique: dict[str, _Pending] = {}
        for position, request in enumerate(requests):
            body, key = self._prepare(position, request)
            if key in unique:
                unique[key].positions.append(position)
            else:
                unique[key] = _Pending(key, request, body, [position])
        acc.requests += len(requests)

        pending = self._resolve_from_cache(unique, parser)
        if pending:
            self._stats = LiveStats(total=len(pending))
            try:
                with LiveProgress(self._stats, f"{cfg.stage}", cfg.progress) as progress:
                    if cfg.batch_api:
                        from star1_hub.teacher.batch import run_batch

                        await run_batch(self, pending, parser, progress)
                    else:
                        await self._run_live(pending, parser, progress)
            finally:
                self._flush_writes()  # whatever finished is committed, even if the run is interrupted

        for item in unique.values():
            result = item.result
            for n, position in enumerate(item.positions):
                results[position] = result if n == 0 else dataclasses.replace(result)
            if result.error is None:
                acc.succeeded += len(item.positions)
            else:
                acc.failed_by_reason[result.error] += len(item.positions)
        acc.wall_s += time.perf_counter() - started
        return results  # type: ignore[return-value]

    def _prepare(self, position: int, request: ChatRequest) -> tuple[dict[str, Any], str]:
        if not isinstance(request, ChatRequest):
            raise TypeError(f"request {position} is a {type(request).__name__}; wrap it in ChatRequest(messages=...)")
        if not request.messages or not all(isinstance(m, dict) and "role" in m for m in request.messages):
            raise ValueError(
                f"request {position} (metadata {request.metadata}) needs a non-empty list of "
                f'{{"role": ..., "content": ...}} messages, got {request.messages!r:.200}'
            )
        body = request_body(request, self.config.model, self.config.structured_output)
        try:
            return body, request_key(body, request.schema)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"request {position} (metadata {request.metadata}) is not JSON-serialisable ({exc}); "
                "messages, params and schema must be plain JSON values"
            ) from None

    # --- cache -----------------------------------------------------------------------------------------------

    def _resolve_from_cache(self, unique: dict[str, _Pending], parser: Parser | None) -> list[_Pending]:
        if self.cache is None:
            return list(unique.values())
        keys = list(unique)
        hits = self.cache.get_results(keys)
        missing = [k for k in keys if k not in hits]
        failures = self.cache.get_failures(missing) if missing and not self.config.retry_failed else {}
        pending = []
        for key, item in unique.items():
            if key in hits:
                error, detail, parsed = self.evaluate(item.request, hits[key], parser)
                item.result = self._result(key, hits[key], parsed, error, detail, attempts=0, latency=0.0, cached=True)
            elif key in failures and self._parses_now(item, failures[key], parser):
                pass  # an earlier unparseable answer satisfies the current parser: served without re-sending
            elif key in failures:
                failure = failures[key]
                item.result = self._result(
                    key,
                    failure["response"] or {},
                    None,
                    failure["reason"],
                    failure["detail"],
                    attempts=failure["attempts"] or 0,
                    latency=0.0,
                    cached=True,
                )
            else:
                pending.append(item)
                continue
            self.accounting.cached_hits += len(item.positions)
        return pending

    def _parses_now(self, item: _Pending, failure: dict[str, Any], parser: Parser | None) -> bool:
        response = failure["response"]
        if failure["reason"] != "unparseable" or not response or response.get("finish_reason") == "length":
            return False
        error, _, parsed = self.evaluate(item.request, response, parser)
        if error is not None:
            return False
        self.cache.put_result(item.key, self.config.stage, self.config.model, response)
        item.result = self._result(item.key, response, parsed, None, None, attempts=0, latency=0.0, cached=True)
        return True

    def _result(
        self,
        key: str,
        payload: dict[str, Any],
        parsed: Any,
        error: str | None,
        detail: str | None,
        attempts: int,
        latency: float,
        cached: bool,
    ) -> ChatResult:
        return ChatResult(
            text=payload.get("text"),
            parsed=parsed,
            finish_reason=payload.get("finish_reason"),
            usage=dict(payload.get("usage") or {}),
            latency_s=latency,
            attempts=attempts,
            error=error,
            cached=cached,
            error_detail=detail,
            key=key,
        )

    def evaluate(
        self, request: ChatRequest, payload: dict[str, Any], parser: Parser | None
    ) -> tuple[str | None, str | None, Any]:
        """Judge a response payload: (error reason or None, detail, parsed value)."""
        finish_reason = payload.get("finish_reason")
        if finish_reason == "length":
            return "length", "output truncated at the token limit (finish_reason=length)", None
        if finish_reason == "content_filter":
            return "content_filter", "the provider's content filter stopped the output", None
        text = payload.get("text")
        parsed = None
        try:
            if request.schema is not None:
                parsed = parse_json_output(text, request.schema, allow_fence=not self.config.structured_output)
            if parser is not None:
                parsed = parser(text or "")
        except UnparseableOutput as exc:
            return "unparseable", str(exc), None
        return None, None, parsed

    def _flush_writes(self) -> None:
        self._flush_scheduled = False
        writes, self._writes = self._writes, []
        if writes and self.cache is not None:
            self.cache.put_outcomes(writes, self.config.stage, self.config.model, self.config.retry_failed)

    def record(
        self,
        item: _Pending,
        payload: dict[str, Any] | None,
        parsed: Any,
        error: str | None,
        detail: str | None,
        attempts: int,
        latency: float,
    ) -> None:
        """Store the final outcome of a sent request in the item and in the cache.

        The cache write is committed in the same event-loop iteration (group commit): every outcome that
        completes in one iteration shares one transaction, so a kill -9 still loses only requests in flight.
        """
        item.result = self._result(item.key, payload or {}, parsed, error, detail, attempts, latency, cached=False)
        if self.cache is not None:
            self._writes.append((item.key, payload, error, detail, attempts))
            if not self._flush_scheduled:
                self._flush_scheduled = True
                asyncio.get_running_loop().call_soon(self._flush_writes)
        if error is None:
            self._stats.done += 1
        else:
            self._stats.failed += 1

    # --- live requests ---------------------------------------------------------------------------------------

    def make_client(self):
        """An `openai.AsyncOpenAI` for the configured endpoint (used for chat, files and batches)."""
        from star1_hub.teacher.transport import make_openai_client

        return make_openai_client(self.config)

    async def _run_live(self, pending: list[_Pending], parser: Parser | None, progress: LiveProgress) -> None:
        cfg = self.config
        rpm = TokenBucket(cfg.rpm) if cfg.rpm else None
        tpm = TokenBucket(cfg.tpm, capacity=max(cfg.tpm / 10.0, 1.0)) if cfg.tpm else None  # 6 s of tokens
        queue = deque(pending)
        transport = make_transport(cfg)

        async def worker() -> None:
            while queue:
                item = queue.popleft()
                await self._send(transport, item, parser, rpm, tpm)
                progress.advance()

        try:
            await asyncio.gather(*(worker() for _ in range(min(cfg.concurrency, len(pending)))))
        finally:
            await transport.close()

    async def _send(
        self, transport, item: _Pending, parser: Parser | None, rpm: TokenBucket | None, tpm: TokenBucket | None
    ) -> None:
        cfg, acc, stats = self.config, self.accounting, self._stats
        started = time.perf_counter()
        attempts = output_failures = 0
        payload: dict[str, Any] | None = None
        error = detail = None
        while attempts < cfg.max_attempts:
            attempts += 1
            if rpm is not None:
                await rpm.acquire()
            charged = await tpm.acquire(_estimate_tokens(item.body)) if tpm is not None else 0.0
            acc.requests_sent += 1
            stats.sent += 1
            stats.inflight += 1
            try:
                payload, error, detail, retryable, retry_after = await transport.send(item.body)
            finally:
                stats.inflight -= 1
            if payload is not None:
                acc.add_usage(payload["usage"])
                if tpm is not None:
                    tpm.adjust(charged - payload["usage"]["prompt_tokens"] - payload["usage"]["completion_tokens"])
                error, detail, parsed = self.evaluate(item.request, payload, parser)
                if error is None:
                    acc.retries += attempts - 1
                    self.record(item, payload, parsed, None, None, attempts, time.perf_counter() - started)
                    return
                output_failures += 1
                if output_failures > cfg.output_retries:
                    break
                continue  # the output itself failed: resample at once, no back-off
            if not retryable or attempts >= cfg.max_attempts:
                break
            await asyncio.sleep(backoff_delay(attempts, cfg.backoff_base_s, cfg.backoff_max_s, retry_after))
        acc.retries += attempts - 1
        logger.debug("request %s failed after %d attempts: %s (%s)", item.key[:12], attempts, error, detail)
        self.record(item, payload, None, error, detail, attempts, time.perf_counter() - started)


def results_to_json(results: list[ChatResult]) -> str:
    """Serialise results (e.g. for a subprocess test or a debug dump)."""
    return json.dumps([dataclasses.asdict(r) for r in results])
