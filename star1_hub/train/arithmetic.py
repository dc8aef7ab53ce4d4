"""Batch, step and warm-up arithmetic of a recipe, computed the way transformers 5.24 and accelerate 1.15 do it.

- accelerate shards each epoch's shuffled rows into per-process micro-batches. With its default `even_batches`,
  when the rows do not fill the last round of micro-batches on every process, it completes that round with rows
  from the start of the epoch: those rows are seen twice in the epoch. (`even_batches: false` would leave the
  processes with different numbers of micro-batches, which DeepSpeed and FSDP cannot train with; the recipe key
  dataloader_drop_last: true drops the rows instead, as the paper's loop did.) Without dropping, the only
  duplicate-free choice is a layout whose per-device batch x processes divides the row count.
- `Trainer` runs ceil(micro-batches / accumulation) optimizer steps per epoch (the last one may be shorter),
  ceil(epochs x that) in total, and a fractional `warmup_steps` is ceil(fraction x total steps).

The paper's loop counted the run as a whole: floor(rows/processes) micro-batches per process per epoch (its
DataLoader drops the last partial round), floor(epochs x that / accumulation) optimizer steps over the run, and
int(0.05 x steps) warm-up steps; its final partial window was never applied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PAPER_PROCESSES = 8
PAPER_ACCUMULATION = 16  # micro-batch 1 per GPU
PAPER_EPOCHS = 5
PAPER_WARMUP = 0.05


@dataclass(frozen=True)
class StepArithmetic:
    """What one recipe does with `rows` training rows."""

    rows: int
    per_device: int
    accumulation: int
    processes: int
    epochs: float
    warmup: float
    max_steps: int = -1

    @property
    def samples_per_step(self) -> int:
        """Samples in a full optimizer step over all processes."""
        return self.per_device * self.accumulation * self.processes

    @property
    def micro_batches_per_epoch(self) -> int:
        """Micro-batches each process runs per epoch (accelerate, `even_batches` on)."""
        return math.ceil(self.rows / (self.per_device * self.processes))

    @property
    def duplicated_per_epoch(self) -> int:
        """Rows accelerate repeats per epoch to give every process a full last micro-batch."""
        return self.micro_batches_per_epoch * self.per_device * self.processes - self.rows

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.micro_batches_per_epoch / self.accumulation)

    @property
    def last_step_samples(self) -> int:
        """Samples in an epoch's last optimizer step (equal to `samples_per_step` when it is full)."""
        remainder = self.micro_batches_per_epoch % self.accumulation or self.accumulation
        return remainder * self.per_device * self.processes

    @property
    def total_steps(self) -> int:
        if self.max_steps > 0:
            return self.max_steps
        return math.ceil(self.epochs * self.steps_per_epoch)

    @property
    def warmup_steps(self) -> int:
        return int(self.warmup) if self.warmup >= 1 else math.ceil(self.total_steps * self.warmup)

    def describe(self) -> list[str]:
        """Human-readable lines for `star1 train --dry-run`."""
        lines = [
            f"batch: {self.per_device} per device x {self.accumulation} accumulation x {self.processes} process(es) "
            f"= {self.samples_per_step} samples per optimizer step",
            f"steps: {self.rows} rows -> {self.micro_batches_per_epoch} micro-batches per process per epoch, "
            f"{self.steps_per_epoch} optimizer steps per epoch (last one {self.last_step_samples} samples), "
            f"{self.total_steps} in total, {self.warmup_steps} warm-up",
            f"duplicated samples per epoch (accelerate even_batches): {self.duplicated_per_epoch}",
        ]
        if self.max_steps > 0:
            lines[1] += f" (max_steps {self.max_steps} overrides the epochs)"
        return lines


def paper_arithmetic(rows: int) -> tuple[int, int]:
    """The paper's (optimizer steps, warm-up steps) for `rows` rows: 8 GPUs x micro-batch 1 x accumulation 16."""
    micro_batches = rows // PAPER_PROCESSES
    steps = int(micro_batches * PAPER_EPOCHS) // PAPER_ACCUMULATION
    return steps, int(PAPER_WARMUP * steps)


def recipe_arithmetic(rows: int, script_args, training_args) -> StepArithmetic:
    """The arithmetic of a parsed recipe for a dataset of `rows` rows."""
    return StepArithmetic(
        rows=rows,
        per_device=training_args.per_device_train_batch_size,
        accumulation=training_args.gradient_accumulation_steps,
        processes=script_args.num_processes,
        epochs=training_args.num_train_epochs,
        warmup=training_args.warmup_steps,
        max_steps=training_args.max_steps,
    )


def arithmetic_table_rows(recipes: list[tuple[str, int, object, object]]) -> list[str]:
    """Markdown rows of the step table (recipes/README.md, docs/deviations.md) for (name, rows, script, training)."""
    out = []
    for name, rows, script_args, training_args in recipes:
        ours = recipe_arithmetic(rows, script_args, training_args)
        paper_steps, paper_warmup = paper_arithmetic(rows)
        out.append(
            f"| `{name}` | {rows} | {ours.per_device} × {ours.accumulation} × {ours.processes} | "
            f"{ours.total_steps} ({ours.steps_per_epoch}/epoch) | {ours.warmup_steps} | "
            f"{ours.samples_per_step} (last of epoch {ours.last_step_samples}) | {ours.duplicated_per_epoch} | "
            f"{paper_steps} / {paper_warmup} |"
        )
    return out
