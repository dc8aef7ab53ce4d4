"""Training chat templates render real STAR-1 rows with the trace kept, the loss on the assistant turn + EOS only,
the same BOS at training and inference, and a generation prompt that ends exactly where supervision starts; the
instruct families (Qwen2.5, Llama-3.1) get their own layouts and never another model's system prompt."""

from __future__ import annotations

import pytest

from star1_hub.think import split_think
from star1_hub.train.data import build_target, to_messages
from star1_hub.train.templates import (
    QWEN_DEFAULT_SYSTEM_PROMPT,
    TEMPLATE_NAMES,
    ChatTemplateError,
    apply_training_template,
    detect_template_name,
)

# (think_flag, base_flag): the paper's R1 run, the "w/o think" ablation, and the instruct-model format.
FLAGS = [(1, 0), (0, 0), (0, 1)]


def _sample(rows, n=12):
    """Shortest, longest and evenly spread rows (plus one canned refusal) of the released file."""
    ordered = sorted(rows, key=lambda r: len(r["response"]))
    picks = [ordered[0], ordered[-1]] + ordered[:: max(1, len(ordered) // (n - 2))][: n - 2]
    return picks


def _render(tokenizer, row, think_flag=1, base_flag=0):
    messages = to_messages(row["question"], row["response"], think_flag, base_flag)
    full = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    prompt = tokenizer.apply_chat_template(messages[:1], tokenize=True, return_dict=True, add_generation_prompt=True)
    return list(full["input_ids"]), list(full["assistant_masks"]), list(prompt["input_ids"]), messages


@pytest.fixture(params=["r1-distill-qwen", "r1-distill-llama", "qwen2.5-instruct", "llama-3.1-instruct", "embedded"])
def template_case(request, embedded_model):
    from transformers import AutoTokenizer

    if request.param == "embedded":
        tok = AutoTokenizer.from_pretrained(embedded_model, clean_up_tokenization_spaces=False)
    else:
        fixture = {
            "r1-distill-qwen": "r1_qwen_tokenizer",
            "r1-distill-llama": "r1_llama_tokenizer",
            "qwen2.5-instruct": "qwen25_tokenizer",
            "llama-3.1-instruct": "llama31_tokenizer",
        }[request.param]
        tok = request.getfixturevalue(fixture)
    assert detect_template_name(tok) == request.param
    assert apply_training_template(tok, "auto") == request.param
    return request.param, tok


@pytest.mark.parametrize(("think_flag", "base_flag"), FLAGS)
def test_template_supervises_exactly_the_assistant_turn(template_case, star1_rows, think_flag, base_flag):
    name, tok = template_case
    for row in _sample(star1_rows):
        ids, mask, prompt, messages = _render(tok, row, think_flag, base_flag)
        # Inference starts where the prompt ends: the prompt is a token prefix, unsupervised, and supervision
        # begins on the very next token.
        assert ids[: len(prompt)] == prompt, row["id"]
        assert not any(mask[: len(prompt)]) and mask[len(prompt)] == 1, row["id"]
        supervised = [i for i, bit in zip(ids, mask, strict=True) if bit]
        text = tok.decode(supervised, skip_special_tokens=False)
        assert text == messages[1]["content"] + tok.eos_token, row["id"]
        assert supervised[-1] == tok.eos_token_id
        reasoning, answer = split_think(row["response"])
        assert answer and answer in text
        if think_flag:
            assert reasoning and f"<think>\n{reasoning}\n</think>" in text
        elif base_flag:
            assert text == answer + tok.eos_token and "<think>" not in text
        else:
            assert text.startswith("<think>\n\n</think>\n\n") and reasoning not in text
        if name.startswith("r1-distill") or name == "llama-3.1-instruct":
            # Same BOS at training and inference (the original Qwen branch dropped it at training time).
            assert ids[0] == prompt[0] == tok.bos_token_id
            assert ids[-1] == tok.eos_token_id and ids.count(tok.bos_token_id) == 1
        else:
            assert ids[0] == prompt[0] == tok.convert_tokens_to_ids("<|im_start|>")


def test_trl_accepts_templates_as_training_compatible(template_case):
    from trl.chat_template_utils import has_generation_markers, is_chat_template_stop_token_trained

    _, tok = template_case
    assert has_generation_markers(tok.chat_template)
    assert is_chat_template_stop_token_trained(tok)


def test_r1_layout_matches_spec(r1_qwen_tokenizer, star1_rows):
    apply_training_template(r1_qwen_tokenizer, "r1-distill-qwen")
    row = star1_rows[0]
    text = r1_qwen_tokenizer.apply_chat_template(to_messages(row["question"], row["response"]), tokenize=False)
    reasoning, answer = split_think(row["response"])
    expected = (
        f"<｜begin▁of▁sentence｜><｜User｜>{row['question'].strip()}<｜Assistant｜><think>\n{reasoning}\n</think>"
        f"\n\n{answer}<｜end▁of▁sentence｜>"
    )
    assert text == expected


def test_eos_keeps_its_label_when_pad_equals_eos(r1_qwen_tokenizer, star1_rows):
    """The Qwen-style tokenizer has no spare pad token, so pad = EOS; the collator must still train on EOS."""
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    apply_training_template(r1_qwen_tokenizer, "r1-distill-qwen")
    assert r1_qwen_tokenizer.pad_token_id == r1_qwen_tokenizer.eos_token_id
    examples = []
    for row in _sample(star1_rows, 4)[:2]:
        ids, mask, _, _ = _render(r1_qwen_tokenizer, row)
        examples.append({"input_ids": ids, "labels": [i if m else -100 for i, m in zip(ids, mask, strict=True)]})
    batch = DataCollatorForLanguageModeling(pad_token_id=r1_qwen_tokenizer.pad_token_id)(examples)
    for k, example in enumerate(examples):
        assert batch["labels"][k, len(example["input_ids"]) - 1].item() == r1_qwen_tokenizer.eos_token_id


def test_distinct_pad_token_is_chosen_when_available(r1_llama_tokenizer):
    apply_training_template(r1_llama_tokenizer, "r1-distill-llama")
    assert r1_llama_tokenizer.pad_token == "<|finetune_right_pad_id|>" != r1_llama_tokenizer.eos_token


def test_target_formats_follow_flags():
    response = "<think>\nweigh the policy\n</think>\n\nI can't help with that, but here is a safe alternative."
    assert build_target(response, 1, 0) == (
        "<think>\nweigh the policy\n</think>\n\nI can't help with that, but here is a safe alternative."
    )
    assert build_target(response, 0, 0).startswith("<think>\n\n</think>\n\nI can't")
    assert build_target(response, 0, 1) == "I can't help with that, but here is a safe alternative."
    assert split_think("no think block at all") == ("", "no think block at all")
    assert split_think("<think>a<\\/b</think> c") == ("a</b", "c")


def test_unknown_template_name_is_a_clear_error(r1_qwen_tokenizer):
    with pytest.raises(ChatTemplateError, match="unknown chat template 'qwen-typo'"):
        apply_training_template(r1_qwen_tokenizer, "qwen-typo")


def test_stock_template_without_generation_markers_is_rejected(embedded_model):
    """SmolLM2's own template has no {% generation %} markers: training with it would put no token in the loss."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(embedded_model)
    with pytest.raises(ChatTemplateError, match="has no \\{% generation %\\} markers"):
        apply_training_template(tok, "tokenizer")


def test_qwen25_layout_has_qwens_default_system_prompt_and_no_other(qwen25_tokenizer, star1_rows):
    """Qwen2.5-Instruct's own behaviour: its default system prompt when the conversation has none; a given system
    turn replaces it. Nothing of the tokenizer's former (SmolLM2) template survives."""
    apply_training_template(qwen25_tokenizer, "qwen2.5-instruct")
    row = star1_rows[0]
    messages = to_messages(row["question"], row["response"], think_flag=0, base_flag=1)
    text = qwen25_tokenizer.apply_chat_template(messages, tokenize=False)
    _, answer = split_think(row["response"])
    assert text == (
        f"<|im_start|>system\n{QWEN_DEFAULT_SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\n{row['question'].strip()}"
        f"<|im_end|>\n<|im_start|>assistant\n{answer}<|im_end|>\n"
    )
    with_system = qwen25_tokenizer.apply_chat_template(
        [{"role": "system", "content": "Answer briefly."}, *messages], tokenize=False
    )
    assert with_system.startswith("<|im_start|>system\nAnswer briefly.<|im_end|>\n<|im_start|>user\n")
    assert QWEN_DEFAULT_SYSTEM_PROMPT not in with_system
    assert "SmolLM" not in text + with_system


def test_llama31_layout_has_headers_and_date_preamble(llama31_tokenizer, star1_rows):
    apply_training_template(llama31_tokenizer, "llama-3.1-instruct")
    row = star1_rows[0]
    messages = to_messages(row["question"], row["response"], think_flag=0, base_flag=1)
    text = llama31_tokenizer.apply_chat_template(messages, tokenize=False)
    _, answer = split_think(row["response"])
    preamble = "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"
    assert text == (
        f"<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n{preamble}<|eot_id|>"
        f"<|start_header_id|>user<|end_header_id|>\n\n{row['question'].strip()}<|eot_id|>"
        f"<|start_header_id|>assistant<|end_header_id|>\n\n{answer}<|eot_id|>"
    )
    with_system = llama31_tokenizer.apply_chat_template(
        [{"role": "system", "content": "Answer briefly."}, messages[0]], tokenize=False, add_generation_prompt=True
    )
    assert with_system.startswith(f"<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n{preamble}")
    assert with_system.endswith(
        "Answer briefly.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n"
        f"{row['question'].strip()}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
    )
    assert "SmolLM" not in text and "Qwen" not in text
    assert llama31_tokenizer.pad_token == "<|finetune_right_pad_id|>"


def test_chatml_tokenizer_of_an_unknown_family_is_not_given_a_foreign_template(qwen25_tokenizer):
    """The old rule mapped every ChatML tokenizer with EOS <|im_end|> to SmolLM2's template (and its system prompt).
    A ChatML tokenizer whose own template names no supported family is now an error listing the choices."""
    qwen25_tokenizer.chat_template = (
        "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}"
    )
    with pytest.raises(ChatTemplateError, match="cannot pick a training chat template") as excinfo:
        apply_training_template(qwen25_tokenizer, "auto")
    for name in TEMPLATE_NAMES:
        assert name in str(excinfo.value)


def test_template_for_another_family_is_refused(qwen25_tokenizer):
    with pytest.raises(ChatTemplateError, match=r"needs tokens \['<\|start_header_id\|>'"):
        apply_training_template(qwen25_tokenizer, "llama-3.1-instruct")
