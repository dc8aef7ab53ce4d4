"""How one chat-completion attempt reaches the endpoint, and how its outcome is classified.

Two transports share one contract — `await transport.send(body)` returns
`(payload | None, error | None, detail | None, retryable, retry_after_s | None)`:

- `openai` (default): `openai.AsyncOpenAI` (the SDK's aiohttp transport when available), for any provider.
- `aiohttp`: a lean aiohttp session that posts the same JSON with the same `Authorization: Bearer` header to
  `{base_url}/chat/completions`. The SDK spends about 1 ms of CPU per request building and parsing; this path
  about a quarter of that, which matters on small machines driving a local vLLM at hundreds of requests/s.

Errors are classified identically: 429 → rate_limited (Retry-After honoured), 5xx/408/409 and malformed bodies →
server_error, 401/403 → auth (not retried in the run, re-sent by the next run), other 4xx → bad_request (not
retried), timeouts → timeout, refused/reset connections → connection. Error details are redacted (keys and
key-shaped tokens removed) before they leave the transport; a body that is not a chat completion (garbage,
non-JSON, no choices, non-string content) is a server_error of that one attempt, never an exception.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from star1_hub.teacher.limits import parse_retry_after
from star1_hub.teacher.records import EngineConfig
from star1_hub.teacher.redact import redact

logger = logging.getLogger(__name__)

TRANSPORTS = ("openai", "aiohttp")
Outcome = tuple[dict[str, Any] | None, str | None, str | None, bool, float | None]


def _token_count(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError, OverflowError):
        return 0


def response_payload(data: Any) -> dict[str, Any]:
    """The part of a chat-completion response the cache keeps: text, reasoning, finish_reason, usage.

    `reasoning` is the trace a server returned separately (`message.reasoning_content`, as the DeepSeek API and
    vLLM/SGLang with a reasoning parser send it, or `message.reasoning` on newer vLLM and some gateways), None
    when there is none. Unreadable usage counts as 0 tokens rather than failing the answer.

    Raises:
        ValueError: The body is not a chat completion (no choices, no message, non-string content).
    """
    try:
        choice = data["choices"][0]
        message = choice["message"]
        text = message.get("content")
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        finish_reason = choice.get("finish_reason")
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise ValueError(f"response is not a chat completion ({type(exc).__name__}: {exc})") from None
    if text is not None and not isinstance(text, str):
        raise ValueError(f"response is not a chat completion (content is a {type(text).__name__})")
    if reasoning is not None and not isinstance(reasoning, str):
        reasoning = None
    if finish_reason is not None and not isinstance(finish_reason, str):
        finish_reason = str(finish_reason)
    usage = data.get("usage") if isinstance(data, dict) else None
    if not isinstance(usage, dict):
        usage = {}
    payload = {
        "text": text,
        "finish_reason": finish_reason,
        "usage": {k: _token_count(usage.get(k)) for k in ("prompt_tokens", "completion_tokens")},
    }
    if reasoning:
        payload["reasoning"] = reasoning
    return payload


def _status_outcome(status: int, message: str, headers) -> Outcome:
    message = redact(message) or ""
    if status == 429:
        return None, "rate_limited", f"HTTP 429: {message[:200]}", True, parse_retry_after(headers)
    if status in (401, 403):
        return (
            None,
            "auth",
            f"HTTP {status}: {message[:200]} (check the API key in the variable named by api_key_env)",
            False,
            None,
        )
    retryable = status >= 500 or status in (408, 409)
    retry_after = parse_retry_after(headers) if retryable else None
    return (
        None,
        "server_error" if retryable else "bad_request",
        f"HTTP {status}: {message[:200]}",
        retryable,
        retry_after,
    )


def _short(exc: BaseException) -> str:
    return redact(str(exc)[:300])[:200]


def make_openai_client(config: EngineConfig):
    """An `openai.AsyncOpenAI` for the endpoint, SDK retries off (the engine retries with its own back-off)."""
    import openai

    for name in ("httpx2", "httpx"):  # one INFO line per request would drown the progress bar
        if logging.getLogger(name).level == logging.NOTSET:
            logging.getLogger(name).setLevel(logging.WARNING)
    try:
        import httpx2 as httpx_module  # the HTTP library of openai ≥ 3
    except ImportError:  # pragma: no cover - older SDKs
        import httpx as httpx_module

    limits = httpx_module.Limits(
        max_connections=config.concurrency + 8, max_keepalive_connections=config.concurrency + 8
    )
    timeout = config.timeout_s + 5.0 if config.timeout_s is not None else None  # ours (asyncio.timeout) fires first
    try:
        http_client = openai.DefaultAioHttpClient(limits=limits, timeout=timeout)
    except (RuntimeError, AttributeError):
        http_client = openai.DefaultAsyncHttpxClient(limits=limits, timeout=timeout)
    return openai.AsyncOpenAI(
        base_url=config.base_url,
        api_key=config.resolved_api_key(),
        max_retries=0,
        timeout=timeout,
        http_client=http_client,
    )


class OpenAITransport:
    """Chat completions through `openai.AsyncOpenAI` (low-level `post`, so the body is sent as given)."""

    def __init__(self, config: EngineConfig):
        self.timeout_s = config.timeout_s
        self.client = make_openai_client(config)

    async def send(self, body: dict[str, Any]) -> Outcome:
        """One attempt; see the module docstring for the outcome tuple."""
        import openai

        started = time.monotonic()
        try:
            async with asyncio.timeout(self.timeout_s):
                data = await self.client.post("/chat/completions", body=body, cast_to=dict)
            return response_payload(data), None, None, False, None
        except TimeoutError:
            return None, "timeout", f"no answer within {self.timeout_s:g} s", True, None
        except openai.APITimeoutError as exc:
            # The SDK's timeout is set past ours, so an early one is a failed connect (the aiohttp transport
            # reports a refused connection as ConnectTimeout).
            if self.timeout_s is None or time.monotonic() - started < self.timeout_s:
                return None, "connection", f"cannot connect: {_short(exc.__cause__ or exc)}", True, None
            return None, "timeout", f"no answer within {self.timeout_s:g} s", True, None
        except openai.APIStatusError as exc:
            return _status_outcome(exc.status_code, str(exc.message), exc.response.headers)
        except openai.APIConnectionError as exc:
            return None, "connection", f"{type(exc).__name__}: {_short(exc)}", True, None
        except (ValueError, TypeError, openai.APIResponseValidationError) as exc:  # not JSON / not a completion
            return None, "server_error", f"malformed response: {_short(exc)}", True, None
        except openai.APIError as exc:  # any other SDK-level error: treat as a transient server fault
            return None, "server_error", f"{type(exc).__name__}: {_short(exc)}", True, None

    async def close(self) -> None:
        """Close the client's connections."""
        await self.client.close()


class AiohttpTransport:
    """Chat completions posted with a bare aiohttp session (same URL, headers and body as the SDK)."""

    def __init__(self, config: EngineConfig):
        import aiohttp

        self.timeout_s = config.timeout_s
        self.url = config.base_url.rstrip("/") + "/chat/completions"
        self.headers = {
            "Authorization": f"Bearer {config.resolved_api_key()}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "star1-hub-teacher",
        }
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=config.concurrency + 8), raise_for_status=False
        )

    async def send(self, body: dict[str, Any]) -> Outcome:
        """One attempt; see the module docstring for the outcome tuple."""
        import aiohttp

        try:
            async with asyncio.timeout(self.timeout_s):
                async with self.session.post(self.url, data=json.dumps(body), headers=self.headers) as response:
                    raw = await response.read()
                    status, headers = response.status, response.headers
        except TimeoutError:
            return None, "timeout", f"no answer within {self.timeout_s:g} s", True, None
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, OSError) as exc:
            return None, "connection", f"{type(exc).__name__}: {_short(exc)}", True, None
        if status != 200:
            return _status_outcome(status, raw.decode("utf-8", "replace"), headers)
        try:
            return response_payload(json.loads(raw)), None, None, False, None
        except (ValueError, TypeError, RecursionError) as exc:  # not JSON (incl. JSONDecodeError) / not a completion
            return None, "server_error", f"malformed response: {_short(exc)}", True, None

    async def close(self) -> None:
        """Close the session's connections."""
        await self.session.close()


def make_transport(config: EngineConfig) -> OpenAITransport | AiohttpTransport:
    """The transport named by `config.transport`."""
    if config.transport == "aiohttp":
        return AiohttpTransport(config)
    return OpenAITransport(config)
