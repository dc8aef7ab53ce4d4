"""Training-compatible chat templates: the assistant turn keeps its `<think>` trace and is wrapped in
`{% generation %}` markers so TRL's `assistant_only_loss` puts the loss on the answer and its closing EOS only.

Registry (`TEMPLATE_NAMES`), every template written for this project:

- `r1-distill-qwen`, `r1-distill-llama`: the DeepSeek-R1-Distill layouts (`chat_templates/`);
- `qwen2.5-instruct`: ChatML with Qwen2.5-Instruct's own default system prompt when none is given;
- `llama-3.1-instruct`: Llama-3.1 headers with its knowledge-cutoff / date preamble;
- `embedded`: the embedded SmolLM2-135M-Instruct (`star1_hub.embedded.TRAINING_CHAT_TEMPLATE`).

`auto` picks one only when the tokenizer identifies itself unambiguously (the DeepSeek-R1 special tokens, or the
model family's own chat template); anything else is an error that lists the names, so a model is never trained
with another model's system prompt.

A training template is for training only. The fine-tuned model is saved with the inference template of its base
family (`inference_template`), so base and fine-tuned models are generated from the same rendered prompt: for the
R1-Distill families DeepSeek's released template (shipped in `chat_templates/`, sources in its SOURCES.md), which
pre-fills `<think>\\n`; for every other family the base tokenizer's own template.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from star1_hub.errors import Star1Error

logger = logging.getLogger(__name__)

R1_USER = "<｜User｜>"
R1_ASSISTANT = "<｜Assistant｜>"
R1_BOS = "<｜begin▁of▁sentence｜>"
R1_EOS = "<｜end▁of▁sentence｜>"
R1_SPECIAL_TOKENS = (R1_BOS, R1_EOS, R1_USER, R1_ASSISTANT)

QWEN_DEFAULT_SYSTEM_PROMPT = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
LLAMA31_HEADER_TOKENS = ("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>")
CHATML_TOKENS = ("<|im_start|>", "<|im_end|>")

_FILES = {
    "r1-distill-qwen": "r1_distill_qwen.jinja",
    "r1-distill-llama": "r1_distill_llama.jinja",
    "qwen2.5-instruct": "qwen2_5_instruct.jinja",
    "llama-3.1-instruct": "llama3_1_instruct.jinja",
}
# Tokens each template writes literally: a tokenizer without them would split them into ordinary sub-words.
_REQUIRED_TOKENS = {
    "r1-distill-qwen": R1_SPECIAL_TOKENS,
    "r1-distill-llama": R1_SPECIAL_TOKENS,
    "qwen2.5-instruct": CHATML_TOKENS,
    "llama-3.1-instruct": LLAMA31_HEADER_TOKENS,
    "embedded": CHATML_TOKENS,
}
TEMPLATE_NAMES = (*_FILES, "embedded")
# DeepSeek's released inference templates, byte for byte (the `chat_template` of the models' tokenizer_config.json).
_INFERENCE_FILES = {
    "r1-distill-qwen": "r1_distill_qwen_inference.jinja",
    "r1-distill-llama": "r1_distill_llama_inference.jinja",
}
_GENERATION_TAG = re.compile(r"\{%-?\s*generation\s*-?%\}")

# Pad tokens we prefer over EOS, in order. Padding with EOS is safe here (TRL builds labels before padding, so
# the real EOS keeps its label), but a distinct pad token keeps the two roles apart in every downstream tool.
_PAD_CANDIDATES = (
    "<|finetune_right_pad_id|>",
    "<｜▁pad▁｜>",
    "<|fim_pad|>",
    "<|vision_pad|>",
    "<|endoftext|>",
    "<pad>",
)


class ChatTemplateError(Star1Error, ValueError):
    """A chat template name is unknown or does not fit the tokenizer."""


def _choices() -> str:
    return f"{', '.join(TEMPLATE_NAMES)}, 'auto', 'tokenizer' or the path of a .jinja file"


def get_chat_template(name: str) -> str:
    """Return the Jinja source of a registered training template.

    Args:
        name: one of `TEMPLATE_NAMES`, or a path to a `.jinja` file.

    Raises:
        ChatTemplateError: unknown name and no such file.
    """
    if name == "embedded":
        from star1_hub.embedded import TRAINING_CHAT_TEMPLATE

        return TRAINING_CHAT_TEMPLATE
    if name in _FILES:
        return resources.files("star1_hub.train").joinpath("chat_templates", _FILES[name]).read_text()
    path = Path(name)
    if path.suffix == ".jinja" and path.is_file():
        return path.read_text()
    raise ChatTemplateError(f"unknown chat template {name!r}; choose one of {_choices()}")


def _own_template(tokenizer: Any) -> str:
    template = getattr(tokenizer, "chat_template", None)
    return template if isinstance(template, str) else ""


def _has(vocab: dict, tokens: tuple[str, ...]) -> bool:
    return all(token in vocab for token in tokens)


# Each rule recognises a model family from its vocabulary plus, for instruct models, the family's own chat template
# (its default system prompt or preamble), so a look-alike vocabulary (any ChatML model) is never mapped to it.
# The first matching rule wins: the DeepSeek-R1 special tokens identify an R1-Distill model whatever its base.
_DETECTORS: dict[str, Callable[[dict, str], bool]] = {
    "r1-distill-llama": lambda vocab, own: _has(vocab, R1_SPECIAL_TOKENS) and "<|start_header_id|>" in vocab,
    "r1-distill-qwen": lambda vocab, own: _has(vocab, R1_SPECIAL_TOKENS) and "<|start_header_id|>" not in vocab,
    "qwen2.5-instruct": lambda vocab, own: _has(vocab, CHATML_TOKENS) and QWEN_DEFAULT_SYSTEM_PROMPT in own,
    "llama-3.1-instruct": lambda vocab, own: (
        _has(vocab, LLAMA31_HEADER_TOKENS)
        and "Cutting Knowledge Date" in own
        and "26 Jul 2024" in own
        and "strftime_now" not in own
    ),  # Llama-3.2/3.3 render today's date instead
    "embedded": lambda vocab, own: _has(vocab, CHATML_TOKENS) and "named SmolLM" in own,
}


def detect_template_name(tokenizer: Any) -> str:
    """Pick the training template for a tokenizer (`chat_template: auto` in recipes).

    Raises:
        ChatTemplateError: the tokenizer matches no registered template.
    """
    vocab, own = tokenizer.get_vocab(), _own_template(tokenizer)
    for name, matches_family in _DETECTORS.items():
        if matches_family(vocab, own):
            return name
    raise ChatTemplateError(
        f"cannot pick a training chat template for tokenizer {getattr(tokenizer, 'name_or_path', '?')!r}: neither "
        "its special tokens nor its own chat template identify a supported model family. "
        f"Set `chat_template` in the recipe to one of {_choices()} (a file needs {{% generation %}} markers)."
    )


def apply_training_template(tokenizer: Any, name: str = "auto") -> str:
    """Install a training template on `tokenizer`, check it, and fix the pad token; return the template name.

    The check renders a probe conversation and verifies that the assistant mask ends on the EOS token, so a
    template that would never teach the model to stop fails here instead of after a training run.

    Args:
        tokenizer: a transformers tokenizer (modified in place).
        name: `auto`, `tokenizer` (keep the tokenizer's own template), a registry name or a `.jinja` path.

    Raises:
        ChatTemplateError: unknown name, missing special tokens, no generation markers, or EOS not in the loss.
    """
    if name == "auto":
        name = detect_template_name(tokenizer)
    if name != "tokenizer":
        template = get_chat_template(name)
        missing = [t for t in _REQUIRED_TOKENS.get(name, ()) if t not in tokenizer.get_vocab()]
        if missing:
            raise ChatTemplateError(
                f"template {name!r} needs tokens {missing} that tokenizer "
                f"{getattr(tokenizer, 'name_or_path', '?')!r} lacks; is it the model family the template is for?"
            )
        tokenizer.chat_template = template
    if not tokenizer.chat_template or not _GENERATION_TAG.search(tokenizer.chat_template):
        raise ChatTemplateError(
            f"chat template {name!r} has no {{% generation %}} markers, so assistant-only loss cannot be computed; "
            f"use one of {', '.join(TEMPLATE_NAMES)}"
        )
    set_distinct_pad_token(tokenizer)
    _check_eos_in_loss(tokenizer, name)
    return name


def set_distinct_pad_token(tokenizer: Any) -> None:
    """Use a pad token different from EOS when the vocabulary has one; otherwise keep EOS (still safe, see above)."""
    if tokenizer.pad_token is not None and tokenizer.pad_token != tokenizer.eos_token:
        return
    vocab = tokenizer.get_vocab()
    for candidate in _PAD_CANDIDATES:
        if candidate in vocab and candidate not in (tokenizer.eos_token, tokenizer.bos_token):
            tokenizer.pad_token = candidate
            return
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    logger.info(
        "pad token = EOS %r (no spare token); EOS stays in the loss because labels are built before padding",
        tokenizer.eos_token,
    )


def _check_eos_in_loss(tokenizer: Any, name: str) -> None:
    messages = [{"role": "user", "content": "probe question"}, {"role": "assistant", "content": "probe answer"}]
    out = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    ids, mask = list(out["input_ids"]), list(out["assistant_masks"])
    supervised = [i for i, bit in zip(ids, mask, strict=True) if bit]
    if not supervised or supervised[-1] != tokenizer.eos_token_id:
        raise ChatTemplateError(
            f"chat template {name!r} does not end the assistant's loss span with EOS {tokenizer.eos_token!r}: the model "
            "would never learn to stop. Put the end-of-turn token inside {% generation %}...{% endgeneration %} "
            "(or set the tokenizer's eos_token to the template's end-of-turn token)."
        )


def released_inference_template(name: str) -> str | None:
    """DeepSeek's released inference template for an R1-Distill training template name; None for other families."""
    if name not in _INFERENCE_FILES:
        return None
    return resources.files("star1_hub.train").joinpath("chat_templates", _INFERENCE_FILES[name]).read_text()


def inference_template(name: str, own_template: str | None) -> tuple[str, str]:
    """The chat template a model trained with training template `name` is saved with, and where it comes from.

    Args:
        name: the training template name `apply_training_template` returned.
        own_template: the base tokenizer's own chat template, read before the training template replaced it.

    Returns:
        (template, source): DeepSeek's released template for the R1-Distill families; otherwise the base
        tokenizer's own template; the training template itself (a warning) when the base tokenizer has none.
    """
    released = released_inference_template(name)
    if released is not None:
        return (
            released,
            f"DeepSeek's released {name} template (star1_hub/train/chat_templates/{_INFERENCE_FILES[name]})",
        )
    if own_template:
        return own_template, "the base tokenizer's own chat template"
    logger.warning(
        "the base tokenizer has no chat template of its own: the model is saved with the training template %r, "
        "whose generation prompt may differ from the one the base model is served with",
        name,
    )
    return get_chat_template(name) if name != "tokenizer" else "", f"the training template {name!r} (base has none)"


def save_inference_template(tokenizer: Any, output_dir: str | Path, template: str) -> None:
    """Re-save the tokenizer in `output_dir` with its inference template (after `Trainer.save_model` wrote it
    with the training template); the training template stays on `tokenizer.chat_template` only in checkpoints."""
    training = tokenizer.chat_template
    tokenizer.chat_template = template
    try:
        tokenizer.save_pretrained(str(output_dir))
    finally:
        tokenizer.chat_template = training


def own_chat_template(tokenizer: Any) -> str:
    """The tokenizer's own chat template ('' when it has none), read before a training template replaces it."""
    return _own_template(tokenizer)
