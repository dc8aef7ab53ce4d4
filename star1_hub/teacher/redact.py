"""Redaction of secrets from text that may be stored, logged or shown (error details, cache rows, exceptions).

Removes the values of known key variables and any `Bearer …` / `sk-…` / `hf_…`-shaped token. Linear time.
"""

from __future__ import annotations

import os
import re

REDACTED = "[REDACTED]"
_TOKEN_PATTERNS = re.compile(
    r"(?:Bearer|Basic)[ \t]+[A-Za-z0-9._~+/=-]{4,}"  # Authorization header values
    r"|\b(?:sk|pk|rk)-[A-Za-z0-9_-]{8,}"  # OpenAI / DeepSeek / Anthropic-style keys
    r"|\bhf_[A-Za-z0-9]{8,}"  # Hugging Face tokens
    r"|\bnvapi-[A-Za-z0-9_-]{8,}"  # NVIDIA NIM keys
)
_KEY_ENV_NAMES = ("OPENAI_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "NVIDIA_API_KEY", "DEEPSEEK_API_KEY")
_extra_env_names: set[str] = set()


def register_key_env(name: str | None) -> None:
    """Also redact the value of environment variable `name` (an endpoint's `api_key_env`)."""
    if name:
        _extra_env_names.add(name)


def _secret_values(extra: tuple[str, ...]) -> list[str]:
    names = {*_KEY_ENV_NAMES, *_extra_env_names}
    names.update(name for name in os.environ if name.endswith(("_API_KEY", "_TOKEN")))
    values = [os.environ.get(name) or "" for name in names]
    values.extend(extra)
    return sorted({v for v in values if len(v) >= 6 and v != "EMPTY"}, key=len, reverse=True)


def redact(text: str | None, *secrets: str | None) -> str | None:
    """`text` with known keys (env values and `secrets`) and key-shaped tokens replaced by `[REDACTED]`."""
    if not text:
        return text
    for value in _secret_values(tuple(s for s in secrets if s)):
        if value in text:
            text = text.replace(value, REDACTED)
    return _TOKEN_PATTERNS.sub(REDACTED, text)


def looks_like_secret(value: str) -> bool:
    """True when `value` has the shape of a key or token (used to refuse a key where a variable name belongs)."""
    return bool(_TOKEN_PATTERNS.search(value)) or (len(value) >= 32 and not value.replace("_", "").isupper())
