"""The engine's data types: requests, results, and the canonical request key (its configuration, `EngineConfig`,
is an `EndpointConfig` plus run settings: star1_hub.teacher.endpoint)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from star1_hub.errors import UnparseableOutput

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
        schema: Optional JSON schema of the expected output, sent as structured output (an `LLMTask` derives it
            from its response model, which its `parse` validates with).
        schema_name: Name sent with the schema in `response_format`.
        metadata: Caller data carried to the result's position (e.g. the row id); not part of the cache key.
        think: The reply must carry a closed reasoning trace in one of the three R1 forms; the result's text is
            then the canonical layout, and a reply without a closed trace is `unparseable`.
        parse: Optional parser `Reply -> value` giving `ChatResult.parsed` (not part of the key); the one way a
            reply is read (an `LLMTask` builds it). Without it the result keeps the reply's text only.
            Any exception it raises makes the result `unparseable` with the exception as detail.
        accept_finish: Finish reasons whose reply is a result (not part of the key). The engine fails a reply
            cut at the token limit (`length`) or by the provider's content filter (`content_filter`) unless its
            reason is listed; evaluation lists `length` (a truncated output is scored and counted as truncated).
    """

    messages: list[dict[str, Any]]
    params: dict[str, Any] = field(default_factory=dict)
    schema: dict[str, Any] | None = None
    schema_name: str = "output"
    metadata: dict[str, Any] = field(default_factory=dict)
    think: bool = False
    parse: Callable[[Reply], Any] | None = field(default=None, repr=False, compare=False)
    accept_finish: tuple[str, ...] = ("stop",)


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
