"""Fixtures for the train tests: real STAR-1 rows, small real tokenizers in the R1-Distill layouts, a tiny dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def star1_rows(reference_data: Path) -> list[dict]:
    """Released STAR-1 rows: the 62-row slice in tests/data/fixtures (incl. the 12 shortest of the 1,000)."""
    return json.loads((reference_data / "STAR-1.slice.json").read_text())


@pytest.fixture(scope="session")
def short_star1_jsonl(star1_rows, tmp_path_factory) -> Path:
    """The 12 shortest STAR-1 rows as JSONL (keeps CPU training steps short)."""
    rows = sorted(star1_rows, key=lambda r: len(r["question"]) + len(r["response"]))[:12]
    path = tmp_path_factory.mktemp("train_data") / "star1_short.jsonl"
    with path.open("w") as f:
        for row in rows:
            f.write(json.dumps({k: row[k] for k in ("id", "question", "response", "source")}) + "\n")
    return path


@pytest.fixture(scope="session")
def r1_qwen_tokenizer(star1_rows):
    """A byte-level BPE tokenizer trained here on STAR-1 text, with the DeepSeek-R1 special tokens (Qwen style:
    pad token = EOS, `<think>`/`</think>` as plain added tokens)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from star1_hub.train.templates import R1_ASSISTANT, R1_BOS, R1_EOS, R1_USER

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1200,
        special_tokens=[R1_BOS, R1_EOS, R1_USER, R1_ASSISTANT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator((r["question"] + "\n" + r["response"] for r in star1_rows[:300]), trainer)
    tok.add_tokens(["<think>", "</think>"])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=R1_BOS, eos_token=R1_EOS, pad_token=R1_EOS, clean_up_tokenization_spaces=False
    )


@pytest.fixture(scope="session")
def r1_llama_tokenizer(embedded_model):
    """The embedded SmolLM2 tokenizer extended with the DeepSeek-R1 special tokens and Llama-3 markers."""
    from transformers import AutoTokenizer

    from star1_hub.train.templates import R1_ASSISTANT, R1_BOS, R1_EOS, R1_USER

    tok = AutoTokenizer.from_pretrained(embedded_model, clean_up_tokenization_spaces=False)
    tok.add_tokens(
        [R1_USER, R1_ASSISTANT, R1_BOS, R1_EOS, "<|start_header_id|>", "<|finetune_right_pad_id|>"],
        special_tokens=True,
    )
    tok.bos_token, tok.eos_token, tok.pad_token = R1_BOS, R1_EOS, R1_EOS
    return tok


# Stand-ins for the families' own chat templates: only the identifying text matters (what `auto` recognises); the
# training template that replaces them is the project's own.
QWEN25_OWN_TEMPLATE_STANDIN = (
    "{%- if messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. "
    "You are a helpful assistant.<|im_end|>\\n' }}{%- endif %}"
)
LLAMA31_OWN_TEMPLATE_STANDIN = (
    "{{- bos_token }}{%- if not date_string is defined %}{%- set date_string = '26 Jul 2024' %}{%- endif %}"
    "{{- '<|start_header_id|>system<|end_header_id|>\\n\\nCutting Knowledge Date: December 2023\\n' }}"
)


@pytest.fixture
def qwen25_tokenizer(embedded_model):
    """A Qwen2.5-Instruct-shaped tokenizer: ChatML, EOS `<|im_end|>`, pad `<|endoftext|>`, no BOS, and Qwen's own
    default system prompt in its stock template (built from the embedded SmolLM2 vocabulary, offline; a fresh copy
    per test because templates modify it in place)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(embedded_model, clean_up_tokenization_spaces=False)
    tok.add_tokens(["<|vision_start|>", "<|fim_prefix|>"], special_tokens=True)
    tok.eos_token, tok.pad_token, tok.bos_token = "<|im_end|>", "<|endoftext|>", None
    tok.chat_template = QWEN25_OWN_TEMPLATE_STANDIN
    return tok


# Llama-3's pre-tokenizer split (the public tiktoken cl100k pattern): a run of newlines is one piece, so
# "…<|end_header_id|>\n\n" tokenises the same whether or not the assistant text follows.
LLAMA3_SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
    r"|\s+(?!\S)|\s+"
)


@pytest.fixture
def llama31_tokenizer(embedded_model):
    """A Llama-3.1-Instruct-shaped tokenizer: `<|begin_of_text|>` BOS, header tokens, EOS `<|eot_id|>`, no pad token
    but a spare `<|finetune_right_pad_id|>`, Llama-3's pre-tokenizer split (embedded SmolLM2 vocabulary plus the
    Llama-3 special tokens, offline)."""
    from tokenizers import Regex, pre_tokenizers
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(embedded_model, clean_up_tokenization_spaces=False)
    tok.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(LLAMA3_SPLIT_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.add_tokens(
        ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|finetune_right_pad_id|>"],
        special_tokens=True,
    )
    tok.bos_token, tok.eos_token, tok.pad_token = "<|begin_of_text|>", "<|eot_id|>", None
    tok.chat_template = LLAMA31_OWN_TEMPLATE_STANDIN
    return tok
