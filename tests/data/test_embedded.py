"""The embedded model is materialised once, atomically, and generates with both chat templates."""

from __future__ import annotations

from star1_hub.embedded import TRAINING_CHAT_TEMPLATE, embedded_model_path, is_materialised


def test_materialisation_is_idempotent(embedded_model):
    assert is_materialised(embedded_model.parent.parent)
    mtime = (embedded_model / "model.safetensors").stat().st_mtime_ns
    assert embedded_model_path(embedded_model.parent.parent) == embedded_model
    assert (embedded_model / "model.safetensors").stat().st_mtime_ns == mtime
    assert not [p for p in embedded_model.parent.iterdir() if p.name.startswith(".")], "staging dirs left behind"


def test_embedded_model_loads_and_generates(embedded_model):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(embedded_model)
    model = AutoModelForCausalLM.from_pretrained(embedded_model)
    assert sum(p.numel() for p in model.parameters()) == 134_515_008
    inputs = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Say hello."}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=5, do_sample=False)
    assert output.shape[1] > inputs["input_ids"].shape[1]


def test_training_template_renders_like_the_stock_one_and_marks_the_assistant(embedded_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(embedded_model)
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "<think>\nx\n</think>\n\nhello"}]
    stock = tokenizer.apply_chat_template(messages, tokenize=False)
    ours = tokenizer.apply_chat_template(messages, tokenize=False, chat_template=TRAINING_CHAT_TEMPLATE)
    assert ours == stock
    out = tokenizer.apply_chat_template(
        messages, chat_template=TRAINING_CHAT_TEMPLATE, return_dict=True, return_assistant_tokens_mask=True
    )
    masked = [t for t, m in zip(out["input_ids"], out["assistant_masks"], strict=True) if m]
    assert tokenizer.decode(masked) == "<think>\nx\n</think>\n\nhello<|im_end|>"
