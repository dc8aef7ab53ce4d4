"""The model card's Evaluation section: a score table regenerated from `model-index` whenever scores are added.

`star1 eval` merges its `EvalResult`s into the card's `model-index` and then calls `with_evaluation_section` so
the prose agrees with the metadata: one row per benchmark, metric and recipe, with the samples the score rests
on (`metric_args` of each EvalResult, see `sample_args`) and a mark when they are fewer than the benchmark's full
set. The section sits between two HTML comments, so re-rendering replaces only it.
"""

from __future__ import annotations

from typing import Any

from star1_hub.cards.escape import md_cell, md_link

EVAL_START = "<!-- star1-hub:evaluation:start -->"
EVAL_END = "<!-- star1-hub:evaluation:end -->"
NO_SCORES = "No scores yet: `star1 eval --model <this repo> … --org <org>` adds them here and to `model-index`."


def sample_args(n_prompts: int | None, n_samples: int | None, full_set: int | None) -> dict[str, int]:
    """`metric_args` recording what a score rests on (only the known counts)."""
    values = {"n_prompts": n_prompts, "n_samples": n_samples, "full_set": full_set}
    return {key: int(value) for key, value in values.items() if value is not None}


def _samples_cell(args: dict[str, Any] | None) -> str:
    args = args or {}
    n, full, samples = args.get("n_prompts"), args.get("full_set"), args.get("n_samples")
    if n is None:
        return "–" if samples is None else str(samples)
    text = f"{n}" if full is None else f"{n} / {full}"
    if samples is not None and samples != n:
        text += f" ({samples} samples)"
    if full is not None and n < full:
        text += " ⚠"
    return text


def evaluation_section(eval_results: list) -> str:
    """Markdown of the Evaluation section (markers included) from huggingface_hub `EvalResult`s."""
    lines = [EVAL_START, "## Evaluation", ""]
    if not eval_results:
        lines.append(NO_SCORES)
    else:
        lines += [
            "Scores written by `star1 eval` (also in the `model-index` metadata above). *prompts* is the number of "
            "benchmark prompts the score rests on, out of the benchmark's full set; ⚠ marks a partial run (e.g. "
            "`--max-samples`), not comparable with full runs.",
            "",
            "| benchmark | metric | score | prompts | source |",
            "|---|---|---|---|---|",
        ]
        ordered = sorted(eval_results, key=lambda r: (r.dataset_name or "", r.metric_name or r.metric_type))
        for r in ordered:  # every cell escaped: names and URLs come from the card's (editable) metadata
            source = md_link(r.source_name or "details", r.source_url) if r.source_url else md_cell(r.source_name)
            lines.append(
                f"| {md_cell(r.dataset_name)} | {md_cell(r.metric_name or r.metric_type)} | {md_cell(r.metric_value)} | "
                f"{md_cell(_samples_cell(r.metric_args))} | {source} |"
            )
    lines += ["", EVAL_END]
    return "\n".join(lines)


def with_evaluation_section(card_text: str, eval_results: list) -> str:
    """`card_text` (the markdown body) with its Evaluation section replaced by a fresh one.

    Replaces the text between the markers; else a `## Evaluation` section up to the next `## ` heading; else the
    section goes before `## Intended use` / `## Citation`, or at the end.
    """
    section = evaluation_section(eval_results)
    if EVAL_START in card_text and EVAL_END in card_text:
        head, rest = card_text.split(EVAL_START, 1)
        return head + section + rest.split(EVAL_END, 1)[1]
    lines = card_text.split("\n")
    start = next((i for i, line in enumerate(lines) if line.strip() == "## Evaluation"), None)
    if start is not None:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        return "\n".join([*lines[:start], section, "", *lines[end:]])
    anchor = next((i for i, line in enumerate(lines) if line.startswith(("## Intended use", "## Citation"))), None)
    if anchor is None:
        return card_text.rstrip("\n") + "\n\n" + section + "\n"
    return "\n".join([*lines[:anchor], section, "", *lines[anchor:]])


# Licenses of the paper's base models and the embedded default, used when the Hub in use has no card for them
# (offline, local Hub). A fine-tune is a derivative: its card carries its base model's license.
KNOWN_BASE_LICENSES = {
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B": "mit",
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B": "mit",
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B": "mit",
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B": "mit",
    "deepseek-ai/DeepSeek-R1-Distill-Llama-8B": "mit",
    "HuggingFaceTB/SmolLM2-135M-Instruct": "apache-2.0",
}


def base_model_license(base_model: str, revision: str | None = None, api=None) -> str:
    """The license of `base_model`: its Hub card's `license`, else the known table, else `"other"`.

    Args:
        base_model: Hub id (a local path has no card: the table or "other").
        revision: revision of the base model.
        api: `HfApi` (default: the configured endpoint).
    """
    from pathlib import Path

    if base_model.count("/") == 1 and not Path(base_model).exists():
        from huggingface_hub import HfApi
        from huggingface_hub.errors import HfHubHTTPError

        try:
            card = (api or HfApi()).model_info(base_model, revision=revision).card_data
        except (HfHubHTTPError, ValueError, OSError):
            card = None
        license_id = card.get("license") if card is not None else None
        if isinstance(license_id, str) and license_id:
            return license_id
    return KNOWN_BASE_LICENSES.get(base_model, "other")
