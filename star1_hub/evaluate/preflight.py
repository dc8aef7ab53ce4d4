"""Check the servers before any generation: `star1 eval run --preflight` (alone) and the start of every run.

Checks, each failure naming its fix:
- the generation server answers `/v1/models` and serves the requested model id (or the given served name);
- its context (`max_model_len`, which vLLM advertises per model in `/v1/models`) covers the recipe's largest
  token budget plus `PROMPT_MARGIN_TOKENS` for the prompt;
- the guard, the refusal judge and the rubric judge (wired by role: `--guard-model`, `--judge-model`) are served
  and each answers a one-token request.
No benchmark data is loaded and no generation request is sent to the evaluated model.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field

PROMPT_MARGIN_TOKENS = 2048
"""Tokens kept for the prompt on top of the largest generation budget (the longest benchmark prompts)."""


class PreflightError(RuntimeError):
    """A server, model or context check failed; the message says what to change."""


@dataclass
class PreflightReport:
    """What the preflight found, for the run's results and the console."""

    checks: list[dict] = field(default_factory=list)

    def add(self, role: str, ok: bool, detail: str) -> None:
        self.checks.append({"role": role, "ok": ok, "detail": detail})

    @property
    def ok(self) -> bool:
        return all(check["ok"] for check in self.checks)

    def failures(self) -> list[str]:
        return [f"{c['role']}: {c['detail']}" for c in self.checks if not c["ok"]]


def _get_json(url: str, api_key: str | None, timeout_s: float, body: dict | None = None) -> dict:
    headers = {"Authorization": f"Bearer {api_key or 'EMPTY'}", "Content-Type": "application/json"}
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method="GET" if body is None else "POST")
    with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - the user's own server URL
        return json.loads(response.read().decode())


def served_models(base_url: str, api_key: str | None = None, timeout_s: float = 10.0) -> dict[str, int | None]:
    """`{model id: max_model_len or None}` from the server's `/v1/models`."""
    listing = _get_json(base_url.rstrip("/") + "/models", api_key, timeout_s)
    return {str(m.get("id")): m.get("max_model_len") for m in listing.get("data") or [] if isinstance(m, dict)}


def required_context(recipe) -> int:
    """The context length a recipe needs: its largest generation budget plus the prompt margin."""
    return max(recipe.budgets.values()) + PROMPT_MARGIN_TOKENS


def _check_served(report: PreflightReport, role: str, base_url: str, model: str, api_key: str | None) -> dict | None:
    try:
        models = served_models(base_url, api_key)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        report.add(role, False, f"{base_url} does not answer /v1/models ({exc}); start the server or fix the URL")
        return None
    if model not in models:
        report.add(
            role,
            False,
            f"{base_url} does not serve {model!r} (it serves {sorted(models)}); pass the served name, or start the "
            f"server with --served-model-name {model}",
        )
        return None
    report.add(role, True, f"{base_url} serves {model!r}")
    return models


def _check_answers(report: PreflightReport, role: str, base_url: str, model: str, api_key: str | None) -> None:
    body = {"model": model, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 1, "temperature": 0}
    try:
        _get_json(base_url.rstrip("/") + "/chat/completions", api_key, 60.0, body)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        report.add(role, False, f"{model!r} at {base_url} did not answer a one-token request ({exc})")
        return
    report.add(role, True, f"{model!r} answers")


def run_preflight(
    recipe,
    base_url: str | None,
    served_model: str | None,
    judge=None,
    needs_guard: bool = False,
    needs_judge: bool = False,
    api_key: str | None = None,
) -> PreflightReport:
    """Check the generation server (when `base_url` is given) and the judges a run needs.

    Args:
        recipe: the eval Recipe (its largest budget sets the context needed).
        base_url / served_model: the generation server and the model name it serves.
        judge: a JudgeConfig (roles: `guard` endpoint; refusal and rubric judge on the `judge` endpoint).
        needs_guard / needs_judge: whether the selected tasks use the guard / the refusal or rubric judge.
    """
    report = PreflightReport()
    if base_url:
        models = _check_served(report, "generation", base_url, served_model or "", api_key)
        if models is not None:
            context, needed = models.get(served_model), required_context(recipe)
            if context is None:
                report.add("generation", True, f"{base_url} does not advertise max_model_len; not checked")
            elif context < needed:
                report.add(
                    "generation",
                    False,
                    f"context {context} is below the {needed} tokens recipe {recipe.name!r} needs (largest budget "
                    f"{max(recipe.budgets.values())} + {PROMPT_MARGIN_TOKENS} for the prompt); restart the server "
                    f"with --max-model-len {needed} (or choose a recipe with smaller budgets)",
                )
            else:
                report.add("generation", True, f"context {context} covers {needed} tokens")
    if judge is not None:
        roles = []
        if needs_guard and judge.guard is not None:
            roles.append(("guard", judge.guard))
        if needs_judge and judge.judge is not None:
            roles += [("refusal judge", judge.judge), ("rubric judge", judge.judge)]
        checked = set()
        for role, endpoint in roles:
            url, model = endpoint.base_url, endpoint.model
            if (url, model) in checked:
                report.add(role, True, f"same server and model as an earlier role ({model!r})")
                continue
            checked.add((url, model))
            key = endpoint.api_key()
            if _check_served(report, role, url, model, key) is not None:
                _check_answers(report, role, url, model, key)
    return report
