"""`loss_weighting: per_sample` gives the paper's gradient: the mean over the step's samples of each sample's mean
token loss, i.e. micro-batch-1 gradient accumulation, whatever the micro-batch size, padded or padding-free.

The reference is computed with plain transformers (one sample per forward, the model's own mean token loss, the
gradients of the N samples averaged); the trainer's accumulated gradient is read just before its optimizer step.

The model is the embedded SmolLM2-135M with its pretrained weights, truncated to its first `N_LAYERS` decoder layers
(`num_hidden_layers` override; embeddings, tied LM head, tokenizer and template unchanged). How the trainer weights
samples does not depend on the depth, and five four-sample gradients of all 30 layers cost over a minute of CPU."""

from __future__ import annotations

import pytest

from star1_hub.think import format_think, split_think
from star1_hub.train.data import to_messages
from star1_hub.train.loss import count_samples, per_sample_loss_sum, sample_ids
from star1_hub.train.templates import apply_training_template

pytestmark = pytest.mark.slow  # five four-sample gradients of a real (truncated) model on CPU

N_SAMPLES = 4
N_LAYERS = 2


# Characters of each row's reasoning trace kept (the answer is kept whole): the four conversations are 85-131
# tokens, assistant turns 44-89 tokens (2x apart), instead of 169-271 with whole traces. The claim needs only
# clearly different lengths; the step's cost is mostly the 49k-token LM head over every token.
REASONING_KEPT = (0, 60, 150, 300)


@pytest.fixture(scope="module")
def step_rows(star1_rows):
    """Four rows of clearly different lengths, so a token mean and a sample mean give different gradients."""
    rows = sorted(star1_rows, key=lambda r: len(r["question"]) + len(r["response"]))
    shortened = []
    for row, kept in zip([rows[0], rows[3], rows[9], rows[15]], REASONING_KEPT, strict=True):
        reasoning, answer = split_think(row["response"])
        shortened.append({**row, "response": format_think(reasoning[:kept], answer)})
    return shortened


@pytest.fixture(scope="module")
def tokenizer(embedded_model):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(embedded_model)
    apply_training_template(tok, "embedded")
    return tok


def _load_model(embedded_model):
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(
        embedded_model, dtype=torch.float32, attn_implementation="sdpa", num_hidden_layers=N_LAYERS
    )
    assert len(model.model.layers) == N_LAYERS
    return model


@pytest.fixture(scope="module")
def reference(embedded_model, tokenizer, step_rows):
    """Micro-batch-1 accumulation as the paper's loop does it: (1/N) * sum of each sample's mean-loss gradient."""
    model = _load_model(embedded_model)
    model.train()
    lengths = []
    for row in step_rows:
        out = tokenizer.apply_chat_template(
            to_messages(row["question"], row["response"]),
            tokenize=True,
            return_dict=True,
            return_assistant_tokens_mask=True,
            return_tensors="pt",
        )
        labels = out["input_ids"].masked_fill(out["assistant_masks"] == 0, -100)
        loss = model(input_ids=out["input_ids"], labels=labels, use_cache=False).loss
        (loss / len(step_rows)).backward()
        lengths.append(int((labels != -100).sum()))
    assert max(lengths) > 1.5 * min(lengths), lengths  # otherwise both weightings would nearly coincide
    return {name: p.grad.detach().clone() for name, p in model.named_parameters() if p.grad is not None}


def _trainer_gradient(
    embedded_model, tokenizer, step_rows, tmp_path, padding_free: bool, loss_weighting: str, per_device: int = 2
):
    """Gradient of the first optimizer step of `Star1SFTTrainer` over all four rows: `per_device` samples per
    micro-batch, accumulated over 4 / `per_device` micro-batches."""
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import SFTConfig

    from star1_hub.train.loss import make_trainer_class

    captured = {}

    class CaptureGradients(TrainerCallback):
        def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
            captured.update({n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None})

    dataset = Dataset.from_list([{"messages": to_messages(r["question"], r["response"])} for r in step_rows])
    config = SFTConfig(
        output_dir=str(tmp_path / f"{loss_weighting}-{padding_free}-{per_device}"),
        per_device_train_batch_size=per_device,
        gradient_accumulation_steps=N_SAMPLES // per_device,
        max_steps=1,
        learning_rate=1e-6,
        lr_scheduler_type="constant",
        warmup_steps=0,
        weight_decay=0.0,
        max_grad_norm=0.0,  # no clipping: compare the raw accumulated gradient
        optim="sgd",
        padding_free=padding_free,
        max_length=None,
        assistant_only_loss=True,
        use_cpu=True,
        bf16=False,
        gradient_checkpointing=False,
        save_strategy="no",
        report_to="none",
        logging_steps=1,
        seed=2002,
        dataloader_num_workers=0,
    )
    trainer = make_trainer_class()(
        model=_load_model(embedded_model),
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=[CaptureGradients()],
        loss_weighting=loss_weighting,
    )
    trainer.train()
    assert trainer.state.global_step == 1 and captured
    return captured


def _max_relative_difference(grads, reference) -> float:
    """The largest, over parameter tensors, of |grad - reference| / |reference| (Frobenius norms)."""
    assert set(grads) == set(reference)
    return max(((grads[n] - ref).norm() / ref.norm()).item() for n, ref in reference.items())


@pytest.fixture(scope="module")
def micro_batch_1(embedded_model, tokenizer, step_rows, tmp_path_factory):
    """The trainer itself at micro-batch 1 x 4 accumulation steps (the paper's layout)."""
    tmp = tmp_path_factory.mktemp("mb1")
    return _trainer_gradient(embedded_model, tokenizer, step_rows, tmp, True, "per_sample", per_device=1)


@pytest.mark.parametrize(("padding_free", "per_device"), [(True, 2), (False, 4)], ids=["padding-free", "padded"])
def test_per_sample_weighting_equals_micro_batch_1_accumulation(
    embedded_model, tokenizer, step_rows, reference, micro_batch_1, tmp_path, padding_free, per_device
):
    grads = _trainer_gradient(embedded_model, tokenizer, step_rows, tmp_path, padding_free, "per_sample", per_device)
    # Same forward path (TRL's fused LM head), only the batching differs: equal up to float summation order.
    assert _max_relative_difference(grads, micro_batch_1) < 1e-4
    # Against the plain-transformers loop (full logits + cross-entropy): the fused LM head's chunked log-softmax
    # differs by ~1e-4 relative on every tensor; a different weighting differs by >1e-1 (next test).
    assert _max_relative_difference(grads, reference) < 5e-3


def test_token_weighting_differs_from_the_paper(embedded_model, tokenizer, step_rows, reference, tmp_path):
    """Control: TRL's per-token mean over the step, even at micro-batch 1, gives a different gradient, so the test
    above can tell the two weightings apart."""
    grads = _trainer_gradient(embedded_model, tokenizer, step_rows, tmp_path, True, "token", per_device=1)
    assert _max_relative_difference(grads, reference) > 5e-2


def test_sample_ids_follow_rows_and_padding_free_boundaries():
    import torch

    padded = {"labels": torch.tensor([[1, 2, -100], [4, 5, 6]]), "attention_mask": torch.ones(2, 3)}
    assert sample_ids(padded).tolist() == [[0, 0], [3, 3]]
    free = {
        "labels": torch.tensor([[-100, 7, 8, -100, 9, -100, 5]]),
        "position_ids": torch.tensor([[0, 1, 2, 0, 1, 0, 1]]),
    }
    assert sample_ids(free).tolist() == [[0, 0, 1, 1, 2, 2]]
    assert count_samples(free) == 3 and count_samples(padded) == 2


def test_per_sample_sum_weights_each_sample_equally():
    import torch

    labels = torch.tensor([[-100, 1, 1, 1, -100, 1]])  # shifted: sample 0 has 3 tokens, sample 1 has 1
    ids = torch.tensor([[0, 0, 0, 0, 1, 1]])[:, 1:]
    nll = torch.tensor([[1.0, 1.0, 1.0, 0.0, 5.0]])
    total, n = per_sample_loss_sum(nll, labels[:, 1:], ids)
    assert n == 2 and total.item() == pytest.approx(1.0 + 5.0)  # token mean would be 8/4 = 2 per token
