"""A scripted, fault-injecting OpenAI-compatible server for tests and benchmarks.

    python -m star1_hub.testing.scripted_server --port 8900 --latency 0.2 --fault rate_limit=0.05

It speaks just enough HTTP/1.1 (keep-alive, Content-Length bodies, multipart uploads) on 127.0.0.1 to serve
the unmodified `openai` client: `/v1/models`, `/v1/chat/completions`, `/v1/files`, `/v1/files/{id}/content`,
`/v1/batches`, `/v1/batches/{id}`. It is a hand-rolled asyncio server because it must sustain well over
500 requests/s with 200 ms latency on two shared cores.

Every chat request is keyed by the SHA-256 of its canonical `messages` (`ScriptedServer.key_of(messages)`).
Responses are deterministic per key (default: a text derived from the key, or the `responder` hook), and
faults are drawn from a hash of (seed, key, how many times this key was seen), so a run is reproducible and
a retry of the same request can succeed. Fault kinds (`FAULT_KINDS`): `rate_limit` (429 + Retry-After),
`server_error` (500), `hang` (no answer until after the client's timeout), `malformed` (200 with a broken
JSON body), `length` (truncated text, finish_reason=length), `content_filter` (empty text,
finish_reason=content_filter), and bodies real gateways have been seen to return: `bad_usage` (a completion
whose `usage` is the string "n/a"), `not_chat` (200 with JSON that is not a chat completion), `garbage` (200 with
an HTML error page), `auth` (401 whose message echoes the Authorization header, as some providers do), `huge`
(a 200 whose body, sent chunked, runs to `huge_bytes` — 64 MiB by default — as a broken gateway's can; the server
streams it from one small buffer, so it costs no memory, and stops when the client hangs up). With
`rpm_limit` set the server enforces a requests-per-minute token bucket and answers 429 when it is exceeded.

Reply forms of R1 servers (`reasoning_form`, see `star1_hub.think`): the responder's text (`<think>trace</think>
answer`, or just an answer) is re-shaped as `inline`, `prefilled` (the trace without its opening tag),
`split` (`message.reasoning_content` + the answer in `content`), `split_reasoning` (the same in
`message.reasoning`), or `prefilled_unclosed` (a prefilled trace that never closes, finish_reason stop).
A responder may also return a dict: the assistant `message` itself.

`/v1/models` lists the served models with `max_model_len`, as vLLM does; a request whose estimated prompt
tokens + `max_tokens` exceed it is answered 400 with vLLM's wording, and with `served_models` given, a request
for another model is answered 404. With `api_key` set, like `vllm serve --api-key`, every `/v1` request without
`Authorization: Bearer <api_key>` is answered 401 `{"error": "Unauthorized"}` (and counted in `refused_auth`).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

FAULT_KINDS = (
    "rate_limit",
    "server_error",
    "hang",
    "malformed",
    "length",
    "content_filter",
    "bad_usage",
    "not_chat",
    "garbage",
    "auth",
    "huge",
)
REASONING_FORMS = ("inline", "prefilled", "split", "split_reasoning", "prefilled_unclosed")
DEFAULT_MAX_MODEL_LEN = 32768
_STATUS_TEXT = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


def key_of(messages: list[dict[str, Any]]) -> str:
    """The server's request key: SHA-256 of the canonical JSON of the chat messages."""
    canonical = json.dumps(messages, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def default_responder(body: dict[str, Any]) -> str:
    """Deterministic assistant text derived from the request's messages."""
    key = key_of(body.get("messages", []))
    return f"answer {key[:12]} " + " ".join(key[i : i + 4] for i in range(12, 40, 4))


def _unit(seed: int, key: str, n: int) -> float:
    digest = hashlib.blake2b(f"{seed}:{key}:{n}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class _State:
    """Everything the server counts and keeps; shared by the handlers (one event loop, no locks needed)."""

    def __init__(
        self,
        faults: dict[str, float],
        responder,
        seed: int,
        latency_s: float,
        hang_s: float,
        retry_after_s: float,
        rpm_limit: float | None,
        rpm_burst: float | None,
        batch_delay_s: float,
        reasoning_form: str | None = None,
        served_models: list[str] | None = None,
        max_model_len: int = DEFAULT_MAX_MODEL_LEN,
        huge_bytes: int = 64 * 2**20,
        api_key: str | None = None,
    ):
        self.api_key = api_key
        self.refused_auth = 0
        self.huge_bytes = int(huge_bytes)
        self.auth_echo: Callable[[str], str] | None = None
        if reasoning_form is not None and reasoning_form not in REASONING_FORMS:
            raise ValueError(f"unknown reasoning_form {reasoning_form!r}; choose from {REASONING_FORMS}")
        self.reasoning_form = reasoning_form
        self.served_models = list(served_models) if served_models else None
        self.max_model_len = int(max_model_len)
        unknown = set(faults) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; choose from {FAULT_KINDS}")
        if sum(faults.values()) > 1.0:
            raise ValueError(f"fault rates sum to {sum(faults.values()):.3f} > 1; lower them")
        self.faults = [(kind, faults[kind]) for kind in FAULT_KINDS if faults.get(kind)]
        self.responder = responder or default_responder
        self.seed, self.latency_s, self.hang_s, self.retry_after_s = seed, latency_s, hang_s, retry_after_s
        self.by_key: Counter[str] = Counter()
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        self.log: list[tuple[float, str, str]] = []  # (arrival time, key, outcome)
        self.total = 0
        self.rpm_limit, self.batch_delay_s = rpm_limit, batch_delay_s
        self.batches_held = False  # set by ScriptedServer(hold_batches=True), cleared by release_batches()
        self.bucket_capacity = rpm_burst if rpm_burst is not None else (rpm_limit / 60.0 if rpm_limit else 0.0)
        self.bucket_capacity = max(1.0, self.bucket_capacity)
        self.tokens, self.bucket_t = self.bucket_capacity, time.monotonic()
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.batches_created = 0
        self.authorizations: Counter[str] = Counter()  # Authorization headers seen (tests check the key is sent)

    def pick_fault(self, key: str, n: int) -> str | None:
        u, acc = _unit(self.seed, key, n), 0.0
        for kind, rate in self.faults:
            acc += rate
            if u < acc:
                return kind
        return None

    def take_rpm_token(self) -> bool:
        if not self.rpm_limit:
            return True
        now = time.monotonic()
        self.tokens = min(self.bucket_capacity, self.tokens + (now - self.bucket_t) * self.rpm_limit / 60.0)
        self.bucket_t = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def _prompt_tokens(body: dict[str, Any]) -> int:
    return sum(len(str(m.get("content", "")).split()) for m in body.get("messages", [])) + 3


def shape_reply(text: str, form: str | None) -> dict[str, Any]:
    """The assistant message for `text` (`<think>trace</think>answer` or an answer) in a reasoning form."""
    if form is None:
        return {"role": "assistant", "content": text}
    start, end = text.find("<think>"), text.find("</think>")
    if start >= 0 and end > start:
        trace, answer = text[start + len("<think>") : end].strip(), text[end + len("</think>") :].strip()
    else:
        trace, answer = f"Scripted reasoning about the request ({len(text)} characters).", text.strip()
    if form == "inline":
        return {"role": "assistant", "content": f"<think>\n{trace}\n</think>\n\n{answer}"}
    if form == "prefilled":
        return {"role": "assistant", "content": f"{trace}\n</think>\n\n{answer}"}
    if form == "prefilled_unclosed":
        return {"role": "assistant", "content": f"{trace}\n{answer}"}
    field = "reasoning_content" if form == "split" else "reasoning"
    return {"role": "assistant", "content": answer, field: trace}


def _completion(body: dict[str, Any], text: Any, finish_reason: str, key: str, form: str | None = None):
    message = dict(text) if isinstance(text, dict) else shape_reply(text, form) if text else {"content": text}
    message.setdefault("role", "assistant")
    prompt_tokens = _prompt_tokens(body)
    words = len(str(message.get("content") or "").split()) + len(
        str(message.get("reasoning_content") or message.get("reasoning") or "").split()
    )
    return {
        "id": f"chatcmpl-{key[:16]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "scripted"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": words, "total_tokens": prompt_tokens + words},
    }


def _response(status: int, payload: Any, headers: dict[str, str] | None = None, raw: bytes | None = None) -> bytes:
    body = raw if raw is not None else json.dumps(payload).encode()
    lines = [
        f"HTTP/1.1 {status} {_STATUS_TEXT.get(status, 'Error')}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: keep-alive",
    ]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class _Streamed:
    """A chunked 200 reply of `size` body bytes: a chat completion whose content never seems to end."""

    CHUNK = b"x" * 65536

    def __init__(self, size: int):
        self.size = size

    def head(self) -> bytes:
        return (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: keep-alive\r\n\r\n"
        )

    def chunks(self):
        opening = b'{"id": "chatcmpl-huge", "choices": [{"index": 0, "finish_reason": "stop", "message": {"content": "'
        yield opening
        left = self.size - len(opening) - 4
        while left > 0:
            piece = self.CHUNK if left >= len(self.CHUNK) else self.CHUNK[:left]
            left -= len(piece)
            yield piece
        yield b'"}}]}'


def _error(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> bytes:
    return _response(status, {"error": {"message": message, "type": kind, "code": kind}}, headers)


def _multipart_file(content_type: str, body: bytes) -> tuple[bytes, str]:
    match = re.search(r"boundary=\"?([^\";]+)\"?", content_type)
    if not match:
        raise ValueError("multipart body without boundary")
    file_bytes, purpose = b"", ""
    for part in body.split(b"--" + match.group(1).encode()):
        head, _, content = part.partition(b"\r\n\r\n")
        content = content[:-2] if content.endswith(b"\r\n") else content
        if b'name="file"' in head:
            file_bytes = content
        elif b'name="purpose"' in head:
            purpose = content.decode().strip()
    return file_bytes, purpose


class _App:
    """Routes one parsed HTTP request to a response (bytes)."""

    def __init__(self, state: _State):
        self.state = state
        self.current_authorization = ""

    async def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
        path = path.split("?", 1)[0]
        self.current_authorization = headers.get("authorization", "")
        self.state.authorizations[self.current_authorization] += 1
        key = self.state.api_key
        if key and path.startswith("/v1/") and self.current_authorization != f"Bearer {key}":
            self.state.refused_auth += 1
            return _response(401, {"error": "Unauthorized"})  # vLLM's --api-key answer
        if path == "/v1/chat/completions" and method == "POST":
            return await self.chat(json.loads(body))
        if path == "/v1/models":
            models = self.state.served_models or ["scripted-model"]
            data = [
                {"id": m, "object": "model", "owned_by": "star1", "root": m, "max_model_len": self.state.max_model_len}
                for m in models
            ]
            return _response(200, {"object": "list", "data": data})
        if path == "/_scripted/stats":
            s = self.state
            stats = {"total": s.total, "by_key": dict(s.by_key), "batches_created": s.batches_created}
            return _response(200, stats | {"refused_auth": s.refused_auth})
        if path == "/v1/files" and method == "POST":
            return self.upload(headers.get("content-type", ""), body)
        if path.startswith("/v1/files/") and path.endswith("/content"):
            file_id = path.split("/")[3]
            if file_id not in self.state.files:
                return _error(404, f"no file {file_id}", "not_found")
            return _response(200, None, raw=self.state.files[file_id])
        if path == "/v1/batches" and method == "POST":
            return self.create_batch(json.loads(body))
        if path.startswith("/v1/batches/"):
            batch = self.state.batches.get(path.split("/")[3])
            return _response(200, batch) if batch else _error(404, "no such batch", "not_found")
        return _error(404, f"no route {method} {path}", "not_found")

    def record(self, body: dict[str, Any], outcome: str = "") -> tuple[str, int]:
        s = self.state
        key = key_of(body.get("messages", []))
        n = s.by_key[key]
        s.by_key[key] += 1
        s.total += 1
        now = time.monotonic()
        s.arrivals[key].append(now)
        s.log.append((now, key, outcome))
        return key, n

    async def chat(self, body: dict[str, Any]) -> bytes:
        s = self.state
        key, n = self.record(body)
        if not s.take_rpm_token():
            s.log[-1] = (s.log[-1][0], key, "rpm_429")
            return _error(429, "rate limit reached (requests per minute)", "rate_limit_exceeded", {"Retry-After": "1"})
        model = body.get("model")
        if s.served_models and model not in s.served_models:
            return _error(404, f"The model `{model}` does not exist.", "NotFoundError")
        requested = int(body.get("max_tokens") or body.get("max_completion_tokens") or 0)
        if _prompt_tokens(body) + requested > s.max_model_len:
            return _error(
                400,
                f"This model's maximum context length is {s.max_model_len} tokens. However, you requested "
                f"{_prompt_tokens(body) + requested} tokens ({_prompt_tokens(body)} in the messages, {requested} in "
                "the completion). Please reduce the length of the messages or completion.",
                "BadRequestError",
            )
        fault = s.pick_fault(key, n)
        s.log[-1] = (s.log[-1][0], key, fault or "ok")
        if fault == "auth":
            echoed = self.current_authorization
            if s.auth_echo is not None:
                echoed = s.auth_echo(echoed)
            return _error(401, f"Incorrect API key provided: {echoed}", "invalid_api_key")
        if fault == "hang":
            await asyncio.sleep(s.hang_s)
        elif s.latency_s:
            await asyncio.sleep(s.latency_s)
        if fault == "rate_limit":
            return _error(429, "slow down", "rate_limit_exceeded", {"Retry-After": f"{s.retry_after_s:g}"})
        if fault == "server_error":
            return _error(500, "scripted server error", "server_error")
        if fault == "malformed":
            return _response(200, None, raw=b'{"id": "chatcmpl-broken", "choices": [{"index": 0, "mess')
        if fault == "not_chat":
            return _response(200, {"object": "error", "message": "upstream model is loading", "choices": []})
        if fault == "garbage":
            return _response(200, None, raw=b"<html><body><h1>502 Bad Gateway</h1></body></html>")
        if fault == "huge":
            return _Streamed(s.huge_bytes)
        text = s.responder(body)
        form = s.reasoning_form
        if fault == "length":
            cut = text if isinstance(text, dict) else text[: max(1, len(text) // 2)]
            return _response(200, _completion(body, cut, "length", key))
        if fault == "content_filter":
            return _response(200, _completion(body, "", "content_filter", key))
        completion = _completion(body, text, "stop", key, form)
        if fault == "bad_usage":
            completion["usage"] = "n/a"
        return _response(200, completion)

    def upload(self, content_type: str, body: bytes) -> bytes:
        file_bytes, purpose = _multipart_file(content_type, body)
        file_id = f"file-{hashlib.sha256(file_bytes).hexdigest()[:20]}-{len(self.state.files)}"
        self.state.files[file_id] = file_bytes
        return _response(
            200,
            {
                "id": file_id,
                "object": "file",
                "bytes": len(file_bytes),
                "created_at": int(time.time()),
                "filename": "input.jsonl",
                "purpose": purpose or "batch",
                "status": "processed",
            },
        )

    def create_batch(self, spec: dict[str, Any]) -> bytes:
        s = self.state
        if spec.get("input_file_id") not in s.files:
            return _error(400, f"unknown input_file_id {spec.get('input_file_id')!r}", "invalid_request_error")
        s.batches_created += 1
        batch_id = f"batch_{s.batches_created:06d}"
        lines = [json.loads(line) for line in s.files[spec["input_file_id"]].splitlines() if line.strip()]
        batch = {
            "id": batch_id,
            "object": "batch",
            "endpoint": spec.get("endpoint", "/v1/chat/completions"),
            "input_file_id": spec["input_file_id"],
            "completion_window": spec.get("completion_window", "24h"),
            "status": "in_progress",
            "created_at": int(time.time()),
            "output_file_id": None,
            "error_file_id": None,
            "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
        }
        s.batches[batch_id] = batch
        asyncio.get_running_loop().create_task(self.run_batch(batch, lines))
        return _response(200, batch)

    async def run_batch(self, batch: dict[str, Any], lines: list[dict[str, Any]]) -> None:
        await asyncio.sleep(self.state.batch_delay_s)
        while self.state.batches_held:
            await asyncio.sleep(0.01)
        out = []
        for line in lines:
            key, n = self.record(line["body"], "batch")
            fault = self.state.pick_fault(key, n)
            text = self.state.responder(line["body"])
            if fault == "length":
                cut = text if isinstance(text, dict) else text[: max(1, len(text) // 2)]
                completion = _completion(line["body"], cut, "length", key)
            elif fault == "content_filter":
                completion = _completion(line["body"], "", "content_filter", key)
            elif fault in ("server_error", "rate_limit", "malformed", "hang", "not_chat", "garbage", "auth", "huge"):
                out.append(
                    {
                        "id": f"req_{len(out)}",
                        "custom_id": line["custom_id"],
                        "response": None,
                        "error": {"code": "server_error", "message": "scripted batch line failure"},
                    }
                )
                batch["request_counts"]["failed"] += 1
                continue
            else:
                completion = _completion(line["body"], text, "stop", key, self.state.reasoning_form)
                if fault == "bad_usage":
                    completion["usage"] = "n/a"
            out.append(
                {
                    "id": f"req_{len(out)}",
                    "custom_id": line["custom_id"],
                    "response": {"status_code": 200, "request_id": f"r{len(out)}", "body": completion},
                    "error": None,
                }
            )
            batch["request_counts"]["completed"] += 1
        file_id = f"file-out-{batch['id']}"
        self.state.files[file_id] = "".join(json.dumps(o) + "\n" for o in out).encode()
        batch.update(status="completed", output_file_id=file_id, completed_at=int(time.time()))


async def _serve_connection(app: _App, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, path, _ = request_line.split(" ", 2)
            headers = {}
            for line in header_lines:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", 0) or 0))
            try:
                payload = await app.handle(method, path, headers, body)
            except (ValueError, KeyError) as exc:
                payload = _error(400, f"bad request: {exc}", "invalid_request_error")
            except Exception as exc:  # noqa: BLE001 (a failing responder hook must not kill the connection)
                logger.exception("scripted server handler failed")
                payload = _error(500, f"handler failed: {type(exc).__name__}", "server_error")
            if isinstance(payload, _Streamed):
                writer.write(payload.head())
                for chunk in payload.chunks():
                    writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    await writer.drain()  # the client's reading pace: nothing piles up here
                writer.write(b"0\r\n\r\n")
            else:
                writer.write(payload)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
        pass  # client went away, or the server is stopping: nothing to answer
    finally:
        writer.close()


class ScriptedServer:
    """Run the scripted server on 127.0.0.1 in a background thread (or a child process) as a context manager.

    Args:
        latency_s: Delay before every chat answer.
        faults: Fault rates by kind (see `FAULT_KINDS`); their sum must be ≤ 1.
        responder: `Callable[[dict body], str]` giving the assistant text (default: `default_responder`).
        seed: Seed of the fault draws.
        hang_s: How long a `hang` fault waits before answering (longer than the client's timeout).
        retry_after_s: Value of the Retry-After header on injected 429s.
        rpm_limit: When set, enforce this many requests per minute (token bucket) and answer 429 beyond it.
        rpm_burst: Bucket capacity in requests (default: one second's worth, at least 1).
        batch_delay_s: Time a batch job stays `in_progress` before it completes.
        hold_batches: Keep every batch job `in_progress` (after `batch_delay_s`) until `release_batches()` is
            called, so a test can act while a job is surely unfinished without waiting a long delay. Thread mode
            only.
        reasoning_form: Re-shape every reply into one of `REASONING_FORMS` (see the module docstring).
        served_models: Model ids listed by /v1/models and accepted (None: list "scripted-model", accept any).
        max_model_len: Context length advertised in /v1/models and enforced on prompt + max_tokens.
        huge_bytes: Body size of a `huge` fault's reply.
        api_key: When set, answer 401 to every `/v1` request that does not send this key (as `vllm serve
            --api-key` does); `refused_auth` counts them.
        auth_echo: How an `auth` fault's 401 message echoes the Authorization header (`Callable[[str], str]`, e.g.
            URL-encoded or split across lines; default: as received). Thread mode only.
        process: Run in a child process (uses the other core; only the default responder, counts over HTTP).
        port: Port to bind (0 = a free one).
    """

    def __init__(
        self,
        latency_s: float = 0.0,
        faults: dict[str, float] | None = None,
        responder: Callable[[dict[str, Any]], str] | None = None,
        seed: int = 0,
        *,
        hang_s: float = 30.0,
        retry_after_s: float = 1.0,
        rpm_limit: float | None = None,
        rpm_burst: float | None = None,
        batch_delay_s: float = 0.2,
        reasoning_form: str | None = None,
        served_models: list[str] | None = None,
        max_model_len: int = DEFAULT_MAX_MODEL_LEN,
        huge_bytes: int = 64 * 2**20,
        api_key: str | None = None,
        auth_echo: Callable[[str], str] | None = None,
        hold_batches: bool = False,
        process: bool = False,
        port: int = 0,
    ):
        if process and (responder is not None or auth_echo is not None or hold_batches):
            raise ValueError(
                "process=True runs the default responder only, without auth_echo or hold_batches; drop them or use "
                "process=False"
            )
        self.options = dict(
            latency_s=latency_s,
            faults=dict(faults or {}),
            seed=seed,
            hang_s=hang_s,
            retry_after_s=retry_after_s,
            rpm_limit=rpm_limit,
            rpm_burst=rpm_burst,
            batch_delay_s=batch_delay_s,
            reasoning_form=reasoning_form,
            served_models=served_models,
            max_model_len=max_model_len,
            huge_bytes=huge_bytes,
            api_key=api_key,
        )
        self.state = _State(responder=responder, **self.options)  # validates the options in both modes
        self.state.auth_echo = auth_echo
        self.state.batches_held = hold_batches
        self.process, self.port = process, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._child: subprocess.Popen | None = None

    key_of = staticmethod(key_of)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> ScriptedServer:
        """Bind the port and start serving; returns self."""
        if self.process:
            return self._start_child()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._thread_main, args=(ready,), name="scripted-server", daemon=True)
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError("scripted server did not start within 30 s")
        return self

    def _thread_main(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        app = _App(self.state)

        async def main() -> None:
            server = await asyncio.start_server(
                lambda r, w: _serve_connection(app, r, w), "127.0.0.1", self.port, backlog=4096
            )
            self.port = server.sockets[0].getsockname()[1]
            self._stopped = asyncio.Event()
            ready.set()
            async with server:
                await self._stopped.wait()
                server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            self._loop.run_until_complete(main())
        finally:
            self._loop.close()

    def _start_child(self) -> ScriptedServer:
        cmd = [
            sys.executable,
            "-m",
            "star1_hub.testing.scripted_server",
            "--port",
            str(self.port),
            "--options",
            json.dumps(self.options),
        ]
        self._child = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        line = self._child.stdout.readline()
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"scripted server child failed to start (printed {line!r})")
        self.port = int(line.split()[1])
        return self

    def stop(self) -> None:
        """Stop serving (cancels hanging handlers) and wait for the thread or child to end."""
        if self._child is not None:
            self._child.terminate()
            try:
                self._child.wait(10)
            except subprocess.TimeoutExpired:
                self._child.kill()
                self._child.wait()
            self._child = None
        if self._thread is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join(10)
            self._thread = None

    def release_batches(self) -> None:
        """Let the batch jobs held by `hold_batches=True` complete (thread mode only)."""
        self.state.batches_held = False

    def _stats(self) -> dict[str, Any]:
        if self._child is None:
            s = self.state
            return {
                "total": s.total,
                "by_key": dict(s.by_key),
                "batches_created": s.batches_created,
                "refused_auth": s.refused_auth,
            }
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_scripted/stats", timeout=30) as response:
            return json.loads(response.read())

    @property
    def request_count(self) -> int:
        """Chat requests received so far (batch lines included)."""
        return self._stats()["total"]

    @property
    def refused_auth(self) -> int:
        """Requests answered 401 because they did not send `api_key`."""
        return self._stats()["refused_auth"]

    @property
    def batches_created(self) -> int:
        """Batch jobs created so far."""
        return self._stats()["batches_created"]

    def count_for(self, key: str) -> int:
        """How many times the request with this key (see `key_of`) was received."""
        return self._stats()["by_key"].get(key, 0)

    def counts(self) -> dict[str, int]:
        """Request counts by key."""
        return self._stats()["by_key"]

    def arrivals(self, key: str | None = None) -> list[float]:
        """`time.monotonic()` arrival times of one key's requests, or of all requests (thread mode only)."""
        if key is not None:
            return list(self.state.arrivals.get(key, []))
        return [t for t, _, _ in self.state.log]

    @property
    def authorizations(self) -> Counter[str]:
        """Authorization header values received, with counts (thread mode only; for tests of key handling)."""
        return self.state.authorizations

    def outcomes(self) -> Counter[str]:
        """How many requests got each outcome (`ok`, a fault kind, `rpm_429`, `batch`; thread mode only)."""
        return Counter(outcome for _, _, outcome in self.state.log)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: serve until interrupted, printing `PORT <n>` once bound."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--fault", action="append", default=[], help="KIND=RATE, e.g. rate_limit=0.05")
    parser.add_argument("--reasoning-form", default=None, choices=REASONING_FORMS)
    parser.add_argument("--max-model-len", type=int, default=DEFAULT_MAX_MODEL_LEN)
    parser.add_argument("--options", default=None, help="JSON of ScriptedServer options (used by process=True)")
    args = parser.parse_args(argv)
    options = (
        json.loads(args.options)
        if args.options
        else {"latency_s": args.latency, "reasoning_form": args.reasoning_form, "max_model_len": args.max_model_len}
    )
    if args.fault:
        options["faults"] = {k: float(v) for k, v in (f.split("=", 1) for f in args.fault)}
    server = ScriptedServer(port=args.port, **options).start()
    print(f"PORT {server.port}", flush=True)  # noqa: T201 (protocol line read by the parent)
    try:
        while server._thread is not None and server._thread.is_alive():
            server._thread.join(1.0)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
