"""Load STAR-* datasets from the Hub (or a local folder) with their documented types."""

from __future__ import annotations

import os

from star1_hub.data.schema import DatasetKind, features_for


def load_star1(
    repo_id: str = "UCSC-VLAA/STAR-1",
    revision: str | None = None,
    kind: DatasetKind = "star1",
    split: str = "train",
    name: str | None = None,
):
    """Load a STAR-* dataset at a revision (branch, tag or commit sha) and return it with typed features.

    Args:
        repo_id: Hub dataset id (`org/name`) or a local directory of parquet/JSON files.
        revision: branch, tag or 40-hex commit; None = default branch.
        kind: `star1`, `star41k` or `benign915` (selects the `score` struct).
        split: split to return.
        name: dataset config name (e.g. a curation stage), if any.

    Offline (`HF_HUB_OFFLINE=1`), `datasets` ignores `revision` and serves the last cached one, so the
    revision is resolved through the Hub cache (`snapshot_download`) and the files are loaded from there.
    """
    from datasets import load_dataset

    source = repo_id
    if revision is not None and os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes"):
        from huggingface_hub import snapshot_download

        source = snapshot_download(repo_id, repo_type="dataset", revision=revision)
        revision = None
    dataset = load_dataset(source, name=name, split=split, revision=revision)
    wanted = features_for(kind)
    missing = [column for column in wanted if column not in dataset.column_names]
    if missing:
        raise ValueError(f"dataset {repo_id}@{revision or 'default'} lacks column(s) {missing} of a {kind} dataset")
    dataset = dataset.select_columns(list(wanted))
    return dataset.cast(wanted) if dataset.features != wanted else dataset
