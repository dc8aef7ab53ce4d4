"""Redaction of secrets from text that may be stored, logged or shown (error details, cache rows, log lines, cards).

What counts as a secret: the values of the usual key variables (`OPENAI_API_KEY`, `HF_TOKEN`, every `*_API_KEY` /
`*_TOKEN` variable, each endpoint's `api_key_env`), keys handed to an engine directly (`register_secret`, kept in
this process's memory only), and any `Bearer …` / `Basic …` / `sk-…` / `hf_…` / `nvapi-…`-shaped token.

Every form a server or a library may echo a known secret in is removed: the plain value, URL-encoded
(`quote`, `quote_plus`), JSON-escaped (with and without `\\/`), and any fragment of one of these of at least
`MIN_FRAGMENT` characters — a truncated detail (`key[:n]`), a key split across a line or a JSON field, a masked
key that shows its head. `redact` (details, logs) also removes key-shaped tokens; `scrub` (the text of 200
replies, which is model output) removes only the known secrets, so an answer that talks about `sk-` keys keeps
its words. Both are linear in the text.

`install_log_redaction()` makes every log record of the process pass through `redact` before any handler sees
it (the engine installs it), and `url_credentials` names the credentials a base URL carries (refused by the
endpoint and engine configs: a key never travels inside a URL into records or cards).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from functools import lru_cache
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

REDACTED = "[REDACTED]"
MIN_SECRET = 6  # shorter values (e.g. "EMPTY", "none") are not treated as secrets
MIN_FRAGMENT = 8  # a fragment of a secret this long or longer is redacted wherever it appears
_TOKEN_PATTERNS = re.compile(
    r"(?:Bearer|Basic)[ \t]+[A-Za-z0-9._~+/=-]{4,}"  # Authorization header values
    r"|\b(?:sk|pk|rk)-[A-Za-z0-9_-]{8,}"  # OpenAI / DeepSeek / Anthropic-style keys
    r"|\bhf_[A-Za-z0-9]{8,}"  # Hugging Face tokens
    r"|\bnvapi-[A-Za-z0-9_-]{8,}"  # NVIDIA NIM keys
)
_KEY_ENV_NAMES = ("OPENAI_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "NVIDIA_API_KEY", "DEEPSEEK_API_KEY")
# Query parameters that carry credentials (compared lower-case, `-` read as `_`).
CREDENTIAL_PARAMS = frozenset(
    {"api_key", "apikey", "key", "token", "access_token", "auth", "authorization", "password", "secret", "sig"}
)
_extra_env_names: set[str] = set()
_extra_secrets: set[str] = set()
_lock = threading.Lock()


def register_key_env(name: str | None) -> None:
    """Also redact the value of environment variable `name` (an endpoint's `api_key_env`)."""
    if name:
        with _lock:
            _extra_env_names.add(name)


def register_secret(value: str | None) -> None:
    """Also redact `value` (a key given to an engine directly); kept in this process's memory only."""
    if value and len(value) >= MIN_SECRET and value != "EMPTY":
        with _lock:
            _extra_secrets.add(value)


_env_names: tuple[int, float, tuple[str, ...]] = (-1, 0.0, ())


def _key_env_names() -> tuple[str, ...]:
    """Names of the key variables: the usual ones, the registered ones, every `*_API_KEY` / `*_TOKEN` variable.

    The scan of the environment's names is redone when the number of variables changes or after one second (a
    value is always read fresh); it costs more than the rest of a redaction of a short text.
    """
    global _env_names
    count, at, names = _env_names
    now = time.monotonic()
    if count != len(os.environ) or now - at > 1.0:
        names = tuple(name for name in os.environ if name.endswith(("_API_KEY", "_TOKEN")))
        _env_names = (len(os.environ), now, names)
    return (*_KEY_ENV_NAMES, *_extra_env_names, *names)


def _env_values(names: tuple[str, ...]) -> list[str]:
    # os.environ.get raises and catches a KeyError per unset name (microseconds each, per reply); CPython's
    # os.environ keeps its data in a plain dict that answers without one.
    data, encode, decode = (getattr(os.environ, attr, None) for attr in ("_data", "encodekey", "decodevalue"))
    if not isinstance(data, dict) or encode is None or decode is None:
        return [os.environ.get(name) or "" for name in names]
    return [decode(value) for name in names if (value := data.get(encode(name))) is not None]


def known_secrets(*extra: str | None) -> tuple[str, ...]:
    """Every secret value known now (environment, registered, `extra`), longest first."""
    values = set(_env_values(_key_env_names()))
    values.update(_extra_secrets)
    values.update(value for value in extra if value)
    return tuple(sorted((v for v in values if len(v) >= MIN_SECRET and v != "EMPTY"), key=len, reverse=True))


@lru_cache(maxsize=256)
def secret_forms(secret: str) -> tuple[str, ...]:
    """The forms `secret` may be echoed in: plain, URL-encoded, JSON-escaped (longest first)."""
    escaped = json.dumps(secret)[1:-1]
    forms = {
        secret,
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        escaped,
        escaped.replace("/", "\\/"),
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }
    return tuple(sorted(forms, key=len, reverse=True))


@lru_cache(maxsize=64)
def _windows(secrets: tuple[str, ...]) -> tuple[frozenset[str], re.Pattern[str] | None, tuple[str, ...]]:
    """For `secrets`: every `MIN_FRAGMENT`-character window of every form; a regex of the runs of text that could
    hold one (characters of the forms' alphabet); and the forms' 4-grams at positions 0, 4, 8, … — every fragment
    of 8 or more characters contains one, so a text holding none of them holds no fragment (a fast first test)."""
    forms = [form for secret in secrets for form in secret_forms(secret) if len(form) >= MIN_FRAGMENT]
    windows = frozenset(form[i : i + MIN_FRAGMENT] for form in forms for i in range(len(form) - MIN_FRAGMENT + 1))
    if not windows:
        return windows, None, ()
    alphabet = "".join(sorted({c for w in windows for c in w}))
    grams = tuple(sorted({form[i : i + 4] for form in forms for i in range(0, len(form) - 3, 4)}))
    return windows, re.compile(f"[{re.escape(alphabet)}]{{{MIN_FRAGMENT},}}"), grams


def _remove_secrets(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:  # whole values first (also the short ones no window covers)
        for form in secret_forms(secret):
            if form in text:
                text = text.replace(form, REDACTED)
    windows, runs, grams = _windows(secrets)
    if runs is None or not any(gram in text for gram in grams):
        return text
    # Mark every character covered by a window of a secret, then replace each marked run (so overlapping and
    # adjacent windows — one fragment longer than a window — become one `[REDACTED]`).
    covered: bytearray | None = None
    for run in runs.finditer(text):
        segment, offset = run.group(), run.start()
        for i in range(len(segment) - MIN_FRAGMENT + 1):
            if segment[i : i + MIN_FRAGMENT] in windows:
                if covered is None:
                    covered = bytearray(len(text))
                covered[offset + i : offset + i + MIN_FRAGMENT] = b"\x01" * MIN_FRAGMENT
    if covered is None:
        return text
    out, i = [], 0
    while i < len(text):
        if covered[i]:
            j = i
            while j < len(text) and covered[j]:
                j += 1
            out.append(REDACTED)
            i = j
        else:
            j = covered.find(b"\x01", i)
            j = len(text) if j < 0 else j
            out.append(text[i:j])
            i = j
    return "".join(out)


def scrub(text: str | None, *secrets: str | None) -> str | None:
    """`text` without any form or fragment of a known secret (key-shaped words that are no known key stay)."""
    if not text:
        return text
    return _remove_secrets(text, known_secrets(*secrets))


def redact(text: str | None, *secrets: str | None) -> str | None:
    """`text` without known secrets (every form, every fragment ≥ `MIN_FRAGMENT`) and without key-shaped tokens."""
    if not text:
        return text
    return _TOKEN_PATTERNS.sub(REDACTED, _remove_secrets(text, known_secrets(*secrets)))


def looks_like_secret(value: str) -> bool:
    """True when `value` has the shape of a key or token (used to refuse a key where a variable name belongs)."""
    return bool(_TOKEN_PATTERNS.search(value)) or (len(value) >= 32 and not value.replace("_", "").isupper())


def url_credentials(url: str) -> str | None:
    """What credential `url` carries (user info, a key-like query parameter, a key-shaped part), else None."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "a user name or password before the host (`user:key@host`)"
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name.lower().replace("-", "_") in CREDENTIAL_PARAMS:
            return f"the query parameter `{name}`"
        if value and looks_like_secret(value):
            return f"a key-shaped value in the query parameter `{name}`"
    if parts.fragment and looks_like_secret(parts.fragment):
        return "a key-shaped fragment"
    if _TOKEN_PATTERNS.search(parts.path) or any(v and v in url for v in known_secrets()):
        return "a key in the path"
    return None


# --- logs -------------------------------------------------------------------------------------------------------

_installed = False


def install_log_redaction() -> None:
    """Redact every log record of this process (message and arguments) before any handler formats it.

    Wraps the log record factory once; records made before the call are not touched. Costs one `redact` per
    record that passes its logger's level.
    """
    global _installed
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args, **kwargs) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            try:
                message = record.getMessage()
            except Exception:  # noqa: BLE001 - a malformed record is the logging module's to report
                return record
            cleaned = redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, ()
            if record.exc_info and record.exc_info[1] is not None:
                # the traceback text is built by the handler: keep the type, drop a message that holds a secret
                exc = record.exc_info[1]
                if redact(str(exc)) != str(exc):
                    record.exc_text = f"{type(exc).__name__}: {redact(str(exc))}"
            return record

        logging.setLogRecordFactory(factory)
        _installed = True
