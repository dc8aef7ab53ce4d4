"""The one preflight: check an OpenAI-compatible endpoint before anything is spent on it.

Curation (`star1 curate`, the build runner) calls `preflight(endpoint, ...)`; evaluation (`star1 eval run`,
star1_hub.evaluate.preflight) adds its own checks (context budget of a recipe, judges answering, one generation
protocol) on top of the same client: `list_models` and `ping`. One error type (`PreflightError`) and one report
(`PreflightReport`) for both.

    report = preflight(endpoint, max_tokens=8000, longest_prompt_chars=12_000)

Checks, in order (the first that fails raises `PreflightError` naming the fix):

1. `api_key_env`, when given, names a variable that is set (a `RecipeError` naming it);
2. `GET {base_url}/models`, sent with the key the endpoint was given, answers (a refused connection or a timeout:
   the server is not running or the URL is wrong; 401/403: "the server refused the API key (from VAR)", or "no
   API key was sent; pass --api-key-env VAR" when there was none);
3. the model is listed there (vLLM lists its `--served-model-name`);
4. when the server advertises `max_model_len` for the model (vLLM does, in the same listing), it covers
   `max_tokens` plus the longest prompt (given in tokens, or in characters and estimated at 3 characters per
   token, on the safe side).

A provider without a usable `/models` listing (404/405) is not an error: the model and context checks are skipped
and the report's `notes` say so, so callers can show it. The key is read from the environment when a request is
sent; it is never stored, and it is redacted from every message.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from star1_hub.errors import RecipeError
from star1_hub.teacher.endpoint import read_api_key
from star1_hub.teacher.redact import redact

logger = logging.getLogger(__name__)

CHARS_PER_TOKEN_ESTIMATE = 3.0
"""Characters per token used to estimate a prompt's length from its characters (low, so the check is safe)."""

DEFAULT_KEY_VARIABLE = "OPENAI_API_KEY"
"""The variable read when an endpoint names none (`read_api_key`); without it, vLLM's "EMPTY" is sent."""


class PreflightError(RecipeError):
    """An endpoint cannot serve the run as configured; the message names the fix. Nothing was sent."""


@dataclass
class PreflightReport:
    """What the checks found: one entry per check (`role`, `ok`, `detail`, and any figures the check measured,
    e.g. `max_model_len`, `needed_tokens`), and notes on what could not be checked."""

    checks: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, role: str, ok: bool, detail: str, **figures: Any) -> None:
        self.checks.append({"role": role, "ok": ok, "detail": detail, **figures})

    @property
    def ok(self) -> bool:
        return all(check["ok"] for check in self.checks)

    def failures(self) -> list[str]:
        return [f"{c['role']}: {c['detail']}" for c in self.checks if not c["ok"]]


@dataclass
class ModelListing:
    """An endpoint's `/models`: `{model id: max_model_len or None}`, or None when it has no usable listing."""

    base_url: str
    models: dict[str, int | None] | None
    note: str | None = None

    def max_model_len(self, model: str) -> int | None:
        length = (self.models or {}).get(model)
        return length if isinstance(length, int) and not isinstance(length, bool) and length > 0 else None


def key_source(api_key_env: str | None) -> str | None:
    """The variable the sent key comes from: `api_key_env`, else `OPENAI_API_KEY` when set, else None (no key)."""
    if api_key_env:
        return api_key_env
    return DEFAULT_KEY_VARIABLE if os.environ.get(DEFAULT_KEY_VARIABLE) else None


def _request(url: str, api_key: str, timeout_s: float, body: dict | None = None) -> tuple[int, Any]:
    """(HTTP status, parsed JSON or text) of one GET (or POST with `body`); connection errors propagate."""
    headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method="GET" if body is None else "POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 (http(s) checked earlier)
            raw = response.read(2_000_000)
            return response.status, json.loads(raw or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(2000).decode("utf-8", "replace")
    except json.JSONDecodeError as exc:
        return 200, f"not JSON: {exc}"


def _refused(base_url: str, status: int, data: Any, api_key: str, api_key_env: str | None, key_flag: str) -> str:
    said = redact(str(data), api_key)[:200]
    source = key_source(api_key_env)
    if source is None:
        return (
            f"{base_url} answered HTTP {status} ({said}): no API key was sent; pass {key_flag} VAR, the name of "
            "the environment variable that holds the key; nothing was sent"
        )
    fix = f"put a valid key in ${source}"
    if not api_key_env:
        fix += f", or pass {key_flag} VAR naming the variable that holds this server's key"
    return f"the server {base_url} refused the API key (from {source}; HTTP {status}: {said}); {fix}; nothing was sent"


def _unreachable(base_url: str, reason: Any, api_key: str, url_flag: str) -> str:
    return (
        f"cannot reach {base_url}: it does not answer /v1/models ({redact(str(reason), api_key)}); start the "
        f"server (e.g. `star1 serve --model embedded --port 8000`) or fix {url_flag}; nothing was sent"
    )


def _ask(
    base_url: str,
    path: str,
    api_key_env: str | None,
    key_flag: str,
    url_flag: str,
    timeout_s: float,
    body: dict | None = None,
) -> tuple[int, Any, str]:
    """(status, data, the key sent) of one request to `base_url + path` with the endpoint's key; an unreachable
    server and a refused key (401/403) raise PreflightError naming the flag to fix, for every check alike."""
    api_key = read_api_key(api_key_env)
    try:
        status, data = _request(base_url.rstrip("/") + path, api_key, timeout_s, body)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise PreflightError(_unreachable(base_url, getattr(exc, "reason", exc), api_key, url_flag)) from None
    if status in (401, 403):
        raise PreflightError(_refused(base_url, status, data, api_key, api_key_env, key_flag))
    return status, data, api_key


def list_models(
    base_url: str,
    api_key_env: str | None = None,
    *,
    key_flag: str = "--api-key-env",
    url_flag: str = "--base-url",
    timeout_s: float = 15.0,
) -> ModelListing:
    """`GET {base_url}/models` with the key from `api_key_env` (see `read_api_key`).

    Raises:
        RecipeError: `api_key_env` names a variable that is not set.
        PreflightError: the server cannot be reached, refuses the key (401/403), or answers something that is
            not a model list; the message names the flag to fix (`key_flag`, `url_flag`).
    """
    status, data, api_key = _ask(base_url, "/models", api_key_env, key_flag, url_flag, timeout_s)
    if status in (404, 405):
        note = f"{base_url}/models is not available (HTTP {status}): model and context not checked"
        return ModelListing(base_url, None, note)
    if status != 200 or not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise PreflightError(
            f"{base_url}/models answered HTTP {status} with {redact(str(data), api_key)[:200]!r}, not a model list: "
            f"is {url_flag} the OpenAI-compatible root (ending in /v1)? nothing was sent"
        )
    models = {str(c["id"]): c.get("max_model_len") for c in data["data"] if isinstance(c, dict) and c.get("id")}
    return ModelListing(base_url, models)


def check_served(listing: ModelListing, model: str, model_flag: str = "--model") -> None:
    """Raise PreflightError unless `model` is in the listing (a listing of None checks nothing)."""
    if listing.models is not None and model not in listing.models:
        raise PreflightError(
            f"{listing.base_url} does not serve the model {model!r} (it serves {sorted(listing.models)}); pass "
            f"{model_flag} with one of those, or start vLLM with `--served-model-name {model}`; nothing was sent"
        )


def ping(
    base_url: str,
    model: str,
    api_key_env: str | None = None,
    *,
    key_flag: str = "--api-key-env",
    url_flag: str = "--base-url",
    timeout_s: float = 60.0,
) -> None:
    """Send one one-token chat request (the model answers at all), with the endpoint's key.

    Raises:
        RecipeError / PreflightError: as `list_models`, or the request did not succeed (the server's words).
    """
    body = {"model": model, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 1, "temperature": 0}
    status, data, api_key = _ask(base_url, "/chat/completions", api_key_env, key_flag, url_flag, timeout_s, body)
    if status != 200 or not isinstance(data, dict):
        raise PreflightError(
            f"{model!r} at {base_url} did not answer a one-token request (HTTP {status}: "
            f"{redact(str(data), api_key)[:200]})"
        )


def preflight(
    endpoint,
    max_tokens: int | None = None,
    longest_prompt_tokens: int | None = None,
    longest_prompt_chars: int | None = None,
    timeout_s: float = 15.0,
    key_flag: str = "--api-key-env",
) -> PreflightReport:
    """Check `endpoint` (an `EndpointConfig`) before a curation stage sends; see the module docstring.

    Args:
        endpoint: The endpoint to check.
        max_tokens: Completion budget per request (default: `endpoint.params["max_tokens"]` or
            `max_completion_tokens` when set).
        longest_prompt_tokens: The longest prompt in tokens, when known.
        longest_prompt_chars: Else its length in characters (estimated at `CHARS_PER_TOKEN_ESTIMATE`).
        timeout_s: How long to wait for `/models`.
        key_flag: How the user names the key variable here (in messages).

    Returns:
        A PreflightReport: the `endpoint` check (with `served_models`) and, when the server advertises a
        context, the `context` check (with `max_model_len` and `needed_tokens`).

    Raises:
        PreflightError: naming what is wrong and the fix.
    """
    base_url, model = endpoint.base_url, endpoint.model
    report = PreflightReport()
    if max_tokens is None:
        params = getattr(endpoint, "params", None) or {}
        max_tokens = params.get("max_tokens") or params.get("max_completion_tokens")
    listing = list_models(base_url, endpoint.api_key_env, key_flag=key_flag, timeout_s=timeout_s)
    if listing.models is None:
        report.notes.append(listing.note)
        logger.warning(listing.note)
        return report
    check_served(listing, model)
    report.add("endpoint", True, f"{base_url} serves {model!r}", served_models=sorted(listing.models))
    length = listing.max_model_len(model)
    if length is None:
        report.notes.append(f"{base_url} does not advertise max_model_len for {model!r}: context not checked")
        return report
    prompt_tokens = longest_prompt_tokens
    if prompt_tokens is None and longest_prompt_chars is not None:
        prompt_tokens = int(longest_prompt_chars / CHARS_PER_TOKEN_ESTIMATE) + 1
    if not max_tokens:
        return report
    needed = int(max_tokens) + int(prompt_tokens or 0)
    if needed > length:
        room = length - int(prompt_tokens or 0)
        lower = f"lower max_tokens to at most {room} (--param max_tokens={room}), or " if room > 0 else ""
        raise PreflightError(
            f"{model!r} at {base_url} has a context of max_model_len={length} tokens, but max_tokens={max_tokens} "
            f"+ the longest prompt (≈{prompt_tokens or 0} tokens) needs {needed}: {lower}restart vLLM with "
            f"`--max-model-len {needed}` or more; nothing was sent"
        )
    report.add(
        "context", True, f"max_model_len={length} covers {needed} tokens", max_model_len=length, needed_tokens=needed
    )
    return report
