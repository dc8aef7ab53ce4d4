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
import logging
import time
from collections import deque
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from star1_hub.interrupt import kept_on_interrupt
from star1_hub.teacher.accounting import StageAccounting, price_for
from star1_hub.teacher.cache import CacheWriter, RequestCache
from star1_hub.teacher.endpoint import EngineConfig
from star1_hub.teacher.limits import TokenBucket, backoff_delay
from star1_hub.teacher.progress import LiveProgress, LiveStats
from star1_hub.teacher.records import (
    ChatRequest,
    ChatResult,
    Reply,
    UnparseableOutput,
    request_body,
    request_key,
)
from star1_hub.teacher.redact import install_log_redaction, redact, register_key_env
from star1_hub.teacher.transport import make_transport
from star1_hub.think import answer_part, check_size, detect_form, normalise_reasoning

logger = logging.getLogger(__name__)

_DETAIL_CHARS = 500
_REFUSED_FINISH = {  # finish reasons that fail a reply unless its request accepts them (detail kept)
    "length": "output truncated at the token limit (finish_reason=length)",
    "content_filter": "the provider's content filter stopped the output",
}


def make_reply(payload: dict[str, Any], think: bool = False) -> Reply:
    """The parser's view of a response payload (see `Reply`).

    With `think` the reply must carry a closed trace in one of the three R1 forms (`UnparseableOutput`
    otherwise); without it a reply that is not a well-formed trace keeps its content as text (form "none").
    """
    content = payload.get("text") or ""
    reasoning = payload.get("reasoning") or None
    if think:
        text, form = normalise_reasoning(content, reasoning, require_think=True)
    else:
        check_size(content)
        try:
            canonical, form = normalise_reasoning(content, reasoning, require_think=False)
        except UnparseableOutput:
            canonical, form = content, "none"
        # free text keeps the content as returned (a split trace is joined in); `answer` still skips the trace
        text = content if form in ("inline", "prefilled") else canonical
        return Reply(content, reasoning, text, answer_part(text), form, payload.get("finish_reason"), canonical)
    return Reply(content, reasoning, text, answer_part(text), form, payload.get("finish_reason"), text)


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
        register_key_env(config.api_key_env)  # its value is redacted from every detail, reply and log line
        install_log_redaction()  # every log record of the process (ours and the HTTP libraries') is redacted
        self.accounting = StageAccounting(
            stage=config.stage,
            model=config.model,
            prices=price_for(config.model, config.prices),
            batch_api=config.batch_api,
        )
        self._cache: RequestCache | None = None
        self._stats = LiveStats()
        self._writer: CacheWriter | None = None

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
        self._cache, self._stats, self._writer = None, LiveStats(), None

    # --- public entry points ---------------------------------------------------------------------------------

    def run(self, requests: Iterable[ChatRequest]) -> list[ChatResult]:
        """Run requests and return one result per request, in input order (synchronous).

        Each request reads its own reply: its `parse` (an `LLMTask` builds one from its response model and parse)
        gives `ChatResult.parsed`, and anything it raises fails that request as "unparseable". A request without
        `parse` keeps the reply's text only.

        Args:
            requests: The chat requests.

        Returns:
            A list of ChatResult, aligned with `requests`.
        """
        coroutine = self.arun(requests)
        cache_dir = self.config.cache_dir
        kept = (
            f"finished requests are in the cache {cache_dir}; re-run the same command to resume" if cache_dir else None
        )
        with kept_on_interrupt(kept):
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return asyncio.run(coroutine)
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="teacher-engine") as pool:
                return pool.submit(asyncio.run, coroutine).result()

    async def arun(self, requests: Iterable[ChatRequest]) -> list[ChatResult]:
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

        pending = self._resolve_from_cache(unique)
        # The bar counts rows as a stage summary does, over every run() of this engine (a stage maps its rows in
        # batches through one engine): cached outcomes are finished from the start.
        self._stats.total += len(requests)
        for item in unique.values():
            if item.result is not None:
                self._stats.cached += len(item.positions)
                self._stats.finish(item.result.error, item.result.finish_reason, len(item.positions))
        if pending:
            if cfg.cache_dir is not None:
                self._writer = CacheWriter(cfg.cache_dir, cfg.stage, cfg.model, cfg.retry_failed)
            try:
                with LiveProgress(self._stats, f"{cfg.stage}", cfg.progress) as progress:
                    if cfg.batch_api:
                        from star1_hub.teacher.batch import run_batch

                        await run_batch(self, pending, progress)
                    else:
                        await self._run_live(pending, progress)
            finally:
                if self._writer is not None:  # whatever finished is committed, even if the run is interrupted
                    writer, self._writer = self._writer, None
                    try:
                        await asyncio.to_thread(writer.close)
                    except BaseException:
                        writer.close()  # interrupted while waiting: finish (or save) the writes here
                        raise
            for item in pending:
                if item.result is None:  # defensive: every request gets an outcome, never a hole
                    item.result = self._result(
                        item.key, {}, None, "server_error", "the request was not answered", 0, 0.0, False
                    )

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
            return body, request_key(body, request.schema, self.config.base_url)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"request {position} (metadata {request.metadata}) is not JSON-serialisable ({exc}); "
                "messages, params and schema must be plain JSON values"
            ) from None

    # --- cache -----------------------------------------------------------------------------------------------

    def _resolve_from_cache(self, unique: dict[str, _Pending]) -> list[_Pending]:
        if self.cache is None:
            return list(unique.values())
        keys = list(unique)
        hits = self.cache.get_results(keys)
        missing = [k for k in keys if k not in hits]
        failures = self.cache.get_failures(missing) if missing and not self.config.retry_failed else {}
        pending = []
        for key, item in unique.items():
            if key in hits:
                error, detail, parsed, reply = self.judge(item.request, hits[key])
                item.result = self._result(
                    key, hits[key], parsed, error, detail, attempts=0, latency=0.0, cached=True, reply=reply
                )
            elif key in failures and self._parses_now(item, failures[key]):
                pass  # an earlier refused answer is a result for this request now: served without re-sending
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

    def _parses_now(self, item: _Pending, failure: dict[str, Any]) -> bool:
        """True (and the item resolved, the answer moved to the results) when a recorded failure is a result for
        this request: an unparseable answer its parse reads now, or an answer refused for a finish reason the
        request accepts (e.g. a truncated output cached by a run that refused it, read by one that keeps it)."""
        response, reason = failure["response"], failure["reason"]
        if not response or (reason != "unparseable" and reason not in item.request.accept_finish):
            return False
        error, _, parsed, reply = self.judge(item.request, response)
        if error is not None:
            return False
        self.cache.put_result(item.key, self.config.stage, self.config.model, response)
        item.result = self._result(
            item.key, response, parsed, None, None, attempts=0, latency=0.0, cached=True, reply=reply
        )
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
        reply: Reply | None = None,
    ) -> ChatResult:
        text, form = payload.get("text"), None
        if reply is not None:
            text, form = reply.text, reply.form
        elif payload.get("text") is not None or payload.get("reasoning"):
            form = detect_form(payload.get("text"), payload.get("reasoning"))
        return ChatResult(
            text=text,
            parsed=parsed,
            finish_reason=payload.get("finish_reason"),
            usage=dict(payload.get("usage") or {}) if isinstance(payload.get("usage"), dict) else {},
            latency_s=latency,
            attempts=attempts,
            error=error,
            cached=cached,
            error_detail=detail,
            key=key,
            reasoning=payload.get("reasoning"),
            form=form,
        )

    def judge(self, request: ChatRequest, payload: dict[str, Any]) -> tuple[str | None, str | None, Any, Reply | None]:
        """Judge a response payload: (error reason or None, detail, parsed value, the Reply parsers saw).

        A reply that stopped at the token limit (`length`) or at the provider's content filter fails unless the
        request accepts that finish reason (`ChatRequest.accept_finish`, e.g. evaluation keeps a truncated output).
        The parsed value is `request.parse(reply)` (None for a request without `parse`). Any exception raised
        while reading or parsing the reply (a parser's `UnparseableOutput`, but also a
        `RecursionError` on deeply nested JSON, a pydantic `ValidationError`, a `TypeError`) makes this one
        result `unparseable` with the exception as detail; it never escapes into the run.
        """
        finish_reason = payload.get("finish_reason")
        if finish_reason in _REFUSED_FINISH and finish_reason not in request.accept_finish:
            return finish_reason, _REFUSED_FINISH[finish_reason], None, None
        try:
            reply = make_reply(payload, think=request.think)
            parsed = request.parse(reply) if request.parse is not None else None
        except UnparseableOutput as exc:
            return "unparseable", str(exc)[:_DETAIL_CHARS], None, None
        except Exception as exc:  # noqa: BLE001 - row-level isolation: a parser bug fails this row only
            return "unparseable", f"{type(exc).__name__}: {str(exc)[:_DETAIL_CHARS]}", None, None
        return None, None, parsed, reply

    def record(
        self,
        item: _Pending,
        payload: dict[str, Any] | None,
        parsed: Any,
        error: str | None,
        detail: str | None,
        attempts: int,
        latency: float,
        reply: Reply | None = None,
    ) -> None:
        """Store the final outcome of a sent request in the item and queue it for the cache.

        The cache writer thread commits queued outcomes at once (off the event loop), so a kill -9 loses the
        requests in flight and the outcomes queued since the writer's last commit. Error details are redacted
        (keys, key-shaped tokens) before they are kept anywhere.
        """
        detail = redact(detail, self.config.api_key) if detail else detail
        item.result = self._result(
            item.key, payload or {}, parsed, error, detail, attempts, latency, cached=False, reply=reply
        )
        if self._writer is not None:
            self._writer.submit([(item.key, payload, error, detail, attempts)])
        elif self.cache is not None:  # outside a run (e.g. a resumed batch line): write directly
            self.cache.put_outcomes(
                [(item.key, payload, error, detail, attempts)], self.config.stage, self.config.model, False
            )
        self._stats.finish(error, (payload or {}).get("finish_reason"), len(item.positions))

    # --- the recorder interface used by the Batch API mode ----------------------------------------------------

    def count_sent(self, n: int) -> None:
        """Count `n` requests (or batch lines) sent."""
        self.accounting.requests_sent += n
        self._stats.sent += n

    def set_inflight(self, n: int) -> None:
        """Set how many requests are in flight (for the progress bar)."""
        self._stats.inflight = n

    # --- live requests ---------------------------------------------------------------------------------------

    def make_client(self):
        """An `openai.AsyncOpenAI` for the configured endpoint (used for chat, files and batches)."""
        from star1_hub.teacher.transport import make_openai_client

        return make_openai_client(self.config)

    async def _run_live(self, pending: list[_Pending], progress: LiveProgress) -> None:
        cfg = self.config
        rpm = TokenBucket(cfg.rpm) if cfg.rpm else None
        tpm = TokenBucket(cfg.tpm, capacity=max(cfg.tpm / 10.0, 1.0)) if cfg.tpm else None  # 6 s of tokens
        queue = deque(pending)
        transport = make_transport(cfg)

        async def worker() -> None:
            while queue:
                item = queue.popleft()
                try:
                    await self._send(transport, item, rpm, tpm)
                except Exception as exc:  # noqa: BLE001 - row-level isolation: one bad response fails one row
                    detail = f"unexpected {type(exc).__name__} while handling the response: {exc}"[:_DETAIL_CHARS]
                    logger.warning("request %s: %s", item.key[:12], redact(detail, cfg.api_key))
                    if item.result is None:
                        self.record(item, None, None, "server_error", detail, 1, 0.0)
                progress.advance()

        try:
            outcomes = await asyncio.gather(
                *(worker() for _ in range(min(cfg.concurrency, len(pending)))), return_exceptions=True
            )
            for outcome in outcomes:
                if isinstance(outcome, BaseException) and not isinstance(outcome, Exception):
                    raise outcome  # KeyboardInterrupt / cancellation: stop the run (the cache keeps what finished)
        finally:
            await transport.close()

    async def _send(self, transport, item: _Pending, rpm: TokenBucket | None, tpm: TokenBucket | None) -> None:
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
                error, detail, parsed, reply = self.judge(item.request, payload)
                if error is None:
                    acc.retries += attempts - 1
                    self.record(item, payload, parsed, None, None, attempts, time.perf_counter() - started, reply)
                    return
                output_failures += 1
                if output_failures > cfg.output_retries:
                    break
                continue  # the output itself failed: resample at once, no back-off
            if not retryable or attempts >= cfg.max_attempts:
                break
            await asyncio.sleep(backoff_delay(attempts, cfg.backoff_base_s, cfg.backoff_max_s, retry_after))
        acc.retries += attempts - 1
        detail = redact(detail, cfg.api_key) if detail else detail
        logger.debug("request %s failed after %d attempts: %s (%s)", item.key[:12], attempts, error, detail)
        self.record(item, payload, None, error, detail, attempts, time.perf_counter() - started)
