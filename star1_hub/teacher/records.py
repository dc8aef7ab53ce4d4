"""The engine's data types: requests, results, configuration, and the canonical request key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from star1_hub.errors import UnparseableOutput

if TYPE_CHECKING:
    from star1_hub.teacher.endpoint import EndpointConfig

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
    "auth",
)
# Reasons that say nothing about the request itself (the endpoint was down, busy, or refused the key): they are
# recorded but never served from the cache as final, so a plain re-run sends these requests again.
TRANSIENT_FAILURES = ("rate_limited", "server_error", "timeout", "connection", "auth")


__all__ = ["UnparseableOutput"]  # re-exported: the class lives in star1_hub.errors


@dataclass(frozen=True)
class Reply:
    """A 200 response as a parser sees it.

    Attributes:
        content: `message.content` as returned.
        reasoning: `message.reasoning_content` / `message.reasoning` (the split form), or None.
        text: the canonical text: `<think>\n…\n</think>\n\nanswer` when the reply carries a trace in any
            form, else the content unchanged.
        answer: the part after the trace (the whole content when there is none).
        form: "inline", "prefilled", "split" or "none" (see `star1_hub.think`).
        finish_reason: as returned.
        canonical: the canonical `<think>\n…\n</think>\n\nanswer` whenever the reply carries one well-formed
            trace in any form (for `think` requests and split replies the same as `text`), else the content.
    """

    content: str
    reasoning: str | None
    text: str
    answer: str
    form: str
    finish_reason: str | None = None
    canonical: str = ""


@dataclass
class ChatRequest:
    """One chat-completion request.

    Args:
        messages: OpenAI-style chat messages.
        params: Generation parameters sent with the request (temperature, max_tokens, top_p, seed, ...).
        schema: Optional JSON schema of the expected output (structured output + validation).
        schema_name: Name sent with the schema in `response_format`.
        metadata: Caller data carried to the result's position (e.g. the row id); not part of the cache key.
        think: The reply must carry a closed reasoning trace in one of the three R1 forms; the result's text is
            then the canonical layout, and a reply without a closed trace is `unparseable`.
        parse: Optional per-request parser `Reply -> value` (overrides the run's parser; not part of the key).
            Any exception it raises makes the result `unparseable` with the exception as detail.
    """

    messages: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)
    schema: dict[str, Any] | None = None
    schema_name: str = "output"
    metadata: dict[str, Any] = field(default_factory=dict)
    think: bool = False
    parse: Callable[[Reply], Any] | None = field(default=None, repr=False, compare=False)


@dataclass
class ChatResult:
    """The outcome of one request: a success (`error is None`) or a failure with its reason.

    `text` is the canonical text for `think` requests (and for any reply whose trace came split off), else the
    content as returned; `reasoning` is the separately returned trace (split form) and `form` the form the reply
    arrived in ("inline", "prefilled", "split", "none"; None when there was no 200 answer).
    """

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
    reasoning: str | None = None
    form: str | None = None

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
        api_key: API key for this process only; None reads `$<api_key_env>`, else `$OPENAI_API_KEY`, else
            "EMPTY" (local servers). Never logged, stored or pickled (a pickled config reads the environment).
        api_key_env: Name of the environment variable holding the key.
        params: The endpoint's generation parameters; `run_task` sends them over each task's own params.
        concurrency: Maximum requests in flight.
        rpm: Requests-per-minute limit (token bucket), None for no limit.
        tpm: Tokens-per-minute limit (prompt estimate + max_tokens, corrected by the reported usage), None for none.
        timeout_s: Per-attempt timeout in seconds; None for no total timeout.
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
        max_response_bytes: Largest reply body read; a longer one is stopped there and fails the attempt
            (`server_error`), so a broken gateway cannot exhaust memory.
    """

    base_url: str = "http://127.0.0.1:8000/v1"
    model: str = "smollm2"
    api_key: str | None = field(default=None, repr=False, compare=False)
    concurrency: int = 64
    rpm: float | None = None
    tpm: float | None = None
    timeout_s: float | None = 300.0
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
    api_key_env: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    max_response_bytes: int = 8 * 2**20  # transport.MAX_RESPONSE_BYTES (not imported: records stays light)

    def __post_init__(self) -> None:
        from star1_hub.teacher.redact import register_secret, url_credentials

        if not isinstance(self.base_url, str) or (found := url_credentials(self.base_url)):
            raise ValueError(
                f"EngineConfig.base_url carries credentials ({found}); give the bare endpoint URL and the key "
                "through api_key_env (the URL is written into cache keys, records and cards)"
            )
        register_secret(self.api_key)  # redacted from every detail, log line and cached reply of this process
        if not isinstance(self.max_response_bytes, int) or self.max_response_bytes < 1024:
            raise ValueError(
                f"EngineConfig.max_response_bytes must be an integer ≥ 1024, got {self.max_response_bytes!r}"
            )
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

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["api_key"] = None  # keys are never pickled: the unpickled config reads the environment
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def resolved_api_key(self) -> str:
        """The key to send: the configured one, else `$<api_key_env>`, else `$OPENAI_API_KEY`, else "EMPTY".

        Raises:
            RecipeError: `api_key_env` names a variable that is not set.
        """
        if self.api_key:
            return self.api_key
        from star1_hub.teacher.endpoint import read_api_key

        return read_api_key(self.api_key_env)

    @classmethod
    def from_endpoint(
        cls, endpoint: EndpointConfig, stage: str = "default", cache_dir: Path | str | None = None, **runtime: Any
    ) -> EngineConfig:
        """The engine configuration of one stage on `endpoint` (the one place that maps the fields).

        `runtime` sets the engine-only fields: progress, prices, batch_poll_s, batch_completion_window.
        `endpoint.params` travel along: `run_task` sends them over each task's own params.
        """
        return cls(
            base_url=endpoint.base_url,
            model=endpoint.model,
            api_key_env=endpoint.api_key_env,
            params=dict(endpoint.params),
            concurrency=endpoint.concurrency,
            rpm=endpoint.rpm,
            tpm=endpoint.tpm,
            timeout_s=endpoint.timeout_s,
            max_attempts=endpoint.max_attempts,
            output_retries=endpoint.output_retries,
            backoff_base_s=endpoint.backoff_base_s,
            backoff_max_s=endpoint.backoff_max_s,
            structured_output=endpoint.structured_output,
            batch_api=endpoint.batch_api,
            transport=endpoint.transport,
            retry_failed=endpoint.retry_failed,
            cache_dir=cache_dir,
            stage=stage,
            **runtime,
        )


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


def normalise_base_url(base_url: str) -> str:
    """The endpoint part of a cache key: the base URL without trailing slashes."""
    return base_url.strip().rstrip("/")


def request_key(body: dict[str, Any], schema: dict[str, Any] | None, base_url: str | None = None) -> str:
    """SHA-256 of the canonical JSON of the endpoint (base URL), the body (model, messages, every parameter) and
    the schema: the same body sent to another server (which may call its model by the same name) is a new request.
    """
    identity: dict[str, Any] = {"body": body, "schema": schema}
    if base_url is not None:
        identity["endpoint"] = normalise_base_url(base_url)
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
