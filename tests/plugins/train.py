"""Fixtures for the train tests: real STAR-1 rows, small real tokenizers in the R1-Distill layouts, a tiny dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def star1_rows(shared_data: Path) -> list[dict]:
    """The 1,000 released STAR-1 rows (read-only reference file)."""
    return json.loads((shared_data / "STAR-1.json").read_text())


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
