"""The HTTP plumbing of the local Hub: the threading server (connection cap, socket timeouts, public URL) and
the request-handler base class (origin and token checks, permission checks, bounded body reading, responses).

The routes live in `star1_hub.hubserver.server` (repos, refs, files) and `star1_hub.hubserver.uploads` (preupload, LFS,
commits). Every write and every read of a private repo checks the bearer token before any request body is read;
a body is read at most up to its limit, and an unread large body closes the connection instead of being drained.

Against slow clients (slowloris): every read from the socket has a deadline (`DeadlineReader`): the request line
and headers must arrive in full within `Limits.header_timeout_s`, a body must keep up `Limits.min_body_rate`
after a grace period, and one client address may hold at most `Limits.max_connections_per_address` of the
server's `Limits.max_connections` slots. Requests with ambiguous framing (two Content-Length values, two
Transfer-Encodings) are refused with 400 and the connection closed, never guessed at.
"""

from __future__ import annotations

import io
import ipaddress
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from star1_hub.hubserver.auth import INVALID_CREDENTIALS, Identity, TokenRegistry, signing_key
from star1_hub.hubserver.errors import HubError, bad_request, repo_not_found, too_large
from star1_hub.hubserver.limits import Limits
from star1_hub.hubserver.store import HubStore

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024
_DRAIN_LIMIT = 64 * 1024  # an unread body up to this size is drained to keep the connection; larger ones close it
_JSON_TYPES = ("application/json", "application/x-ndjson", "application/vnd.git-lfs+json")


class DeadlineReader(io.RawIOBase):
    """The read side of a client socket where every `recv` has a deadline.

    Two rules, set per phase by the handler: an absolute deadline (`expect_head`: once the first byte of a
    request has come, the whole request head must arrive within the timeout; waiting for that first byte on a
    kept-alive connection is ordinary idling), and a minimum average rate (`expect_body`: after `grace_s`, at least `min_rate` bytes per
    second since the body started). Each `recv` waits at most until the earlier of the two, and at most
    `idle_timeout_s`; past it, `TimeoutError` closes the connection. A byte now and then cannot keep it open.
    """

    def __init__(self, sock: socket.socket, idle_timeout_s: float):
        super().__init__()
        self._sock = sock
        self.idle_timeout_s = idle_timeout_s
        self._deadline: float | None = None
        self._head_timeout_s: float | None = None  # starts `_deadline` at the first byte of a request head
        self._rate_start = 0.0
        self._rate_bytes = 0
        self._min_rate = 0
        self._grace_s = 0.0

    def readable(self) -> bool:
        return True

    def expect_head(self, timeout_s: float) -> None:
        self._deadline, self._head_timeout_s, self._min_rate = None, timeout_s, 0

    def expect_body(self, min_rate: int, grace_s: float) -> None:
        self._deadline, self._head_timeout_s, self._min_rate, self._grace_s = None, None, min_rate, grace_s
        self._rate_start, self._rate_bytes = time.monotonic(), 0

    def _limit(self) -> float | None:
        limit = self._deadline
        if self._min_rate > 0:  # the next byte is due when the average would fall below the minimum
            due = self._rate_start + self._grace_s + self._rate_bytes / self._min_rate
            limit = due if limit is None else min(limit, due)
        return limit

    def readinto(self, buffer) -> int:  # noqa: ANN001 - io signature
        timeout = self.idle_timeout_s
        limit = self._limit()
        if limit is not None:
            remaining = limit - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the client is sending the request too slowly")
            timeout = min(timeout, remaining)
        self._sock.settimeout(timeout)
        try:
            count = self._sock.recv_into(buffer)
        finally:
            self._sock.settimeout(self.idle_timeout_s)  # writes keep the plain stall timeout
        self._rate_bytes += count
        if count and self._head_timeout_s is not None:
            self._deadline, self._head_timeout_s = time.monotonic() + self._head_timeout_s, None
        return count


def split_lines(chunks: Iterable[bytes], max_line: int) -> Iterator[bytes]:
    """The `\\n`-separated lines of a byte stream (last one unterminated allowed), linear in the stream whatever
    the chunk sizes: each byte is searched once and copied a bounded number of times. `LineTooLong` past
    `max_line` bytes without a newline."""
    buffer = bytearray()
    scanned = 0  # bytes of `buffer` known to hold no newline
    for chunk in chunks:
        buffer += chunk
        start = 0
        while (newline := buffer.find(b"\n", max(start, scanned))) >= 0:
            yield bytes(buffer[start:newline])
            start = newline + 1
        if start:
            del buffer[:start]
        scanned = len(buffer)
        if len(buffer) > max_line:
            raise LineTooLong(len(buffer))
    if buffer.strip():
        yield bytes(buffer)


class LineTooLong(ValueError):
    """A line of a streamed body is longer than allowed."""


def truthy(values: list[str] | None, default: bool = False) -> bool:
    if not values:
        return default
    return values[-1].strip().lower() in ("1", "true", "yes")


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin_of(url: str) -> str:
    split = urlsplit(url)
    return f"{split.scheme}://{split.netloc}".lower()


class HubHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server bound to one `HubStore`, with tokens, limits and a public URL."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        handler_class: type[HubHandlerBase],
        store: HubStore,
        tokens: TokenRegistry,
        limits: Limits,
        public_url: str | None = None,
        admin_token: str | None = None,
    ):
        super().__init__(address, handler_class)
        self.store = store
        self.tokens = tokens
        self.limits = limits
        self.admin_token = admin_token  # only when the server made its own (no --tokens)
        self.signing_key = signing_key(store.root)
        self.public_url = (public_url or self.endpoint).rstrip("/")
        self.allowed_origins = {origin_of(self.public_url), origin_of(self.endpoint)}
        self._slots = threading.BoundedSemaphore(limits.max_connections)
        self._per_address: dict[str, int] = {}
        self._per_address_lock = threading.Lock()
        self._last_refusal_log = -1e9

    @property
    def endpoint(self) -> str:
        host, port = self.server_address[:2]
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}"

    def _refuse(self, request, message: str) -> None:  # noqa: ANN001
        body = json.dumps({"error": message}).encode()
        head = (
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
        )
        try:
            request.settimeout(1.0)
            request.sendall(head.encode() + body)
        except OSError:
            pass
        self.shutdown_request(request)

    def _take_address_slot(self, address: str) -> bool:
        with self._per_address_lock:
            held = self._per_address.get(address, 0)
            if held >= self.limits.max_connections_per_address:
                return False
            self._per_address[address] = held + 1
            return True

    def _release_address_slot(self, address: str) -> None:
        with self._per_address_lock:
            held = self._per_address.pop(address, 1) - 1
            if held > 0:
                self._per_address[address] = held

    def process_request(self, request, client_address) -> None:  # noqa: ANN001 - socketserver signature
        address = str(client_address[0])
        if not self._take_address_slot(address):
            now = time.monotonic()
            if now - self._last_refusal_log > 10.0:  # one line per 10 s, not one per refused connection
                self._last_refusal_log = now
                logger.warning(
                    "local Hub: %s already holds %d connections (--max-connections-per-address); refusing more",
                    address,
                    self.limits.max_connections_per_address,
                )
            self._refuse(request, "Too many connections from your address to the local Hub; retry shortly")
            return
        if not self._slots.acquire(blocking=False):
            self._release_address_slot(address)
            self._refuse(request, "Too many connections to the local Hub; retry shortly")
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            self._release_address_slot(address)
            raise

    def process_request_thread(self, request, client_address) -> None:  # noqa: ANN001
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()
            self._release_address_slot(str(client_address[0]))


class HubHandlerBase(BaseHTTPRequestHandler):
    """Plumbing shared by every route; subclasses implement `_route(method)`."""

    server: HubHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "star1-local-hub/0.2"

    # ------------------------------------------------------------------ plumbing
    def setup(self) -> None:
        self.timeout = self.server.limits.socket_timeout_s  # StreamRequestHandler applies it to the socket
        super().setup()
        self.rfile.close()  # replaced by a reader whose every recv has a deadline (the socket stays open)
        self._reader = DeadlineReader(self.connection, self.timeout)
        self.rfile = io.BufferedReader(self._reader, 64 * 1024)

    def handle_one_request(self) -> None:
        # From now on, the request line and every header must arrive within the header deadline.
        self._reader.expect_head(self.server.limits.header_timeout_s)
        super().handle_one_request()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        # The request line only; headers (and so tokens) are never logged.
        logger.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    @property
    def store(self) -> HubStore:
        return self.server.store

    @property
    def limits(self) -> Limits:
        return self.server.limits

    @property
    def base_url(self) -> str:
        """The configured public URL: links handed to clients never come from the request's `Host`."""
        return self.server.public_url

    def _dispatch(self, method: str) -> None:
        self._body_state = "unread"
        self._responded = False
        self._extra_headers: dict[str, str] = {}
        self._reader.expect_body(self.limits.min_body_rate, self.limits.body_grace_s)
        try:
            self._check_framing()
            split = urlsplit(self.path)
            self.segments = [unquote(s, errors="strict") for s in split.path.split("/")[1:]]
            self.query = parse_qs(split.query, keep_blank_values=True)
            self._check_origin()
            self.identity = self._authenticate()
            self._route(method)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True  # the client went away or stalled
        except HubError as error:
            self._send_error(error)
        except UnicodeDecodeError:
            self._send_error(bad_request("The request URL is not valid UTF-8 after percent-decoding"))
        except RecursionError:  # a parser met absurdly nested input: the client's fault, one log line
            logger.warning("local Hub: too deeply nested input on %s %s", method, self.path.split("?")[0][:200])
            self._send_error(bad_request("The request is nested too deeply"))
        except Exception:  # a bug must answer 500 (without internals), not kill the connection silently
            logger.exception("local Hub: unhandled error on %s %s", method, self.path.split("?")[0])
            self._send_error(HubError(500, "Internal error of the local Hub; see its log"))

    def _check_origin(self) -> None:
        origin = self.headers.get("Origin")
        if origin is not None and origin.strip().lower().rstrip("/") not in self.server.allowed_origins:
            raise HubError(403, "Cross-origin requests are refused by the local Hub")

    def _authenticate(self) -> Identity | None:
        header = self.headers.get("Authorization")
        if header is None:
            return None
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HubError(401, INVALID_CREDENTIALS)
        identity = self.server.tokens.identify(token.strip())
        if identity is None:
            raise HubError(401, INVALID_CREDENTIALS)
        return identity

    # ------------------------------------------------------------------ permissions
    def _require_identity(self, role_needed: str = "write") -> Identity:
        if self.identity is None:
            raise HubError(401, "Authentication required: send 'Authorization: Bearer <token>'")
        if role_needed == "write" and self.identity.role == "read":
            raise HubError(403, "This token is read-only: use a token with the write role")
        return self.identity

    def _check_read(self, repo_type: str, repo_id: str) -> dict:
        """The repo's meta; 404 if it does not exist or is private to someone else."""
        meta = self.store.repo_meta(repo_type, repo_id)
        if meta.get("private") and not (
            self.identity is not None and self.identity.can_read_private(repo_id.split("/")[0])
        ):
            raise repo_not_found(repo_type, repo_id)
        return meta

    def _check_write(self, repo_type: str, repo_id: str) -> Identity:
        """The caller's identity when it may write to the repo (checked before any body is read)."""
        identity = self._require_identity()
        self._check_read(repo_type, repo_id)
        namespace = repo_id.split("/")[0]
        if not identity.can_write(namespace):
            raise HubError(403, f"You don't have write access to the namespace {namespace!r}")
        return identity

    # ------------------------------------------------------------------ request bodies
    def _check_framing(self) -> None:
        """400 (and close) when the body's length is ambiguous: a proxy might frame it differently (smuggling)."""
        lengths = self.headers.get_all("Content-Length") or []
        if len({value.strip() for value in lengths}) > 1 or len(self.headers.get_all("Transfer-Encoding") or []) > 1:
            self.close_connection = True
            raise bad_request("Malformed request: several Content-Length or Transfer-Encoding headers")
        self._content_length()

    def _content_length(self) -> int | None:
        lengths = self.headers.get_all("Content-Length") or []
        if len({value.strip() for value in lengths}) > 1:
            raise bad_request("Malformed request: several different Content-Length headers")
        raw = lengths[0] if lengths else None
        encoding = (self.headers.get("Transfer-Encoding") or "").strip().lower()
        if encoding:
            if encoding != "chunked":
                raise bad_request("Unsupported Transfer-Encoding: only 'chunked' is accepted")
            if raw is not None:
                raise bad_request("Malformed request: both Content-Length and Transfer-Encoding")
            return None
        if raw is None:
            return 0
        raw = raw.strip()
        if not raw.isdigit() or len(raw) > 18:
            raise bad_request("Malformed Content-Length header")
        return int(raw)

    def _has_body(self) -> bool:
        length = self._content_length()
        return length is None or length > 0

    def _iter_body(self, max_bytes: int, what: str = "request body") -> Iterator[bytes]:
        """Yield the request body (Content-Length or chunked) once; 413 as soon as it passes `max_bytes`."""
        length = self._content_length()
        if length is not None and length > max_bytes:
            raise too_large(f"The {what} is over {max_bytes} bytes")
        self._body_state = "reading"
        total = 0
        if length is None:
            while True:
                size_line = self.rfile.readline(1025)
                size_text = size_line.split(b";")[0].strip()
                if not size_line.endswith(b"\n") or not re.fullmatch(rb"[0-9a-fA-F]{1,15}", size_text):
                    raise bad_request("Malformed chunked body: bad chunk size line")
                size = int(size_text, 16)
                if size == 0:
                    for _ in range(64):  # trailers, up to the blank line
                        if self.rfile.readline(65537) in (b"\r\n", b"\n", b""):
                            break
                    break
                total += size
                if total > max_bytes:
                    raise too_large(f"The {what} is over {max_bytes} bytes")
                remaining = size
                while remaining:
                    chunk = self.rfile.read(min(remaining, CHUNK))
                    if not chunk:
                        raise bad_request("Truncated chunked request body")
                    remaining -= len(chunk)
                    yield chunk
                if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                    raise bad_request("Malformed chunked body: missing CRLF after a chunk")
        else:
            remaining = length
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, CHUNK))
                if not chunk:
                    raise bad_request("Truncated request body")
                remaining -= len(chunk)
                yield chunk
        self._body_state = "read"

    def _body(self, max_bytes: int) -> bytes:
        return b"".join(self._iter_body(max_bytes))

    def _require_json_type(self) -> None:
        media = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if media not in _JSON_TYPES and not media.endswith("+json"):
            raise HubError(415, "This endpoint takes a JSON body: send 'Content-Type: application/json'")

    def _json_body(self) -> dict:
        if not self._has_body():
            self._body_state = "read"
            return {}
        self._require_json_type()
        raw = self._body(self.limits.max_json_bytes)
        if not raw.strip():
            return {}
        try:
            payload = json.loads(raw)
        except RecursionError:
            raise bad_request("Request body is nested too deeply") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
            raise bad_request(f"Request body is not valid JSON{where}") from None
        if not isinstance(payload, dict):
            raise bad_request("Request body must be a JSON object")
        return payload

    def _iter_ndjson_lines(self, max_bytes: int, max_line: int) -> Iterator[bytes]:
        """The lines of a streamed NDJSON body, each at most `max_line` bytes (413 beyond); linear in the body."""
        try:
            yield from split_lines(self._iter_body(max_bytes, "commit body"), max_line)
        except LineTooLong:
            raise too_large(
                f"A commit line is over {max_line} bytes: files over {self.limits.max_inline_file_bytes} "
                "bytes must go through LFS"
            ) from None

    def _finish_unread_body(self) -> None:
        """Before answering: drain a small unread body, or close the connection instead of reading a big one."""
        if self._body_state == "read":
            return
        if self._body_state == "reading":
            self.close_connection = True
            return
        try:
            length = self._content_length()
        except HubError:
            self.close_connection = True
            return
        if length is None or length > _DRAIN_LIMIT:
            self.close_connection = True
            return
        try:
            for _ in self._iter_body(_DRAIN_LIMIT):
                pass
        except (HubError, OSError):
            self.close_connection = True

    # ------------------------------------------------------------------ responses
    def _start_response(self, status: int) -> None:
        self._responded = True
        self._reader.expect_body(0, 0.0)  # no read deadline while answering (writes have the stall timeout)
        self.send_response(status)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self._finish_unread_body()
        self._start_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in {**self._extra_headers, **(headers or {})}.items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, payload: object, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json; charset=utf-8", headers)

    def _send_error(self, error: HubError) -> None:
        if self._responded:  # headers already went out: the only safe signal left is closing the connection
            self.close_connection = True
            return
        one_line = " ".join(error.message.split())  # header values cannot hold newlines
        headers = {"X-Error-Message": one_line.encode("ascii", "replace").decode()[:500]}
        if error.code:
            headers["X-Error-Code"] = error.code
        try:
            self._send_json({"error": error.message, **error.extra}, error.status, headers)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True

    def _route(self, method: str) -> None:
        raise NotImplementedError
