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

Replies are read with a bound (`EngineConfig.max_response_bytes`, default `MAX_RESPONSE_BYTES`): a declared
Content-Length above it is refused before the body is read, and a streamed body stops at the limit; the attempt
is then a server_error saying so (not retried within the run: a gateway that sent one such body sends the next).
Both transports ask for uncompressed bodies (`Accept-Encoding: identity`) and refuse a compressed one, so the
bound holds for the bytes parsed, not just the bytes received. The text of every 200 reply is scrubbed of known
secrets (`redact.scrub`) before it reaches a parser, the cache or a log.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from star1_hub.teacher.endpoint import EngineConfig
from star1_hub.teacher.limits import parse_retry_after
from star1_hub.teacher.redact import redact, scrub

logger = logging.getLogger(__name__)

TRANSPORTS = ("openai", "aiohttp")
Outcome = tuple[dict[str, Any] | None, str | None, str | None, bool, float | None]
MAX_RESPONSE_BYTES = 8 * 2**20  # about 2M tokens of text: far above any chat completion (cf. think.MAX_OUTPUT_CHARS)
_CHUNK = 64 * 1024
_IDENTITY = ("", "identity")


class ResponseRefused(Exception):
    """A reply the transport stopped reading: larger than the limit, or compressed although not asked to be."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def too_large(limit: int, seen: int | None = None, declared: int | None = None) -> ResponseRefused:
    """The refusal of a body above `limit` bytes (declared in Content-Length, or `seen` while streaming)."""
    if declared is not None:
        where = f"declares {declared:,} bytes (Content-Length)"
    else:
        where = f"passed it (read stopped at {seen:,} bytes)"
    return ResponseRefused(
        f"response body over the {limit:,}-byte limit: it {where}; raise max_response_bytes if it is genuine"
    )


def check_head(headers, limit: int) -> None:
    """Refuse a reply by its headers: a compressed body, or a Content-Length above `limit`."""
    encoding = (headers.get("content-encoding") or "").strip().lower()
    if encoding not in _IDENTITY:
        raise ResponseRefused(f"response body is compressed ({encoding}) although identity was asked for")
    declared = (headers.get("content-length") or "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit, declared=int(declared))


def _refused_outcome(exc: ResponseRefused) -> Outcome:
    return None, "server_error", exc.reason, False, None


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
        payload["reasoning"] = scrub(reasoning)
    if text:
        payload["text"] = scrub(text)
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
    hooks = {"response": [_bounded_reply_hook(httpx_module, config.max_response_bytes)]}
    try:
        http_client = openai.DefaultAioHttpClient(limits=limits, timeout=timeout, event_hooks=hooks)
    except (RuntimeError, AttributeError):
        http_client = openai.DefaultAsyncHttpxClient(limits=limits, timeout=timeout, event_hooks=hooks)
    return openai.AsyncOpenAI(
        base_url=config.base_url,
        api_key=config.resolved_api_key(),
        max_retries=0,
        timeout=timeout,
        http_client=http_client,
        default_headers={"Accept-Encoding": "identity"},
    )


def _bounded_reply_hook(httpx_module, limit: int):
    """An httpx response hook that bounds the body of every chat-completion reply (status codes included).

    It runs before httpx reads the body: a compressed body or a declared length above `limit` is refused at
    once, and the body stream is wrapped so that reading stops with `ResponseRefused` past `limit` bytes. Other
    routes (batch files, model lists) are left alone.
    """

    class BoundedStream(httpx_module.AsyncByteStream):
        def __init__(self, inner):
            self.inner = inner

        async def __aiter__(self):
            seen = 0
            async for chunk in self.inner:
                seen += len(chunk)
                if seen > limit:
                    raise too_large(limit, seen=seen)
                yield chunk

        async def aclose(self) -> None:
            await self.inner.aclose()

    async def hook(response) -> None:
        if not response.request.url.path.rstrip("/").endswith("/chat/completions"):
            return
        try:
            check_head(response.headers, limit)
        except ResponseRefused:
            await response.aclose()
            raise
        response.stream = BoundedStream(response.stream)

    return hook


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
        except ResponseRefused as exc:
            return _refused_outcome(exc)
        except openai.APITimeoutError as exc:
            # The SDK's timeout is set past ours, so an early one is a failed connect (the aiohttp transport
            # reports a refused connection as ConnectTimeout).
            if self.timeout_s is None or time.monotonic() - started < self.timeout_s:
                return None, "connection", f"cannot connect: {_short(exc.__cause__ or exc)}", True, None
            return None, "timeout", f"no answer within {self.timeout_s:g} s", True, None
        except openai.APIStatusError as exc:
            return _status_outcome(exc.status_code, str(exc.message), exc.response.headers)
        except openai.APIConnectionError as exc:
            if isinstance(exc.__cause__, ResponseRefused):
                return _refused_outcome(exc.__cause__)
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
        self.max_bytes = config.max_response_bytes
        self.url = config.base_url.rstrip("/") + "/chat/completions"
        self.headers = {
            "Authorization": f"Bearer {config.resolved_api_key()}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Accept-Encoding": "identity",
            "User-Agent": "star1-hub-teacher",
        }
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=config.concurrency + 8),
            raise_for_status=False,
            auto_decompress=False,  # a compressed body is refused (check_head), never inflated past the bound
        )

    async def _read(self, response) -> bytes:
        check_head(response.headers, self.max_bytes)
        body = bytearray()
        while chunk := await response.content.read(_CHUNK):
            body += chunk
            if len(body) > self.max_bytes:
                raise too_large(self.max_bytes, seen=len(body))
        return bytes(body)

    async def send(self, body: dict[str, Any]) -> Outcome:
        """One attempt; see the module docstring for the outcome tuple."""
        import aiohttp

        try:
            async with asyncio.timeout(self.timeout_s):
                async with self.session.post(self.url, data=json.dumps(body), headers=self.headers) as response:
                    raw = await self._read(response)
                    status, headers = response.status, response.headers
        except TimeoutError:
            return None, "timeout", f"no answer within {self.timeout_s:g} s", True, None
        except ResponseRefused as exc:
            return _refused_outcome(exc)
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
