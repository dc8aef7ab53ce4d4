"""Training data: load STAR-1-shaped datasets (Hub repo at a revision, or local JSON/JSONL/parquet), mix them with
weights, check their columns, and turn each row into a two-turn conversation in the paper's target format.

Target text per `think_flag` / `base_flag` (the paper's training format, §3.1 and the "w/o think" ablation of §4.2):
    think_flag=1            "<think>\\n{reasoning}\\n</think>\\n\\n{answer}"
    think_flag=0, base=0    "<think>\\n\\n</think>\\n\\n{answer}"      (R1-distill "w/o think" ablation)
    think_flag=0, base=1    "{answer}"                               (instruct models without a thinking block)
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from star1_hub.errors import Star1Error
from star1_hub.think import format_think, split_think

logger = logging.getLogger(__name__)

LOCAL_SUFFIXES = {".json": "json", ".jsonl": "json", ".parquet": "parquet"}


class DatasetColumnError(Star1Error, ValueError):
    """A training dataset lacks a column the recipe needs."""


class DatasetSourceError(Star1Error, ValueError):
    """A dataset entry in the recipe cannot be resolved (bad path, bad weight, missing name)."""


def build_target(response: str, think_flag: int = 1, base_flag: int = 0) -> str:
    """The assistant training text for one response (see module docstring): the stored response read and written
    by the one think rule (`star1_hub.think.split_think` / `format_think`)."""
    reasoning, answer = split_think(response)
    if think_flag:
        return format_think(reasoning, answer)
    if base_flag:
        return answer
    return format_think("", answer)


def to_messages(question: str, response: str, think_flag: int = 1, base_flag: int = 0) -> list[dict[str, str]]:
    """One row as a user/assistant conversation (no system prompt, as in the paper)."""
    return [
        {"role": "user", "content": question.strip()},
        {"role": "assistant", "content": build_target(response, think_flag, base_flag)},
    ]


@dataclass
class DatasetSource:
    """One entry of a training mixture: a Hub dataset at a revision, or local files."""

    name: str | None = None
    path: str | None = None
    revision: str | None = None
    config: str | None = None
    split: str = "train"
    weight: float = 1.0

    @classmethod
    def from_dict(cls, entry: dict[str, Any], index: int) -> DatasetSource:
        """Build and validate entry `index` of a recipe's `dataset_mixture`."""
        unknown = set(entry) - {"name", "path", "revision", "config", "split", "weight"}
        if unknown:
            raise DatasetSourceError(
                f"dataset_mixture[{index}] has unknown keys {sorted(unknown)}; allowed: name, path, revision, "
                "config, split, weight"
            )
        source = cls(**entry)
        if bool(source.name) == bool(source.path):
            raise DatasetSourceError(f"dataset_mixture[{index}] needs exactly one of `name` (Hub repo) or `path`")
        if not isinstance(source.weight, int | float) or source.weight <= 0:
            raise DatasetSourceError(f"dataset_mixture[{index}].weight must be a number > 0, got {source.weight!r}")
        return source

    @property
    def label(self) -> str:
        """How errors and logs name this source."""
        return self.name or str(self.path)


def load_source(source: DatasetSource):
    """Load one source as a `datasets.Dataset` (Hub repo at its revision, or local files)."""
    import datasets

    if source.path:
        path = Path(source.path)
        files = sorted(p for p in path.iterdir() if p.suffix in LOCAL_SUFFIXES) if path.is_dir() else [path]
        if not files or any(not p.is_file() or p.suffix not in LOCAL_SUFFIXES for p in files):
            raise DatasetSourceError(
                f"dataset path {source.path!r} must be a .json/.jsonl/.parquet file or a folder of them"
            )
        builder = LOCAL_SUFFIXES[files[0].suffix]
        return datasets.load_dataset(builder, data_files=[str(p) for p in files], split="train")
    return datasets.load_dataset(source.name, name=source.config, revision=source.revision, split=source.split)


def resolve_provenance(source: DatasetSource) -> dict[str, Any]:
    """What the model card records about one dataset: repo + requested and resolved revision, or file hashes."""
    if source.path:
        path = Path(source.path)
        files = sorted(p for p in path.iterdir() if p.suffix in LOCAL_SUFFIXES) if path.is_dir() else [path]
        digest = hashlib.sha256()
        for file in files:
            digest.update(file.read_bytes())
        return {"name": path.name, "path": str(path), "sha256": digest.hexdigest(), "weight": source.weight}
    from huggingface_hub import HfApi

    sha = HfApi().dataset_info(source.name, revision=source.revision).sha
    return {"name": source.name, "revision": source.revision or "main", "sha": sha, "weight": source.weight}


def check_columns(dataset, label: str, question_column: str, response_column: str) -> None:
    """Raise `DatasetColumnError` naming the dataset and column unless it has question+response or messages."""
    check_column_names(list(dataset.column_names), label, question_column, response_column)


def check_column_names(columns: list[str], label: str, question_column: str, response_column: str) -> None:
    """`check_columns` on a list of column names (known without loading the data)."""
    if "messages" in columns and question_column not in columns:
        return
    for column in (question_column, response_column):
        if column not in columns:
            raise DatasetColumnError(
                f"dataset {label!r} has no column {column!r} (columns: {columns}). Use a STAR-1-shaped dataset "
                f"with `{question_column}` and `{response_column}` (or a `messages` column), or set "
                "`question_column` / `response_column` in the recipe."
            )


def load_mixture(
    sources: list[DatasetSource],
    question_column: str = "question",
    response_column: str = "response",
    think_flag: int = 1,
    base_flag: int = 0,
    seed: int = 0,
):
    """Load, check, weight and format every source; return one shuffled `datasets.Dataset` with a `messages` column.

    A weight multiplies the source's row count: 0.5 keeps a seeded random half, 2.0 repeats every row twice,
    2.5 repeats twice plus a random half.
    """
    import datasets

    parts = []
    for source in sources:
        dataset = load_source(source)
        check_columns(dataset, source.label, question_column, response_column)
        if "messages" not in dataset.column_names or question_column in dataset.column_names:
            dataset = dataset.map(
                lambda row: {
                    "messages": to_messages(row[question_column], row[response_column], think_flag, base_flag)
                },
                remove_columns=dataset.column_names,
                desc=f"formatting {source.label}",
            )
        else:
            dataset = dataset.select_columns(["messages"])
        whole, fraction = divmod(source.weight, 1.0)
        pieces = [dataset] * int(whole)
        if fraction > 1e-9:
            keep = round(fraction * len(dataset))
            pieces.append(dataset.shuffle(seed=seed).select(range(keep)))
        logger.info("dataset %s: %d rows x weight %s", source.label, len(dataset), source.weight)
        parts.extend(pieces)
    mixed = datasets.concatenate_datasets(parts) if len(parts) > 1 else parts[0]
    return mixed.shuffle(seed=seed)
