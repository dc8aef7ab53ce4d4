"""How the loss of one optimizer step weighs its samples (`loss_weighting` in a recipe).

- `per_sample` (the paper's, our default): each sample's loss is the mean over its own supervised tokens, and the
  step's loss is the mean of those over every sample of the step (all micro-batches, all processes). This equals the
  paper's micro-batch-1 gradient accumulation exactly, whatever the micro-batch size, padding or padding-free.
- `token` (TRL's default): one mean over all supervised tokens of the step, so long samples weigh more.

TRL 1.16's `SFTTrainer.compute_loss` sums per-token log-probabilities from its fused LM head and divides by
`num_items_in_batch`, the step's supervised-token count that `Trainer` computes before the step. For `per_sample`
this subclass counts samples instead, and divides each token's loss by its sample's token count first.
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

LOSS_WEIGHTINGS = ("per_sample", "token")


def _sft_trainer_class():
    from trl import SFTTrainer

    return SFTTrainer


def sample_ids(inputs: dict[str, Any]):
    """The sample each shifted label (`labels[:, 1:]`) belongs to, as one id per position, unique in the micro-batch.

    Padded batches hold one sample per row. Padding-free batches are one row of concatenated samples: TRL's collator
    gives each token's sample index in `seq_idx`; without it, a sample starts wherever `position_ids` restarts at 0.
    """
    import torch

    labels = inputs["labels"]
    rows, length = labels.shape
    if "seq_idx" in inputs:
        within_row = inputs["seq_idx"].to(labels.device).long()
    elif "position_ids" in inputs and "attention_mask" not in inputs:
        within_row = (inputs["position_ids"] == 0).long().cumsum(dim=-1) - 1
    else:
        within_row = torch.zeros_like(labels)
    row_index = torch.arange(rows, device=labels.device)[:, None]
    return (row_index * length + within_row)[:, 1:]


def per_sample_loss_sum(neg_log_probs, shifted_labels, ids):
    """Sum over samples of each sample's mean token loss, and the number of samples with a supervised token.

    Args:
        neg_log_probs: per-position loss aligned with `shifted_labels` (zero where the label is ignored).
        shifted_labels: `labels[:, 1:]`, -100 where no loss is taken.
        ids: `sample_ids(inputs)`, same shape.
    """
    import torch

    mask = shifted_labels != -100
    flat_ids = ids[mask]
    if flat_ids.numel() == 0:
        return neg_log_probs.sum() * 0.0, 0
    _, dense = torch.unique(flat_ids, return_inverse=True)
    n = int(dense.max().item()) + 1
    token_counts = torch.zeros(n, device=dense.device, dtype=neg_log_probs.dtype).index_add_(
        0, dense, torch.ones_like(dense, dtype=neg_log_probs.dtype)
    )
    weights = 1.0 / token_counts[dense]
    return (neg_log_probs[mask] * weights).sum(), n


def count_samples(batch: dict[str, Any]) -> int:
    """Samples with at least one supervised (shifted) label in a collated micro-batch."""
    import torch

    ids = sample_ids(batch)
    supervised = ids[batch["labels"][:, 1:] != -100]
    return int(torch.unique(supervised).numel())


def make_trainer_class():
    """`SFTTrainer` with `loss_weighting` (built lazily so importing this module does not import TRL)."""
    sft_trainer = _sft_trainer_class()

    class Star1SFTTrainer(sft_trainer):
        """TRL's `SFTTrainer` whose step loss is the mean of per-sample means when `loss_weighting="per_sample"`."""

        def __init__(self, *args, loss_weighting: str = "per_sample", **kwargs):
            if loss_weighting not in LOSS_WEIGHTINGS:
                raise ValueError(f"unknown loss_weighting {loss_weighting!r}; choose one of {LOSS_WEIGHTINGS}")
            super().__init__(*args, **kwargs)
            self.loss_weighting = loss_weighting
            if loss_weighting == "per_sample":
                self._check_per_sample_supported()
                # Our loss is already the step mean (every micro-batch divides by the step's sample count).
                self.loss_is_scaled_for_ga = True

        def _check_per_sample_supported(self) -> None:
            args = self.args
            unsupported = []
            if args.loss_type != "nll":
                unsupported.append(f"loss_type={args.loss_type!r}")
            if self.compute_loss_func is not None:
                unsupported.append("compute_loss_func")
            if args.label_smoothing_factor:
                unsupported.append(f"label_smoothing_factor={args.label_smoothing_factor}")
            if self.aux_loss_enabled:
                unsupported.append("a MoE auxiliary loss")
            parallelism = getattr(self.accelerator, "parallelism_config", None)
            if parallelism is not None and (
                getattr(parallelism, "sp_enabled", False) or getattr(parallelism, "cp_enabled", False)
            ):
                unsupported.append("sequence/context parallelism")
            if unsupported:
                raise ValueError(
                    f"loss_weighting 'per_sample' does not support {', '.join(unsupported)}; "
                    "set `loss_weighting: token` in the recipe"
                )

        def _get_num_items_in_batch(self, batch_samples: list, device):
            if self.loss_weighting != "per_sample":
                return super()._get_num_items_in_batch(batch_samples, device)
            import torch

            count = torch.tensor(sum(count_samples(batch) for batch in batch_samples), device=device)
            if self.args.average_tokens_across_devices and self.args.world_size > 1:
                count = self.accelerator.gather(count).sum()
            return count

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if self.loss_weighting != "per_sample" or not model.training or return_outputs:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            if "shift_labels" in inputs:
                raise ValueError("loss_weighting 'per_sample' cannot handle pre-shifted labels (context parallelism)")
            inputs["use_cache"] = False
            outputs = model(**inputs, fused_lm_head=True)
            loss_sum, n_local = per_sample_loss_sum(-outputs.log_probs, inputs["labels"][:, 1:], sample_ids(inputs))
            denominator = n_local if num_items_in_batch is None else num_items_in_batch
            loss = loss_sum / max(float(denominator), 1.0)
            if self.args.average_tokens_across_devices and num_items_in_batch is not None:
                # num_items_in_batch counts every rank's samples and DDP/DeepSpeed average gradients over ranks.
                loss = loss * self.accelerator.num_processes
            self._record_step_metrics(inputs, outputs)
            return loss

        def _record_step_metrics(self, inputs, outputs) -> None:
            """The metrics TRL logs for a training step: token accuracy, entropy, tokens seen."""
            import torch

            gather = self.accelerator.gather_for_metrics
            valid = gather(outputs.label_mask.sum()).sum()
            metrics = self._metrics["train"]
            for name, per_token in (("entropy", outputs.entropy), ("mean_token_accuracy", outputs.is_top1)):
                if per_token is not None:
                    total = gather(per_token.detach().sum()).sum()
                    metrics[name].append((total / valid).item() if valid > 0 else 0.0)
            if "attention_mask" in inputs:
                local_tokens = inputs["attention_mask"].sum()
            else:
                local_tokens = torch.tensor(inputs["input_ids"].size(1), device=inputs["input_ids"].device)
            self._total_train_tokens += int(gather(local_tokens).sum().item())
            metrics["num_tokens"] = [self._total_train_tokens]

    return Star1SFTTrainer
