"""Check the servers before any generation: `star1 eval run --preflight` (alone) and the start of every run.

Checks, each failure naming its fix:
- the generation server answers `/v1/models` and serves the requested model id (or the given served name);
- its context (`max_model_len`, which vLLM advertises per model in `/v1/models`) covers the recipe's largest
  token budget plus `PROMPT_MARGIN_TOKENS` for the prompt;
- the guard, the refusal judge and the rubric judge (wired by role: `--guard-model`, `--judge-model`) are served
  and each answers a one-token request;
- one generation protocol: a fine-tuned model renders the same generation prompt as its base model (the base from
  `--base-model`, else the training record `star1_training.json` or the card's `base_model`), so base and
  fine-tuned are generated alike. Only the tokenizers' own BOS/EOS strings may differ.
No benchmark data is loaded and no generation request is sent to the evaluated model. Every server is asked with
its own key (`--api-key-env`, `--guard-api-key-env`, `--judge-api-key-env`) through the one client and error
type of star1_hub.teacher.preflight; a refused key names the variable it came from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from star1_hub.errors import RecipeError
from star1_hub.teacher.preflight import PreflightReport, check_served, list_models, ping

PROMPT_MARGIN_TOKENS = 2048
"""Tokens kept for the prompt on top of the largest generation budget (the longest benchmark prompts)."""

ROLE_FLAGS = {
    "generation": ("--base-url", "--served-model", "--api-key-env"),
    "guard": ("--guard-base-url", "--guard-model", "--guard-api-key-env"),
    "refusal judge": ("--judge-base-url", "--judge-model", "--judge-api-key-env"),
    "rubric judge": ("--judge-base-url", "--judge-model", "--judge-api-key-env"),
}
"""The flags that set each role's server URL, model and key variable (named in the failures)."""


def required_context(recipe) -> int:
    """The context length a recipe needs: its largest generation budget plus the prompt margin."""
    return max(recipe.budgets.values()) + PROMPT_MARGIN_TOKENS


def _check_served(
    report: PreflightReport, role: str, base_url: str, model: str, api_key_env: str | None
) -> dict[str, int | None] | None:
    """Add the role's "served" check; the listing (`{model: max_model_len}`, or {} when the server has none)."""
    url_flag, model_flag, key_flag = ROLE_FLAGS[role]
    try:
        listing = list_models(base_url, api_key_env, key_flag=key_flag, url_flag=url_flag)
        check_served(listing, model, model_flag)
    except RecipeError as exc:  # PreflightError included: unreachable, key refused, not served
        report.add(role, False, str(exc))
        return None
    if listing.models is None:
        report.add(role, True, listing.note)
        return {}
    report.add(role, True, f"{base_url} serves {model!r}")
    return listing.models


def _check_answers(report: PreflightReport, role: str, base_url: str, model: str, api_key_env: str | None) -> None:
    url_flag, _, key_flag = ROLE_FLAGS[role]
    try:
        ping(base_url, model, api_key_env, key_flag=key_flag, url_flag=url_flag)
    except RecipeError as exc:
        report.add(role, False, str(exc))
        return
    report.add(role, True, f"{model!r} answers")


PROTOCOL_CONVERSATION = [{"role": "user", "content": "star1 protocol probe: what is 2 + 2?"}]
"""The one conversation whose generation prompt base and fine-tuned models must render alike (one user turn, no
system prompt: the evaluation's own shape)."""


def recorded_base_model(model_ref: str, revision: str | None = None) -> tuple[str, str | None] | None:
    """(base model, its revision) a fine-tuned model records, or None (a base model, or nothing recorded).

    Read from the training record `star1_training.json`, else from the `base_model` of a card `star1 train`
    wrote (tag `star1-hub`), in a local folder or a Hub repo.
    """
    from star1_hub.train.record import TRAINING_RECORD

    folder = Path(model_ref)
    if folder.is_dir():
        record, card = folder / TRAINING_RECORD, folder / "README.md"
    else:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, RepositoryNotFoundError

        record = card = None
        for name in (TRAINING_RECORD, "README.md"):
            try:
                path = Path(hf_hub_download(model_ref, name, revision=revision))
            except (EntryNotFoundError, RepositoryNotFoundError, HfHubHTTPError, OSError, ValueError):
                continue
            record, card = (path, card) if name == TRAINING_RECORD else (record, path)
    if record is not None and record.is_file():
        data = json.loads(record.read_text())
        if data.get("base_model"):
            return str(data["base_model"]), data.get("base_model_revision")
    if card is not None and card.is_file():
        from huggingface_hub import ModelCard

        data = ModelCard.load(card).data.to_dict()
        # Only our own cards: a released model's card names its pre-trained base, whose template is not its own.
        base = data.get("base_model") if "star1-hub" in (data.get("tags") or []) else None
        if isinstance(base, list):
            base = base[0] if len(base) == 1 else None
        if base:
            return str(base), None
    return None


def _load_tokenizer(ref: str, revision: str | None) -> Any:
    from transformers import AutoTokenizer

    from star1_hub.embedded import EMBEDDED_SOURCE_ID, embedded_model_dir

    if ref == EMBEDDED_SOURCE_ID and embedded_model_dir().is_dir():
        ref, revision = str(embedded_model_dir()), None  # the embedded copy: nothing to download
    return AutoTokenizer.from_pretrained(ref, revision=revision)


def generation_prompt(tokenizer: Any) -> str:
    """The protocol conversation's generation prompt, with the tokenizer's own BOS/EOS written `<bos>`/`<eos>`."""
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError("the tokenizer has no chat template")
    text = tokenizer.apply_chat_template(PROTOCOL_CONVERSATION, tokenize=False, add_generation_prompt=True)
    for token, marker in ((tokenizer.bos_token, "<bos>"), (tokenizer.eos_token, "<eos>")):
        if token:
            text = text.replace(token, marker)
    return text


def compare_generation_prompts(base: Any, tuned: Any) -> str | None:
    """None when both tokenizers render the protocol conversation alike; otherwise what differs."""
    want, got = generation_prompt(base), generation_prompt(tuned)
    if want == got:
        return None
    at = next((i for i, (a, b) in enumerate(zip(want, got, strict=False)) if a != b), min(len(want), len(got)))
    return f"base renders {want[at:][-60:]!r}, fine-tuned {got[at:][-60:]!r} from character {at} on"


def check_generation_protocol(
    report: PreflightReport, model_ref: str, revision: str | None = None, base_model: str | None = None
) -> None:
    """Add the one-generation-protocol check for `model_ref` (see the module docstring)."""
    from star1_hub.hub.commit import parse_ref

    role = "generation protocol"
    base_revision = None
    if base_model:
        base_ref = base_model if Path(base_model).exists() else None
        if base_ref is None:
            base_ref, base_revision = parse_ref(base_model, require_namespace=False, what="--base-model")
    else:
        found = recorded_base_model(model_ref, revision)
        if found is None:
            report.add(role, True, f"{model_ref} records no base model (a base model itself?): nothing to compare")
            return
        base_ref, base_revision = found
    try:
        base_tok = _load_tokenizer(base_ref, base_revision)
        tuned_tok = _load_tokenizer(model_ref, revision)
        difference = compare_generation_prompts(base_tok, tuned_tok)
    except Exception as exc:  # noqa: BLE001 - any failure to load or render is a failed check, named
        report.add(
            role,
            False,
            f"cannot compare the chat templates of {model_ref} and its base {base_ref} ({exc}); pass --base-model "
            "with a loadable base (a local folder or a Hub repo)",
        )
        return
    if difference:
        report.add(
            role,
            False,
            f"{model_ref} and its base {base_ref} render different generation prompts: {difference}. Base and "
            "fine-tuned must be generated from the same prompt: save the model's tokenizer with the base's chat "
            "template (`star1 train` does), or pass the right --base-model",
        )
        return
    report.add(role, True, f"same generation prompt as its base {base_ref}")


def run_preflight(
    recipe,
    base_url: str | None,
    served_model: str | None,
    judge=None,
    needs_guard: bool = False,
    needs_judge: bool = False,
    api_key_env: str | None = None,
    model: str | None = None,
    model_revision: str | None = None,
    base_model: str | None = None,
) -> PreflightReport:
    """Check the generation server (when `base_url` is given) and the judges a run needs.

    Args:
        recipe: the eval Recipe (its largest budget sets the context needed).
        base_url / served_model: the generation server and the model name it serves.
        api_key_env: the variable holding the generation server's key (None: `$OPENAI_API_KEY`, else none);
            the judges' keys come with their endpoints. Every check sends its server's key.
        judge: a JudgeConfig (roles: `guard` endpoint; refusal and rubric judge on the `judge` endpoint).
        needs_guard / needs_judge: whether the selected tasks use the guard / the refusal or rubric judge.
        model / model_revision: the evaluated model (local folder or Hub repo); with it, the protocol check runs.
        base_model: the base to compare its generation prompt with (default: the one the model records).
    """
    report = PreflightReport()
    if model:
        check_generation_protocol(report, model, model_revision, base_model)
    if base_url:
        models = _check_served(report, "generation", base_url, served_model or "", api_key_env)
        if models is not None:
            context, needed = models.get(served_model or ""), required_context(recipe)
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
            url, model, key_env = endpoint.base_url, endpoint.model, endpoint.api_key_env
            if (url, model, key_env) in checked:
                report.add(role, True, f"same server, model and key as an earlier role ({model!r})")
                continue
            checked.add((url, model, key_env))
            if _check_served(report, role, url, model, key_env) is not None:
                _check_answers(report, role, url, model, key_env)
    return report
