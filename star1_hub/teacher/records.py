"""The engine's data types: requests, results, configuration, and the canonical request key."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Failure reasons a ChatResult.error can carry.
FAILURE_REASONS = (
    "length",
    "content_filter",
    "unparseable",
    "rate_limited",
    "server_error",
    "timeout",
    "connection",
    "bad_request",
)
# Reasons that come from the model's output (a 200 answer), retried `EngineConfig.output_retries` times.
OUTPUT_FAILURES = ("length", "content_filter", "unparseable")


class UnparseableOutput(ValueError):
    """Raised by a parser when the model's text cannot be turned into the expected object.

    The engine turns it into a failed result with `error == "unparseable"` (and retries it
    `EngineConfig.output_retries` times); the message is kept in `ChatResult.error_detail`.
    """


@dataclass
class ChatRequest:
    """One chat-completion request.

    Args:
        messages: OpenAI-style chat messages.
        params: Generation parameters sent with the request (temperature, max_tokens, top_p, seed, ...).
        schema: Optional JSON schema of the expected output (structured output + validation).
        schema_name: Name sent with the schema in `response_format`.
        metadata: Caller data carried to the result's position (e.g. the row id); not part of the cache key.
    """

    messages: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)
    schema: dict[str, Any] | None = None
    schema_name: str = "output"
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class ChatResult:
    """The outcome of one request: a success (`error is None`) or a failure with its reason."""

    text: str | None = None
    parsed: Any = None
    finish_reason: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    latency_s: float = 0.0
    attempts: int = 0
    error: str | None = None
    cached: bool = False
    error_detail: str | None = None
    key: str = ""

    @property
    def ok(self) -> bool:
        """True when the request succeeded."""
        return self.error is None


@dataclass
class EngineConfig:
    """Configuration of a TeacherEngine (one stage).

    Args:
        base_url: OpenAI-compatible endpoint, e.g. `http://127.0.0.1:8000/v1` or `https://api.openai.com/v1`.
        model: Model name sent with every request (part of the cache key).
        api_key: API key; None reads `$OPENAI_API_KEY` (or "EMPTY" for local servers). Never logged or stored.
        concurrency: Maximum requests in flight.
        rpm: Requests-per-minute limit (token bucket), None for no limit.
        tpm: Tokens-per-minute limit (prompt estimate + max_tokens, corrected by the reported usage), None for none.
        timeout_s: Per-request timeout.
        max_attempts: Attempts per request, retries included.
        cache_dir: Directory of the sqlite request cache (`teacher_cache.sqlite`), None to disable caching.
        stage: Stage name for accounting and for the batch-job table.
        retry_failed: Re-send requests whose failure is recorded in the cache (otherwise they are returned as failed).
        structured_output: Send `response_format=json_schema` when a request has a schema.
        batch_api: Use the provider's Batch API (`/v1/files` + `/v1/batches`) instead of live requests.
        prices: Price overrides `{model: (usd_per_1M_prompt_tokens, usd_per_1M_completion_tokens)}`.
        output_retries: Extra attempts for `length`, `content_filter` and `unparseable` outputs.
        backoff_base_s: First back-off delay (doubles per attempt, full jitter).
        backoff_max_s: Longest back-off or Retry-After wait honoured.
        progress: Show a live progress bar.
        batch_poll_s: Seconds between Batch API status polls.
        batch_completion_window: `completion_window` of created batch jobs.
        transport: "openai" (`openai.AsyncOpenAI`, default) or "aiohttp" (a lean session posting the same
            request; about 4x less CPU per request, for high-rate local servers). See `star1_hub.teacher.transport`.
    """

    base_url: str = "http://127.0.0.1:8000/v1"
    model: str = "smollm2"
    api_key: str | None = field(default=None, repr=False)
    concurrency: int = 64
    rpm: float | None = None
    tpm: float | None = None
    timeout_s: float = 300.0
    max_attempts: int = 5
    cache_dir: Path | str | None = None
    stage: str = "default"
    retry_failed: bool = False
    structured_output: bool = True
    batch_api: bool = False
    prices: dict[str, tuple[float, float]] | None = None
    output_retries: int = 1
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    progress: bool = True
    batch_poll_s: float = 10.0
    batch_completion_window: str = "24h"
    transport: str = "openai"

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError(f"EngineConfig.concurrency must be ≥ 1, got {self.concurrency}")
        if self.max_attempts < 1:
            raise ValueError(f"EngineConfig.max_attempts must be ≥ 1, got {self.max_attempts}")
        if self.transport not in ("openai", "aiohttp"):
            raise ValueError(f"EngineConfig.transport must be 'openai' or 'aiohttp', got {self.transport!r}")
        for name in ("rpm", "tpm"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"EngineConfig.{name} must be positive or None, got {value}")
        if self.cache_dir is not None:
            self.cache_dir = Path(self.cache_dir)

    def resolved_api_key(self) -> str:
        """The key to send: the configured one, else `$OPENAI_API_KEY`, else "EMPTY" (local servers)."""
        return self.api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"


def response_format(request: ChatRequest) -> dict[str, Any]:
    """The OpenAI `response_format` for a request's JSON schema."""
    return {
        "type": "json_schema",
        "json_schema": {"name": request.schema_name, "schema": request.schema, "strict": True},
    }


def request_body(request: ChatRequest, model: str, structured_output: bool) -> dict[str, Any]:
    """The chat-completions body sent for a request."""
    body: dict[str, Any] = {"model": model, "messages": request.messages, **request.params}
    if request.schema is not None and structured_output:
        body["response_format"] = response_format(request)
    return body


def request_key(body: dict[str, Any], schema: dict[str, Any] | None) -> str:
    """SHA-256 of the canonical JSON of the body (model, messages, every parameter) and the schema."""
    canonical = json.dumps({"body": body, "schema": schema}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
