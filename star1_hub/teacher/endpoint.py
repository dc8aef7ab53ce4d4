"""`EndpointConfig`: where an LLM lives and how hard it may be driven — one type for curation, judges, eval
generation and the build scripts, loaded the same way from a YAML block and from command-line flags.
`EngineConfig`, what a `TeacherEngine` runs with, is an `EndpointConfig` plus the settings of one run (stage,
cache, progress, prices): the endpoint's fields are declared and validated once, here.

    endpoint = EndpointConfig.from_mapping(yaml_block, where="star1.yaml: teacher")
    engine = TeacherEngine(endpoint.engine_config(stage="reason", cache_dir="cache"))

The API key itself is never part of the config: `api_key_env` names the environment variable that holds it, and
the key is read from the environment only where a request is sent.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from star1_hub.errors import RecipeError

TRANSPORTS = ("openai", "aiohttp")

# Retry policies by role (`retry_policy:` in a YAML block, `--retry-policy` on the command line; see
# docs/deviations.md). Which default belongs to which role:
# - `paper-r1`: the original R1 reasoning loop (the teacher of `curate reason`): up to 10 attempts, any output
#   that did not stop cleanly (truncated, filtered, unparseable) re-sampled within them.
# - `paper-gpt4o`: the original GPT-4o calls (classifier, scorer, rewriter): 3 attempts.
# - `engine`: the default elsewhere: 5 attempts for transient errors, 1 re-sample of a bad output.
# - `judge`: greedy eval judges: 5 attempts, no re-sample (a temperature-0 judge would repeat its reply).
RETRY_POLICIES: dict[str, dict[str, Any]] = {
    "paper-r1": {"max_attempts": 10, "output_retries": 9},
    "paper-gpt4o": {"max_attempts": 3, "output_retries": 2},
    "engine": {"max_attempts": 5, "output_retries": 1},
    "judge": {"max_attempts": 5, "output_retries": 0},
}


@dataclass
class EndpointConfig:
    """An OpenAI-compatible endpoint and the limits and policies used with it.

    Args:
        base_url: e.g. `http://127.0.0.1:8000/v1` or `https://api.openai.com/v1`.
        model: Model name sent with every request (part of the cache key).
        api_key_env: Name of the environment variable holding the key (None: `$OPENAI_API_KEY`, else "EMPTY"
            for local servers). The key itself is never stored, logged or pickled.
        params: Generation parameters sent with every request (temperature, top_p, max_tokens, seed, ...);
            a task's own params are the defaults these override.
        concurrency: Requests in flight at most.
        rpm: Requests-per-minute limit, None for none.
        tpm: Tokens-per-minute limit, None for none.
        timeout_s: Total time allowed per request attempt in seconds; None for no total timeout.
        max_attempts: Attempts per request, every kind of retry included.
        output_retries: Extra attempts for outputs that did not stop cleanly (`length`, `content_filter`,
            `unparseable`), counted within `max_attempts`. The paper's R1 policy is `retry_policy: paper-r1`.
        backoff_base_s: First back-off delay after a transient failure (doubles, full jitter).
        backoff_max_s: Longest back-off or Retry-After wait honoured.
        structured_output: Send `response_format=json_schema` for tasks with a response model.
        batch_api: Use the provider's Batch API instead of live requests.
        transport: "openai" (the SDK) or "aiohttp" (a lean session, for high-rate local servers).
        retry_failed: Re-send requests whose deterministic failure is in the cache.
    """

    base_url: str
    model: str
    api_key_env: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    concurrency: int = 64
    rpm: float | None = None
    tpm: float | None = None
    timeout_s: float | None = 300.0
    max_attempts: int = 5
    output_retries: int = 1
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    structured_output: bool = True
    batch_api: bool = False
    transport: str = "openai"
    retry_failed: bool = False

    def __post_init__(self) -> None:
        self.validate("EndpointConfig")

    def validate(self, where: str) -> None:
        """Raise RecipeError naming `where`, the key and the fix for any invalid value."""

        def bad(key: str, fix: str) -> RecipeError:
            return RecipeError(f"{where}: `{key}` = {getattr(self, key)!r} is invalid; {fix}")

        for key in ("base_url", "model"):
            if not isinstance(getattr(self, key), str) or not getattr(self, key).strip():
                raise bad(key, "give a non-empty string")
        if credentials := _url_credentials(self.base_url):
            # the message must not repeat the URL: it holds the key
            raise RecipeError(
                f"{where}: `base_url` carries credentials ({credentials}); give the bare endpoint URL (e.g. "
                "https://api.example.com/v1) and put the key in an environment variable named by `api_key_env` "
                "(the URL is written into cache keys, stage records and cards, a key never is)"
            )
        if not self.base_url.startswith(("http://", "https://")):
            raise bad("base_url", "give an http(s) URL such as http://127.0.0.1:8000/v1")
        if self.api_key_env is not None and (not isinstance(self.api_key_env, str) or not self.api_key_env.strip()):
            raise bad("api_key_env", "give the NAME of the environment variable that holds the key")
        if self.api_key_env and _looks_like_key(self.api_key_env):
            raise RecipeError(
                f"{where}: `api_key_env` looks like a key itself; give the NAME of the environment variable "
                "holding the key (e.g. OPENAI_API_KEY), never the key"
            )
        if not isinstance(self.params, dict):
            raise bad("params", "give a mapping such as {temperature: 0.6, max_tokens: 8000}")
        if not isinstance(self.concurrency, int) or self.concurrency < 1:
            raise bad("concurrency", "give an integer ≥ 1")
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise bad("max_attempts", "give an integer ≥ 1")
        if not isinstance(self.output_retries, int) or self.output_retries < 0:
            raise bad("output_retries", "give an integer ≥ 0")
        for key in ("rpm", "tpm", "timeout_s"):
            value = getattr(self, key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or value <= 0):
                raise bad(key, "give a positive number, or null for no limit")
        for key in ("backoff_base_s", "backoff_max_s"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise bad(key, "give a number ≥ 0")
        for key in ("structured_output", "batch_api", "retry_failed"):
            if not isinstance(getattr(self, key), bool):
                raise bad(key, "give true or false")
        if self.transport not in TRANSPORTS:
            raise bad("transport", f"choose one of {list(TRANSPORTS)}")

    # --- loading ----------------------------------------------------------------------------------------------

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The keys a YAML block or flag set may give (the endpoint's fields, never a run's)."""
        return tuple(f.name for f in dataclasses.fields(EndpointConfig))

    @classmethod
    def from_mapping(
        cls, data: dict[str, Any], where: str = "endpoint", defaults: dict[str, Any] | None = None
    ) -> EndpointConfig:
        """Build from a YAML/dict block (or from flags, see `endpoint_from_flags`).

        Besides the fields, the block may name `retry_policy` (one of `RETRY_POLICIES`, e.g. `paper-r1`), which
        sets `max_attempts` and `output_retries` unless the block gives them itself. `defaults` (e.g. a stage's
        paper parameters) fill keys the block leaves out; the block's `params` are merged over the defaults'.

        Raises:
            RecipeError: not a mapping, an unknown key (the valid keys are listed), a missing `base_url`/`model`,
                a literal `api_key`, or an invalid value; the message starts with `where`.
        """
        if not isinstance(data, dict):
            raise RecipeError(f"{where}: expected a mapping of endpoint settings, got {type(data).__name__}")
        data = dict(data)
        if "api_key" in data:
            raise RecipeError(
                f"{where}: `api_key` is not accepted (keys are never stored in configs); put the key in an "
                "environment variable and give its name as `api_key_env`"
            )
        policy = data.pop("retry_policy", None)
        valid = cls.field_names()
        unknown = sorted(set(data) - set(valid))
        if unknown:
            raise RecipeError(f"{where}: unknown key(s) {unknown}; valid keys are {sorted((*valid, 'retry_policy'))}")
        defaults = dict(defaults or {})
        default_policy = defaults.pop("retry_policy", None)
        merged: dict[str, Any] = {}
        for name in (default_policy, policy):
            if name is not None and name not in RETRY_POLICIES:
                raise RecipeError(
                    f"{where}: `retry_policy` = {name!r} is unknown; choose one of {sorted(RETRY_POLICIES)}"
                )
        if default_policy is not None:
            merged.update(RETRY_POLICIES[default_policy])
        merged.update(defaults)
        if policy is not None:
            merged.update(RETRY_POLICIES[policy])
        params = {**(merged.get("params") or {}), **(data.pop("params", None) or {})}
        merged.update(data)
        merged["params"] = params
        for key in ("base_url", "model"):
            if not merged.get(key):
                raise RecipeError(f"{where}: `{key}` is required (e.g. base_url: http://127.0.0.1:8000/v1, model: M)")
        kwargs = {name: merged[name] for name in valid if name in merged}
        try:
            return cls(**kwargs)
        except RecipeError as exc:
            raise RecipeError(str(exc).replace("EndpointConfig:", f"{where}:", 1)) from None
        except TypeError as exc:
            raise RecipeError(f"{where}: {exc}") from None

    def replace(self, **changes: Any) -> EndpointConfig:
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    # --- use --------------------------------------------------------------------------------------------------

    def api_key(self) -> str:
        """The key to send, read from the environment now (never stored on the object).

        Raises:
            RecipeError: `api_key_env` is given but that variable is not set.
        """
        return read_api_key(self.api_key_env)

    def public_dict(self) -> dict[str, Any]:
        """The settings that go into dataset cards and manifests (the key's variable name only, never a key)."""
        return {name: copy.deepcopy(getattr(self, name)) for name in EndpointConfig.field_names()}

    def engine_config(
        self, stage: str = "default", cache_dir: Path | str | None = None, **runtime: Any
    ) -> EngineConfig:
        """The `EngineConfig` of one stage on this endpoint (`runtime`: progress, prices, batch polling).

        The endpoint's `params` travel along: `run_task` sends them over each task's own params.
        """
        settings = {name: getattr(self, name) for name in EndpointConfig.field_names()}
        settings["params"] = dict(self.params)
        return EngineConfig(**settings, stage=stage, cache_dir=cache_dir, **runtime)


@dataclass
class EngineConfig(EndpointConfig):
    """The configuration of a `TeacherEngine` (one stage): an `EndpointConfig` plus the settings of the run.

    Build it with `endpoint.engine_config(stage, cache_dir)`; the endpoint fields (base_url, model, api_key_env,
    params, concurrency, rpm, tpm, timeout_s, max_attempts, output_retries, back-off, structured_output,
    batch_api, transport, retry_failed) are `EndpointConfig`'s, validated the same way.

    Args (the run's own):
        api_key: API key for this process only; None reads `$<api_key_env>`, else `$OPENAI_API_KEY`, else
            "EMPTY" (local servers). Never logged, stored or pickled (a pickled config reads the environment).
        cache_dir: Directory of the sqlite request cache (`teacher_cache.sqlite`), None to disable caching.
        stage: Stage name for accounting and for the batch-job table.
        prices: Price overrides `{model: (usd_per_1M_prompt_tokens, usd_per_1M_completion_tokens)}`.
        progress: Show a live progress bar.
        batch_poll_s: Seconds between Batch API status polls.
        batch_completion_window: `completion_window` of created batch jobs.
        max_response_bytes: Largest reply body read; a longer one is stopped there and fails the attempt
            (`server_error`), so a broken gateway cannot exhaust memory.
    """

    api_key: str | None = field(default=None, repr=False, compare=False)
    cache_dir: Path | str | None = None
    stage: str = "default"
    prices: dict[str, tuple[float, float]] | None = None
    progress: bool = True
    batch_poll_s: float = 10.0
    batch_completion_window: str = "24h"
    max_response_bytes: int = 8 * 2**20  # transport.MAX_RESPONSE_BYTES (not imported: this module stays light)

    def __post_init__(self) -> None:
        from star1_hub.teacher.redact import register_secret

        self.validate("EngineConfig")
        register_secret(self.api_key)  # redacted from every detail, log line and cached reply of this process
        if not isinstance(self.max_response_bytes, int) or self.max_response_bytes < 1024:
            raise RecipeError(
                f"EngineConfig: `max_response_bytes` = {self.max_response_bytes!r} is invalid; give an integer ≥ 1024"
            )
        if self.cache_dir is not None:
            self.cache_dir = Path(self.cache_dir)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["api_key"] = None  # keys are never pickled: the unpickled config reads the environment
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def resolved_api_key(self) -> str:
        """The key to send: the configured one, else `$<api_key_env>`, else `$OPENAI_API_KEY`, else "EMPTY".

        Raises:
            RecipeError: `api_key_env` names a variable that is not set.
        """
        return self.api_key or read_api_key(self.api_key_env)


def _url_credentials(url: str) -> str | None:
    from star1_hub.teacher.redact import url_credentials

    return url_credentials(url)


def _looks_like_key(value: str) -> bool:
    from star1_hub.teacher.redact import looks_like_secret

    return looks_like_secret(value)


def parse_param_flags(values: list[str] | None, where: str = "--param") -> dict[str, Any]:
    """Parse repeated `--param key=value` flags; each value is read as JSON when it parses (numbers, booleans,
    null, lists), else kept as a string.

    Raises:
        RecipeError: an item without `=` or with an empty key.
    """
    params: dict[str, Any] = {}
    for item in values or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise RecipeError(f"{where} {item!r}: expected key=value, e.g. --param temperature=0.6")
        try:
            params[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            params[key.strip()] = raw
    return params


def parse_params_json(text: str | None, where: str = "--params") -> dict[str, Any]:
    """The `--params` JSON object (None or empty: {}).

    Raises:
        RecipeError: not valid JSON, or not an object.
    """
    if not text:
        return {}
    try:
        params = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecipeError(f"{where} is not valid JSON: {exc.msg}; e.g. {where} '{{\"temperature\": 0}}'") from None
    if not isinstance(params, dict):
        raise RecipeError(f"{where} must be a JSON object, e.g. {where} '{{\"temperature\": 0}}'")
    return params


def endpoint_from_flags(
    *,
    base_url: str | None,
    model: str | None,
    where: str = "command-line flags",
    defaults: dict[str, Any] | None = None,
    params: list[str] | dict[str, Any] | None = None,
    params_json: str | None = None,
    **flags: Any,
) -> EndpointConfig:
    """Build an `EndpointConfig` from typer flag values with the same parser as the YAML blocks: the one way every
    command (`star1 curate`, `star1 eval`, the judges) turns flags into an endpoint.

    Flags are named as the YAML keys (`--timeout-s` for `timeout_s`, `--backoff-base-s`, `--transport`, ...);
    flags left at None are not given (the defaults or the dataclass defaults apply). `params` accepts the raw
    `--param key=value` list or a dict; `params_json` the `--params` JSON object, which the `--param` items
    override. Example in a typer command:

        endpoint = endpoint_from_flags(base_url=base_url, model=model, api_key_env=api_key_env,
                                       params=param, concurrency=concurrency, retry_policy=retry_policy)
    """
    block: dict[str, Any] = {"base_url": base_url, "model": model, **flags}
    block = {key: value for key, value in block.items() if value is not None}
    merged = parse_params_json(params_json)
    if params:
        merged |= params if isinstance(params, dict) else parse_param_flags(params)
    if merged:
        block["params"] = merged
    return EndpointConfig.from_mapping(block, where=where, defaults=defaults)


def read_api_key(api_key_env: str | None) -> str:
    """The key from `api_key_env` (read now, never stored), else `OPENAI_API_KEY`, else vLLM's "EMPTY".

    Raises:
        RecipeError: `api_key_env` names a variable that is not set.
    """
    if api_key_env:
        value = os.environ.get(api_key_env)
        if not value:
            raise RecipeError(
                f"the environment variable {api_key_env} (api_key_env) is not set; export it with the API key of "
                "the endpoint"
            )
        return value
    return os.environ.get("OPENAI_API_KEY") or "EMPTY"
