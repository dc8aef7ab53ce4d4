"""Check an endpoint before a stage spends anything: it answers, serves the model, and its context fits.

    report = preflight(endpoint, max_tokens=8000, longest_prompt_chars=12_000)

Checks, in order (the first that fails raises `PreflightError` naming the fix):

1. `api_key_env`, when given, names a variable that is set;
2. `GET {base_url}/models` answers (a refused connection or a timeout: the server is not running or the URL is
   wrong; 401/403: the key is refused);
3. the model is listed there (vLLM lists its `--served-model-name`);
4. when the server advertises `max_model_len` for the model (vLLM does, in the same listing), it covers
   `max_tokens` plus the longest prompt (given in tokens, or in characters and estimated at 3 characters per
   token, on the safe side).

A provider without a usable `/models` listing (404/405) is not an error: the model and context checks are skipped
and the report's `notes` say so, so callers can show it.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from star1_hub.errors import RecipeError
from star1_hub.teacher.redact import redact

logger = logging.getLogger(__name__)

CHARS_PER_TOKEN_ESTIMATE = 3.0
"""Characters per token used to estimate a prompt's length from its characters (low, so the check is safe)."""


class PreflightError(RecipeError):
    """The endpoint cannot serve the stage as configured; the message names the fix. Nothing was sent."""


@dataclass
class PreflightReport:
    """What the endpoint told us."""

    base_url: str
    model: str
    served_models: list[str] = field(default_factory=list)
    max_model_len: int | None = None
    needed_tokens: int | None = None
    notes: list[str] = field(default_factory=list)


def _get_models(base_url: str, api_key: str, timeout_s: float) -> tuple[int, Any]:
    url = base_url.rstrip("/") + "/models"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 (http(s) checked earlier)
            raw = response.read(2_000_000)
            return response.status, json.loads(raw or b"null")
    except urllib.error.HTTPError as exc:
        body = exc.read(2000).decode("utf-8", "replace")
        return exc.code, body
    except json.JSONDecodeError as exc:
        return 200, f"not JSON: {exc}"


def preflight(
    endpoint,
    max_tokens: int | None = None,
    longest_prompt_tokens: int | None = None,
    longest_prompt_chars: int | None = None,
    timeout_s: float = 15.0,
) -> PreflightReport:
    """Check `endpoint` (an `EndpointConfig`) before sending; see the module docstring.

    Args:
        endpoint: The endpoint to check.
        max_tokens: Completion budget per request (default: `endpoint.params["max_tokens"]` or
            `max_completion_tokens` when set).
        longest_prompt_tokens: The longest prompt in tokens, when known.
        longest_prompt_chars: Else its length in characters (estimated at `CHARS_PER_TOKEN_ESTIMATE`).
        timeout_s: How long to wait for `/models`.

    Returns:
        A PreflightReport.

    Raises:
        PreflightError: naming what is wrong and the fix.
    """
    base_url, model = endpoint.base_url, endpoint.model
    report = PreflightReport(base_url=base_url, model=model)
    api_key = endpoint.api_key()  # RecipeError naming the variable when api_key_env is set but empty
    if max_tokens is None:
        params = getattr(endpoint, "params", None) or {}
        max_tokens = params.get("max_tokens") or params.get("max_completion_tokens")
    try:
        status, data = _get_models(base_url, api_key, timeout_s)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PreflightError(
            f"cannot reach {base_url} ({redact(str(reason), api_key)}): start the server (e.g. `star1 serve "
            f"--model embedded --port 8000`) or fix --base-url; nothing was sent"
        ) from None
    if status in (401, 403):
        variable = endpoint.api_key_env or "OPENAI_API_KEY"
        raise PreflightError(
            f"{base_url} refused the API key (HTTP {status}: {redact(str(data), api_key)[:200]}); put a valid key in "
            f"${variable} (--api-key-env names the variable); nothing was sent"
        )
    if status in (404, 405):
        report.notes.append(f"{base_url}/models is not available (HTTP {status}): model and context not checked")
        logger.warning(report.notes[-1])
        return report
    if status != 200 or not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise PreflightError(
            f"{base_url}/models answered HTTP {status} with {redact(str(data), api_key)[:200]!r}, not a model list: "
            "is --base-url the OpenAI-compatible root (ending in /v1)? nothing was sent"
        )
    cards = {str(card.get("id")): card for card in data["data"] if isinstance(card, dict) and card.get("id")}
    report.served_models = sorted(cards)
    if model not in cards:
        raise PreflightError(
            f"{base_url} does not serve the model {model!r} (it serves {report.served_models}); pass --model with one "
            f"of those, or start vLLM with `--served-model-name {model}`; nothing was sent"
        )
    length = cards[model].get("max_model_len")
    if isinstance(length, int) and not isinstance(length, bool) and length > 0:
        report.max_model_len = length
    else:
        report.notes.append(f"{base_url} does not advertise max_model_len for {model!r}: context not checked")
    prompt_tokens = longest_prompt_tokens
    if prompt_tokens is None and longest_prompt_chars is not None:
        prompt_tokens = int(longest_prompt_chars / CHARS_PER_TOKEN_ESTIMATE) + 1
    if report.max_model_len is not None and max_tokens:
        needed = int(max_tokens) + int(prompt_tokens or 0)
        report.needed_tokens = needed
        if needed > report.max_model_len:
            room = report.max_model_len - int(prompt_tokens or 0)
            lower = f"lower max_tokens to at most {room} (--param max_tokens={room}), or " if room > 0 else ""
            raise PreflightError(
                f"{model!r} at {base_url} has a context of max_model_len={report.max_model_len} tokens, but "
                f"max_tokens={max_tokens} + the longest prompt (≈{prompt_tokens or 0} tokens) needs {needed}: "
                f"{lower}restart vLLM with `--max-model-len {needed}` or more; nothing was sent"
            )
    return report
