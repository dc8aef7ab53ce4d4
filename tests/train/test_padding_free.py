"""Padding-free and packed batches must give every sequence the same loss as a padded batch: a wrong attention mask
would let one example attend to another and silently train on cross-contaminated context."""

from __future__ import annotations

import pytest

from star1_hub.train.data import to_messages
from star1_hub.train.templates import apply_training_template

pytestmark = pytest.mark.slow  # three forward passes of the 135M model: ~30 s idle, minutes on a loaded CPU


@pytest.fixture(scope="module")
def model_and_examples(embedded_model, star1_rows):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(embedded_model)
    apply_training_template(tok, "embedded")
    rows = sorted(star1_rows, key=lambda r: len(r["response"]))[:3]
    examples = []
    # Cut to different lengths (kept short for CPU time); each still spans prompt and supervised answer tokens.
    for row, keep in zip(rows, (120, 100, 80), strict=True):
        out = tok.apply_chat_template(
            to_messages(row["question"], row["response"]),
            tokenize=True,
            return_dict=True,
            return_assistant_tokens_mask=True,
        )
        ids, mask = list(out["input_ids"])[:keep], list(out["assistant_masks"])[:keep]
        assert 0 < sum(mask) < keep
        examples.append({"input_ids": ids, "labels": [i if m else -100 for i, m in zip(ids, mask, strict=True)]})
    assert len({len(e["input_ids"]) for e in examples}) > 1, "need different lengths so the padded batch has padding"
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(embedded_model, dtype=torch.float32, attn_implementation="sdpa")
    model.eval()
    return model, tok, examples, _padded_losses(model, tok, examples)


def _per_sequence_losses(logits, labels, spans):
    """Mean next-token NLL over supervised tokens for each (row, start, end) span of the batch."""
    import torch.nn.functional as F

    losses = []
    for row, start, end in spans:
        seq_logits, seq_labels = logits[row, start : end - 1], labels[row, start + 1 : end]
        losses.append(F.cross_entropy(seq_logits.float(), seq_labels, ignore_index=-100).item())
    return losses


def _forward(model, batch):
    import torch

    # use_cache=False as in SFTTrainer.compute_loss: transformers only derives the per-sequence (block-diagonal)
    # mask from position_ids when no KV cache is built.
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    with torch.no_grad():
        return model(**inputs, use_cache=False).logits


def _padded_losses(model, tok, examples):
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    batch = DataCollatorForLanguageModeling(pad_token_id=tok.pad_token_id)(examples)
    assert (batch["attention_mask"] == 0).any()
    logits = _forward(model, batch)
    return _per_sequence_losses(logits, batch["labels"], [(i, 0, len(e["input_ids"])) for i, e in enumerate(examples)])


def _flat_spans(examples):
    spans, offset = [], 0
    for e in examples:
        spans.append((0, offset, offset + len(e["input_ids"])))
        offset += len(e["input_ids"])
    return spans


def test_padding_free_batch_matches_padded_batch(model_and_examples):
    import torch
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    model, tok, examples, padded = model_and_examples
    batch = DataCollatorForLanguageModeling(pad_token_id=tok.pad_token_id, padding_free=True)(examples)
    assert batch["input_ids"].shape[0] == 1 and "attention_mask" not in batch
    assert batch["input_ids"].shape[1] == sum(len(e["input_ids"]) for e in examples)  # zero padding computed
    free = _per_sequence_losses(_forward(model, batch), batch["labels"], _flat_spans(examples))
    assert free == pytest.approx(padded, abs=2e-4)

    # Control: the same flat batch with positions running across boundaries (what a broken mask does) must differ,
    # otherwise this test could not detect cross-contamination.
    leaky = {k: v for k, v in batch.items() if k in ("input_ids", "labels")}
    leaky["position_ids"] = torch.arange(batch["input_ids"].shape[1])[None]
    contaminated = _per_sequence_losses(_forward(model, leaky), batch["labels"], _flat_spans(examples))
    assert contaminated[0] == pytest.approx(padded[0], abs=2e-4)  # the first sequence sees no other one
    assert all(abs(c - p) > 1e-2 for c, p in zip(contaminated[1:], padded[1:], strict=True))


def test_bfd_packed_batch_matches_padded_batch(model_and_examples):
    from datasets import Dataset
    from trl.data_utils import pack_dataset
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    model, tok, examples, padded = model_and_examples
    packed = pack_dataset(Dataset.from_list(examples), seq_length=4096, strategy="bfd")
    assert len(packed) == 1  # all three fit in one block
    block = packed[0]
    batch = DataCollatorForLanguageModeling(pad_token_id=tok.pad_token_id, padding_free=True)([block])
    # BFD reorders sequences inside the block: map each back to its original example by its token ids.
    spans, offset = [], 0
    order = []
    for length in block["seq_lengths"]:
        ids = block["input_ids"][offset : offset + length]
        order.append(next(i for i, e in enumerate(examples) if e["input_ids"] == ids))
        spans.append((0, offset, offset + length))
        offset += length
    losses = _per_sequence_losses(_forward(model, batch), batch["labels"], spans)
    assert sorted(order) == [0, 1, 2]
    assert [losses[order.index(i)] for i in range(3)] == pytest.approx(padded, abs=2e-4)
