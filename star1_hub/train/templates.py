"""Training-compatible chat templates: the assistant turn keeps its `<think>` trace and is wrapped in
`{% generation %}` markers so TRL's `assistant_only_loss` puts the loss on the answer and its closing EOS only.

Registry: `r1-distill-qwen`, `r1-distill-llama` (files in `chat_templates/`, written for this project) and
`embedded` (`star1_hub.embedded.TRAINING_CHAT_TEMPLATE`). `auto` picks one from the tokenizer's vocabulary.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parent / "chat_templates"

R1_USER = "<｜User｜>"
R1_ASSISTANT = "<｜Assistant｜>"
R1_BOS = "<｜begin▁of▁sentence｜>"
R1_EOS = "<｜end▁of▁sentence｜>"
R1_SPECIAL_TOKENS = (R1_BOS, R1_EOS, R1_USER, R1_ASSISTANT)

_FILES = {
    "r1-distill-qwen": "r1_distill_qwen.jinja",
    "r1-distill-llama": "r1_distill_llama.jinja",
}
TEMPLATE_NAMES = (*_FILES, "embedded")
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


class ChatTemplateError(ValueError):
    """A chat template name is unknown or does not fit the tokenizer."""


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
        return (TEMPLATES_DIR / _FILES[name]).read_text()
    path = Path(name)
    if path.suffix == ".jinja" and path.is_file():
        return path.read_text()
    raise ChatTemplateError(
        f"unknown chat template {name!r}; choose one of {', '.join(TEMPLATE_NAMES)}, 'auto', 'tokenizer' "
        "or give the path of a .jinja file"
    )


def detect_template_name(tokenizer: Any) -> str:
    """Guess the training template for a tokenizer from its vocabulary (`auto` in recipes).

    Raises:
        ChatTemplateError: the tokenizer matches no registered template.
    """
    vocab = tokenizer.get_vocab()
    if all(token in vocab for token in R1_SPECIAL_TOKENS):
        # Llama-3 vocabularies have 128k+ entries and the <|start_header_id|> token; Qwen2 has <|im_start|>.
        return "r1-distill-llama" if "<|start_header_id|>" in vocab else "r1-distill-qwen"
    if "<|im_start|>" in vocab and "<|im_end|>" in vocab and tokenizer.eos_token == "<|im_end|>":
        return "embedded"
    raise ChatTemplateError(
        f"cannot pick a training chat template for tokenizer {getattr(tokenizer, 'name_or_path', '?')!r}: it has "
        f"neither the DeepSeek-R1 special tokens {R1_SPECIAL_TOKENS} nor ChatML. Set `chat_template` in the recipe "
        "to a .jinja file with {% generation %} markers."
    )


def apply_training_template(tokenizer: Any, name: str = "auto") -> str:
    """Install a training template on `tokenizer`, check it, and fix the pad token; return the template name.

    The check renders a probe conversation and verifies that the assistant mask ends on the EOS token, so a
    template that would never teach the model to stop fails here instead of after a training run.

    Args:
        tokenizer: a transformers tokenizer (modified in place).
        name: `auto`, `tokenizer` (keep the tokenizer's own template), a registry name or a `.jinja` path.

    Raises:
        ChatTemplateError: the template lacks generation markers or does not put EOS in the loss.
    """
    if name == "auto":
        name = detect_template_name(tokenizer)
    if name != "tokenizer":
        tokenizer.chat_template = get_chat_template(name)
    if not tokenizer.chat_template or not _GENERATION_TAG.search(tokenizer.chat_template):
        raise ChatTemplateError(
            f"chat template {name!r} has no {{% generation %}} markers, so assistant-only loss cannot be computed; "
            f"use one of {', '.join(TEMPLATE_NAMES)}"
        )
    if name.startswith("r1-distill"):
        missing = [t for t in R1_SPECIAL_TOKENS if t not in tokenizer.get_vocab()]
        if missing:
            raise ChatTemplateError(f"template {name!r} needs tokens {missing} that the tokenizer lacks")
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
            "would never learn to stop. Put the end-of-turn token inside {% generation %}...{% endgeneration %}."
        )
