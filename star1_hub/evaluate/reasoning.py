"""Is the evaluated model a reasoning model? Decided once per run, so every sample is scored the same way.

A model is a reasoning model when its chat template opens `<think>` in the generation prompt (DeepSeek's R1 and
R1-Distill templates pre-fill `<think>\\n`: the output only closes the trace) or when its outputs contain a think
tag (models that write `<think>` themselves, such as STAR-1 models saved with our template). For a reasoning
model an output without `</think>` has no answer: it is counted as truncated and scored as unanswered, whichever
template produced it (star1_hub.evaluate.extract).
"""

from __future__ import annotations

import logging

from star1_hub.think import THINK_CLOSE, THINK_OPEN

logger = logging.getLogger(__name__)

_PROBE = "star1-probe-user-message"


def template_opens_think(model_ref: str, revision: str | None = None, tokenizer=None) -> bool | None:
    """Whether the model's chat template ends the generation prompt inside an opened `<think>`.

    Args:
        model_ref: local folder or Hub repo id of the evaluated model.
        revision: Hub revision.
        tokenizer: an already loaded tokenizer (skips loading).

    Returns:
        True / False, or None when the tokenizer or its template cannot be read (then only the outputs decide).
    """
    try:
        if tokenizer is None:
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(model_ref, revision=revision)
        if not getattr(tokenizer, "chat_template", None):
            return False
        prompt = tokenizer.apply_chat_template(
            [{"role": "user", "content": _PROBE}], tokenize=False, add_generation_prompt=True
        )
    except Exception as exc:  # noqa: BLE001 - any failure to read a template means "unknown", recorded as such
        logger.info("could not read the chat template of %s (%s); deciding from the outputs", model_ref, exc)
        return None
    tail = prompt.rsplit(_PROBE, 1)[-1]
    return tail.rfind(THINK_OPEN) > tail.rfind(THINK_CLOSE)


def decide_reasoning(template_flag: bool | None, outputs: list[str]) -> dict:
    """The run's reasoning decision and why, recorded in results.json (`config.reasoning`)."""
    tagged = sum(THINK_OPEN in text or THINK_CLOSE in text for text in outputs)
    reasoning = bool(template_flag) or tagged > 0
    if template_flag:
        how = "chat template opens <think> in the generation prompt"
    elif tagged:
        how = "outputs contain think tags"
    else:
        how = "no think tags in the template or the outputs: the whole output is the answer"
    return {
        "reasoning_model": reasoning,
        "template_opens_think": template_flag,
        "outputs_with_think_tag": tagged,
        "outputs": len(outputs),
        "decided_by": how,
    }
