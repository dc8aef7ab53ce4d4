"""Turn the errors a user can cause into one or two lines: what went wrong, the value at fault, what to do.

`explain(exc)` returns those lines, or None for an error that is not the user's (a bug: the CLI then shows the
traceback). It walks the exception and its causes, outermost first, so a project error that wraps a library
error (e.g. a stage input error raised from `RepositoryNotFoundError`) speaks with the project's message.

The project's own user errors derive from `star1_hub.errors.Star1Error` (their message is shown as written, the
exit code is theirs: `exit_code()`). Library exception types are recognised by class name and top-level package, so this module imports nothing
heavy and keeps working when an optional library is not installed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from urllib.parse import unquote, urlsplit

from star1_hub.errors import Star1Error

MAX_PROJECT_LINES = 25  # our own messages are written to be read whole (a validation error lists its rows)

# /api/<type>s/<org>/<name>[/revision/<rev>|/tree/<rev>/...] and /<type>s/<org>/<name>/resolve/<rev>/<path>
_API_PATH = re.compile(
    r"^/api/(models|datasets|spaces)/([^/]+/[^/]+)(?:/(revision|tree|paths-info|preupload)/([^/]+))?"
)
_RESOLVE_PATH = re.compile(r"^/(?:(datasets|spaces)/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, then its `__cause__` / `__context__` chain (each once)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)


def _is(exc: BaseException, package: str, *names: str) -> bool:
    """True when a class in `exc`'s MRO is called one of `names` and comes from top-level package `package`."""
    return any(cls.__name__ in names and (cls.__module__ or "").split(".")[0] == package for cls in type(exc).__mro__)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


def _url_of(exc: BaseException) -> str | None:
    """The URL of the failed HTTP request, when the exception carries one (httpx, requests, openai, hf_hub)."""
    for holder in (getattr(exc, "response", None), exc):
        try:
            request = getattr(holder, "request", None)
        except RuntimeError:  # httpx raises when no request is attached
            request = None
        url = getattr(request, "url", None) or getattr(holder, "url", None)
        if url:
            return str(url)
    return None


_READ_METHODS = ("GET", "HEAD", "OPTIONS")


def _method_of(exc: BaseException) -> str | None:
    """The HTTP method of the failed request (GET, POST, …), when the exception carries the request."""
    for holder in (getattr(exc, "response", None), exc):
        try:
            request = getattr(holder, "request", None)
        except RuntimeError:  # httpx raises when no request is attached
            request = None
        method = getattr(request, "method", None)
        if method:
            return str(method).upper()
    return None


def _hub_target(exc: BaseException) -> dict[str, str]:
    """Repo type, repo id, revision and file path parsed from the Hub URL of a failed request (what is known)."""
    url = _url_of(exc)
    if not url:
        return {}
    path = unquote(urlsplit(url).path)
    found: dict[str, str] = {}
    match = _API_PATH.match(path)
    if match:
        found = {"type": match.group(1)[:-1], "repo": match.group(2)}
        if match.group(3) in ("revision", "tree") and match.group(4):
            found["revision"] = match.group(4)
        return found
    match = _RESOLVE_PATH.match(path)
    if match:
        return {
            "type": (match.group(1) or "models")[:-1],
            "repo": match.group(2),
            "revision": match.group(3),
            "path": match.group(4),
        }
    return found


def _endpoint() -> str:
    return os.environ.get("HF_ENDPOINT") or "https://huggingface.co"


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on")


def _project(exc: BaseException) -> list[str] | None:
    """Our own user errors (`Star1Error`) carry messages written for the user: show them as they are."""
    if not isinstance(exc, Star1Error):
        return None
    lines = [line.rstrip() for line in str(exc).strip().splitlines() if line.strip()] or [type(exc).__name__]
    if len(lines) > MAX_PROJECT_LINES:
        lines = lines[:MAX_PROJECT_LINES] + [f"… {len(lines) - MAX_PROJECT_LINES} more line(s); run with -v"]
    return [f"error: {lines[0]}", *lines[1:]]


def _gated(exc: BaseException) -> list[str] | None:
    if not _is(exc, "huggingface_hub", "GatedRepoError"):
        return None
    target = _hub_target(exc)
    return [
        f"error: {target.get('type', 'repo')} {target.get('repo', '?')!r} is gated on {_endpoint()}",
        "accept its conditions on the repo page, then log in (`hf auth login`) or set HF_TOKEN",
    ]


def _repo_not_found(exc: BaseException) -> list[str] | None:
    if _is(exc, "huggingface_hub", "RepositoryNotFoundError"):
        target = _hub_target(exc)
        what = f"{target.get('type', 'repo')} {target.get('repo', '?')!r}"
    elif _is(exc, "datasets", "DatasetNotFoundError"):
        what = _first_line(str(exc)).rstrip(".")
        return [
            f"error: {what}",
            f"check the id on {_endpoint()}; for a private repo log in (`hf auth login`) or set HF_TOKEN",
        ]
    else:
        return None
    return [
        f"error: {what} not found on {_endpoint()} (or it is private)",
        "check the id (org/name); for a private repo log in (`hf auth login`) or set HF_TOKEN",
    ]


def _refused_token(exc: BaseException) -> list[str] | None:
    """401 / 403 from the Hub: no token, a wrong one, or one without the right to do this."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if not _is(exc, "huggingface_hub", "HfHubHTTPError") or status not in (401, 403):
        return None
    target = _hub_target(exc)
    what = f" for {target.get('type', 'repo')} {target['repo']!r}" if target.get("repo") else ""
    reason = "rejected the token" if status == 401 else "refused access"
    said = _first_line(str(getattr(exc, "server_message", None) or ""))
    method = _method_of(exc)
    need = "a token with read access to it" if method in _READ_METHODS else "a token with write access to it"
    fix = f"log in with `hf auth login` or set HF_TOKEN to {need if method else 'a token that may do this'}"
    return [f"error: {_endpoint()} {reason}{what} (HTTP {status}{': ' + said if said else ''})", fix]


def _revision_not_found(exc: BaseException) -> list[str] | None:
    if not _is(exc, "huggingface_hub", "RevisionNotFoundError"):
        return None
    target = _hub_target(exc)
    quoted = re.findall(r"'([^']+)'", str(exc))
    revision = target.get("revision") or (quoted[0] if quoted else "?")
    return [
        f"error: {target.get('type', 'repo')} {target.get('repo', '?')!r} has no revision {revision!r}",
        "use an existing branch, tag or commit sha (`@main`, `@v1`, …) after the repo id",
    ]


def _entry_not_found(exc: BaseException) -> list[str] | None:
    if not _is(exc, "huggingface_hub", "RemoteEntryNotFoundError"):
        return None
    target = _hub_target(exc)
    where = f"{target.get('type', 'repo')} {target.get('repo', '?')!r}"
    if target.get("revision"):
        where += f" at {target['revision']!r}"
    return [
        f"error: file {target.get('path', _first_line(str(exc)))!r} not found in {where}",
        "check the file name and the revision",
    ]


def _offline_without_copy(exc: BaseException) -> list[str] | None:
    if not (
        _is(exc, "huggingface_hub", "LocalEntryNotFoundError", "OfflineModeIsEnabled")
        or (_offline() and _is(exc, "datasets", "DatasetNotFoundError", "DataFilesNotFoundError"))
    ):
        return None
    if _offline():
        return [
            f"error: offline (HF_HUB_OFFLINE=1) and no local copy: {_first_line(str(exc))}",
            "run the command once online to cache it, or unset HF_HUB_OFFLINE",
        ]
    return [
        f"error: cannot reach {_endpoint()} and no local copy: {_first_line(str(exc))}",
        "check the network / HF_ENDPOINT, or download it once while online",
    ]


def _invalid_repo_id(exc: BaseException) -> list[str] | None:
    if not _is(exc, "huggingface_hub", "HFValidationError"):
        return None
    quoted = re.findall(r"'([^']*)'", str(exc))
    value = quoted[-1] if quoted else _first_line(str(exc))
    return [
        f"error: {value!r} is neither an existing local path nor a valid Hub repo id (org/name)",
        "check the path (it must exist) or the repo id",
    ]


def _missing_file(exc: BaseException) -> list[str] | None:
    if not isinstance(exc, (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)):
        return None
    filename = getattr(exc, "filename", None)
    if filename is None:
        return [f"error: {_first_line(str(exc))}", "check the path and run again"]
    reason = {
        FileNotFoundError: "no such file or folder",
        IsADirectoryError: "is a folder, expected a file",
        NotADirectoryError: "is not a folder",
        PermissionError: "permission denied",
    }
    text = next((text for kind, text in reason.items() if isinstance(exc, kind)), exc.strerror or "cannot open")
    return [f"error: {os.fsdecode(filename)!r}: {text}", "check the path and run again"]


def _yaml(exc: BaseException) -> list[str] | None:
    if not _is(exc, "yaml", "YAMLError"):
        return None
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or _first_line(str(exc))
    if mark is not None:
        where = f"{mark.name} line {mark.line + 1}, column {mark.column + 1}"
        return [f"error: invalid YAML in {where}: {problem}", "fix the YAML syntax there and run again"]
    return [f"error: invalid YAML: {problem}", "fix the YAML syntax and run again"]


def _pydantic(exc: BaseException) -> list[str] | None:
    if not _is(exc, "pydantic_core", "ValidationError") and not _is(exc, "pydantic", "ValidationError"):
        return None
    errors = exc.errors() if callable(getattr(exc, "errors", None)) else []
    if not errors:
        return [f"error: invalid value: {_first_line(str(exc))}"]
    first = errors[0]
    key = ".".join(str(part) for part in first.get("loc", ())) or "value"
    more = f" (and {len(errors) - 1} more invalid value(s))" if len(errors) > 1 else ""
    return [
        f"error: invalid value for {key!r}: {first.get('msg', 'invalid')} (got {first.get('input')!r}){more}",
        "fix the value and run again",
    ]


def _unreachable(exc: BaseException) -> list[str] | None:
    if not (
        _is(exc, "httpx", "ConnectError", "ConnectTimeout")
        or _is(exc, "openai", "APIConnectionError")
        or _is(exc, "requests", "ConnectionError")
        or _is(exc, "aiohttp", "ClientConnectorError")
        or isinstance(exc, ConnectionRefusedError)
    ):
        return None
    url = _url_of(exc)
    cause = next((_first_line(str(e)) for e in _chain(exc) if e is not exc and str(e).strip()), "")
    detail = f" ({cause})" if cause else ""
    return [
        f"error: cannot reach {url or 'the endpoint'}{detail}",
        "is the server running? check --base-url / HF_ENDPOINT and the port",
    ]


def _library_value(exc: BaseException) -> list[str] | None:
    """Well-known value errors of `datasets` / `transformers` that name the user's value in their first line."""
    text = _first_line(str(exc))
    if _is(exc, "builtins", "ValueError") and re.match(r"(BuilderConfig .* not found|Unknown split|Bad split)", text):
        return [f"error: {text}", "use one of the available names it lists"]
    if isinstance(exc, OSError) and re.search(r"is not a local folder and is not a valid model identifier", text):
        return [f"error: {text}", "check the path (it must exist) or the model id"]
    return None


_EXPLAINERS: tuple[Callable[[BaseException], list[str] | None], ...] = (
    _project,
    _gated,
    _revision_not_found,
    _offline_without_copy,
    _repo_not_found,
    _entry_not_found,
    _refused_token,
    _invalid_repo_id,
    _yaml,
    _pydantic,
    _unreachable,
    _missing_file,
    _library_value,
)


def exit_code(exc: BaseException) -> int:
    """The exit code for a user error: the `exit_code` of the first `Star1Error` in the chain, else 2."""
    return next((error.exit_code for error in _chain(exc) if isinstance(error, Star1Error)), Star1Error.exit_code)


def explain(exc: BaseException) -> list[str] | None:
    """Return the lines that explain a user-causable error, or None when `exc` is not one (show the traceback)."""
    for error in _chain(exc):
        for explainer in _EXPLAINERS:
            lines = explainer(error)
            if lines:
                return lines
    return None
