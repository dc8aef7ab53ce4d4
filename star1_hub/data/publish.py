"""Validate a released STAR-* file and publish it to the Hub as ONE commit (data + card + plot), then tag it.

    star1 data publish ../shared/data/STAR-1.json --repo demo/STAR-1 --kind star1 --tag v1

The endpoint comes from the environment (`HF_ENDPOINT`): huggingface.co for users, the local Hub in tests and
the demo. Validation runs before anything touches the Hub, and the tag is checked before the commit, so a bad
file or a taken tag leaves the repository exactly as it was.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import star1_hub
from star1_hub.cards import render_card
from star1_hub.data.normalise import load_records
from star1_hub.data.plots import category_source_counts, distribution_png
from star1_hub.data.schema import CATEGORIES, DatasetKind, features_for, score_spec
from star1_hub.hub.commit import Changes, TagExistsError, commit_to_hub

__all__ = ["DATA_FILE", "PublishResult", "TagExistsError", "publish_dataset", "render_dataset_card"]

logger = logging.getLogger(__name__)

DATA_FILE = "data/train-00000-of-00001.parquet"
PRETTY_NAMES = {"star1": "STAR-1", "star41k": "STAR-41K", "benign915": "STAR-benign-915"}
SUMMARIES = {
    "star1": "STAR-1: 1K harmful requests with deliberative, policy-grounded safety reasoning, selected for "
    "quality (judge scores at maximum) and diversity (balanced source × category).",
    "star41k": "STAR-41K: every scored sample of the STAR-1 pipeline before the accuracy filter and selection.",
    "benign915": "STAR-benign-915: benign look-alike requests rewritten from STAR-1 prompts, with reasoning that "
    "complies fully; mixed with STAR-1 to reduce over-refusal.",
}


@dataclass(frozen=True)
class PublishResult:
    repo_id: str
    commit_sha: str
    tag: str | None
    n_rows: int


def _size_category(n: int) -> str:
    for bound, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if n < bound:
            return name
    return "100K<n<1M"


def render_dataset_card(
    records: list[dict], kind: DatasetKind, repo_id: str, tag: str | None, input_name: str, input_sha256: str
) -> str:
    """Render the dataset card (counts computed from `records`)."""
    categories, sources = category_source_counts(records)
    keys, score_range = score_spec(kind)
    return render_card(
        "dataset_card.md.jinja",
        pretty_name=PRETTY_NAMES[kind],
        summary=SUMMARIES[kind],
        size_category=_size_category(len(records)),
        repo_id=repo_id,
        tag=tag,
        kind=kind,
        categories=list(CATEGORIES),
        score_keys=list(keys),
        score_range=score_range,
        n_rows=len(records),
        category_counts=sorted(categories.items(), key=lambda kv: (-kv[1], kv[0])),
        source_counts=sorted(sources.items(), key=lambda kv: (-kv[1], kv[0])),
        input_name=input_name,
        input_sha256=input_sha256,
        tool_version=star1_hub.__version__,
    )


def publish_dataset(
    path: str | Path,
    repo_id: str,
    kind: DatasetKind,
    tag: str | None = None,
    private: bool = False,
    commit_message: str | None = None,
) -> PublishResult:
    """Validate `path` and push it to `repo_id` (dataset repo) as one commit, then create `tag`.

    Raises:
        DataValidationError: the file is malformed or has bad rows (nothing is pushed).
        TagExistsError: `tag` already exists (nothing is pushed).
    """
    from datasets import Dataset

    path = Path(path)
    records = load_records(path, kind)
    input_sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    card = render_dataset_card(records, kind, repo_id, tag, path.name, input_sha256)
    categories, sources = category_source_counts(records)
    png = distribution_png(categories, sources, f"{PRETTY_NAMES[kind]} ({len(records)} rows)")

    with tempfile.TemporaryDirectory() as tmp:
        parquet = Path(tmp) / "train.parquet"
        Dataset.from_list(records, features=features_for(kind)).to_parquet(str(parquet))
        result = commit_to_hub(
            repo_id,
            Changes(files={DATA_FILE: parquet, "distribution.png": png}, delete=["data/"], card=card),
            message=commit_message or f"Publish {PRETTY_NAMES[kind]} from {path.name} ({len(records)} rows)",
            repo_type="dataset",
            private=private,
            tag=tag,
            tag_message=f"{path.name} sha256 {input_sha256}",
        )
    sha = result.sha
    logger.info("published %d rows to %s at %s%s", len(records), repo_id, sha, f" (tag {tag})" if tag else "")
    return PublishResult(repo_id=repo_id, commit_sha=sha, tag=tag, n_rows=len(records))
