"""python -m bench.padding [--recipe recipes/DeepSeek-R1-Distill-Qwen-7B/sft/config_star1.yaml] [--batch-size 8] [--small]

How much of the computed sequence length is padding, on the real STAR-1 length distribution?

Every STAR-1 row is rendered with the training chat template and tokenised with the embedded tokenizer, then
batched four ways and collated with TRL's own `DataCollatorForLanguageModeling`; padding is counted on the tensors
the model would receive:
  * naive padded batches (random order, `--batch-size` rows, right-padded to the batch maximum);
  * padded batches grouped by length (sorted, the `group_by_length` trick);
  * the recipe's batching: padding-free (the batch is one flat sequence with per-example position_ids);
  * BFD packing into max_length blocks, both padding-free and with each block padded to max_length.
Target: <= 2 % padding for the recipe's batching. The paper recipes use a per-device batch of 1-2 (so that the
1,000 rows split evenly over the GPUs), where no batching pads much; `--batch-size` (default 8) measures a larger
micro-batch, which padding-free batching keeps free of padding. The released STAR-1 comes from ../shared/data;
`--small` (seconds, run by tests/test_bench_small.py) measures the 20-row sample shipped in the package instead.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from importlib import resources
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# bench/ is sys.path[0] when run as a script; keep its modules (e.g. bench/select.py) from shadowing the stdlib.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO_ROOT))


def tokenise_star1(path: Path, tokenizer) -> list[dict]:
    from star1_hub.train.data import to_messages

    examples = []
    for row in json.loads(path.read_text()):
        out = tokenizer.apply_chat_template(
            to_messages(row["question"], row["response"]),
            tokenize=True,
            return_dict=True,
            return_assistant_tokens_mask=True,
        )
        ids = list(out["input_ids"])
        labels = [i if m else -100 for i, m in zip(ids, out["assistant_masks"], strict=True)]
        examples.append({"input_ids": ids, "labels": labels})
    return examples


def padded_fraction(batches: list[list[dict]], collator) -> tuple[float, int]:
    """(fraction of positions that are padding, total positions) over all collated batches."""
    total = padding = 0
    for batch in batches:
        out = collator(batch)
        positions = out["input_ids"].numel()
        real = sum(len(e["input_ids"]) for e in batch)
        total += positions
        padding += positions - real
    return padding / total, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="recipes/DeepSeek-R1-Distill-Qwen-7B/sft/config_star1.yaml")
    parser.add_argument("--batch-size", type=int, default=8, help="rows per micro-batch (default 8)")
    parser.add_argument("--seed", type=int, default=2002)
    parser.add_argument("--small", action="store_true", help="the packaged 20-row STAR-1 sample, not ../shared/data")
    args = parser.parse_args()

    import yaml
    from datasets import Dataset
    from rich.console import Console
    from rich.table import Table
    from transformers import AutoTokenizer
    from trl.data_utils import pack_dataset
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    from star1_hub.embedded import embedded_model_path
    from star1_hub.home import shared_data_dir
    from star1_hub.train.config import resolve_recipe
    from star1_hub.train.templates import apply_training_template

    console = Console()
    if args.small:
        data_file = Path(str(resources.files("star1_hub").joinpath("data", "samples", "star1_sample.json")))
    else:
        data_dir = shared_data_dir()
        if data_dir is None:
            console.print(
                "reference data ../shared/data is absent (set STAR1_SHARED_DATA, or pass --small for the packaged "
                "sample); nothing to measure"
            )
            raise SystemExit(1)
        data_file = data_dir / "STAR-1.json"
    recipe = yaml.safe_load(resolve_recipe(args.recipe).read_text())
    batch_size, max_length = args.batch_size, recipe["max_length"]

    tokenizer = AutoTokenizer.from_pretrained(embedded_model_path())
    apply_training_template(tokenizer, "embedded")
    examples = tokenise_star1(data_file, tokenizer)
    lengths = sorted(len(e["input_ids"]) for e in examples)
    console.print(
        f"STAR-1 ({data_file.name}): {len(examples)} conversations, tokens median {statistics.median(lengths):.0f}, "
        f"p90 {lengths[int(0.9 * len(lengths))]}, max {lengths[-1]}, total {sum(lengths)}; recipe {args.recipe}: "
        f"per-device batch {recipe['per_device_train_batch_size']} (measured at {batch_size}), max_length {max_length}"
    )

    rng = random.Random(args.seed)
    shuffled = examples[:]
    rng.shuffle(shuffled)
    chunks = [shuffled[i : i + batch_size] for i in range(0, len(shuffled), batch_size)]
    by_length = sorted(examples, key=lambda e: len(e["input_ids"]))
    sorted_chunks = [by_length[i : i + batch_size] for i in range(0, len(by_length), batch_size)]
    padded = DataCollatorForLanguageModeling(pad_token_id=tokenizer.pad_token_id)
    free = DataCollatorForLanguageModeling(pad_token_id=tokenizer.pad_token_id, padding_free=True)

    packed = pack_dataset(Dataset.from_list(shuffled), seq_length=max_length, strategy="bfd")
    blocks = [[packed[i]] for i in range(len(packed))]
    packed_tokens = sum(len(b[0]["input_ids"]) for b in blocks)

    rows = [
        ("naive padded batches (random order)", *padded_fraction(chunks, padded)),
        ("padded batches grouped by length", *padded_fraction(sorted_chunks, padded)),
        ("recipe: padding-free batches", *padded_fraction(chunks, free)),
        ("BFD packing, padding-free blocks", *padded_fraction(blocks, free)),
        (
            f"BFD packing, blocks padded to {max_length}",
            1 - packed_tokens / (len(blocks) * max_length),
            len(blocks) * max_length,
        ),
    ]
    table = Table(title=f"Padding on STAR-1 (embedded tokenizer), micro-batch of {batch_size}")
    table.add_column("batching")
    table.add_column("computed positions", justify="right")
    table.add_column("padding", justify="right")
    for name, fraction, total in rows:
        table.add_row(name, f"{total:,}", f"{100 * fraction:.2f} %")
    console.print(table)
    recipe_fraction = rows[2][1]
    verdict = "meets" if recipe_fraction <= 0.02 else "MISSES"
    console.print(
        f"recipe batching: {100 * recipe_fraction:.2f} % padding vs {100 * rows[0][1]:.2f} % naive — "
        f"{verdict} the <= 2 % target"
    )


if __name__ == "__main__":
    main()
