"""Check a recipe's data before anything is loaded: for `star1 train --dry-run` and before launching processes.

Nothing is downloaded. A local file is read directly (row count and columns). A Hub dataset is checked through
the Hub API: `dataset_info` resolves the revision (a wrong repo id or revision fails here) and gives the dataset
card's metadata, whose `dataset_info` block (written by `datasets.push_to_hub`) lists the features and the row
count of each split. When the card has no such block but the split is stored as parquet, the parquet footers are
read with ranged requests (a few KB per file, no rows). JSON data files carry no schema short of reading them:
for those the check says so, and the columns are checked when training starts.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from star1_hub.train.data import LOCAL_SUFFIXES, DatasetSource, check_column_names

logger = logging.getLogger(__name__)


@dataclass
class SourceCheck:
    """What the preflight learned about one dataset source."""

    source: DatasetSource
    resolved: str  # a commit sha for a Hub dataset, "local file(s)" otherwise
    rows: int | None = None
    columns: list[str] | None = None
    how: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def weighted_rows(self) -> int | None:
        """Rows this source contributes to an epoch after its mixture weight (as `load_mixture` applies it)."""
        if self.rows is None:
            return None
        whole, fraction = divmod(self.source.weight, 1.0)
        return int(whole) * self.rows + (round(fraction * self.rows) if fraction > 1e-9 else 0)

    def describe(self) -> str:
        """One line for the dry-run output."""
        where = self.source.label
        if self.source.name:
            where += f"@{self.source.revision or 'main'} -> {self.resolved[:12]}"
        rows = f"{self.rows} rows" if self.rows is not None else "rows unknown"
        columns = ", ".join(self.columns) if self.columns is not None else "columns not checked"
        weight = f" x weight {self.source.weight}" if self.source.weight != 1.0 else ""
        return f"data: {where}: {rows}{weight}; {columns} ({self.how})"


def top_level_columns(metadata) -> list[str]:
    """The dataset's columns from a parquet footer (`category`, `score`), not the leaf names of its nested fields
    (`element`, `Content_Safety_Compliance`) that `ParquetSchema.names` lists."""
    return list(metadata.schema.to_arrow_schema().names)


def _local_files(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.suffix in LOCAL_SUFFIXES) if path.is_dir() else [path]


def _check_local(source: DatasetSource) -> SourceCheck:
    import pyarrow.parquet as pq

    rows, columns = 0, None
    for file in _local_files(Path(source.path)):
        if file.suffix == ".parquet":
            metadata = pq.read_metadata(file)
            rows += metadata.num_rows
            columns = columns or top_level_columns(metadata)
        elif file.suffix == ".jsonl":
            lines = [line for line in file.read_text().splitlines() if line.strip()]
            rows += len(lines)
            columns = columns or list(json.loads(lines[0])) if lines else columns
        else:
            data = json.loads(file.read_text())
            records = data if isinstance(data, list) else None
            if records is None and isinstance(data, dict):  # {"column": [values, ...]} layout
                rows += len(next(iter(data.values()), []))
                columns = columns or list(data)
            else:
                rows += len(records)
                columns = columns or (list(records[0]) if records else [])
    return SourceCheck(source, "local file(s)", rows, columns, "read from the local file")


def _card_split_info(card: dict[str, Any], config: str | None, split: str) -> tuple[int | None, list[str] | None]:
    """(rows, columns) of `split` from the card's `dataset_info` block, for the config asked for."""
    info = card.get("dataset_info")
    entries = info if isinstance(info, list) else [info] if isinstance(info, dict) else []
    wanted = config or "default"
    for entry in entries:
        if entry.get("config_name", "default") != wanted and not (config is None and len(entries) == 1):
            continue
        features = entry.get("features")
        columns = [f["name"] for f in features if isinstance(f, dict) and "name" in f] if features else None
        rows = next((s.get("num_examples") for s in entry.get("splits", []) if s.get("name") == split), None)
        return rows, columns
    return None, None


def _split_files(files: list[str], config: str | None, split: str, suffix: str) -> list[str]:
    """The repo files of a config's split in the layouts `datasets` and the curation publisher write."""
    if config:
        prefixes = [f"{config}/{split}-", f"{config}/{split}/"]
    else:  # `default/…`: the default config of a curated repo (`curate.versioning`), e.g. STAR-1 after select
        prefixes = [f"data/{split}-", f"{split}-", "data/", f"default/{split}-"]
    for prefix in prefixes:
        matched = sorted(f for f in files if f.startswith(prefix) and f.endswith(suffix))
        if matched:
            return matched
    return []


def _check_hub(source: DatasetSource) -> SourceCheck:
    from huggingface_hub import HfApi, HfFileSystem

    info = HfApi().dataset_info(source.name, revision=source.revision)
    check = SourceCheck(source, info.sha or "?")
    files = [s.rfilename for s in info.siblings or []]
    card = info.card_data.to_dict() if info.card_data is not None else {}
    rows, columns = _card_split_info(card, source.config, source.split)
    if columns is not None:
        check.rows, check.columns, check.how = rows, columns, "from the dataset card metadata"
        return check
    parquet = _split_files(files, source.config, source.split, ".parquet")
    if parquet:
        import pyarrow.parquet as pq

        fs, total, names = HfFileSystem(), 0, None
        for path in parquet:
            with fs.open(f"datasets/{source.name}@{info.sha}/{path}", "rb", block_size=64 * 1024) as handle:
                metadata = pq.read_metadata(handle)
            total += metadata.num_rows
            names = names or top_level_columns(metadata)
        check.rows, check.columns = total, names
        check.how = f"from the footers of {len(parquet)} parquet file(s), no rows read"
        return check
    data_files = [f for f in files if Path(f).suffix in LOCAL_SUFFIXES]
    check.rows = rows
    check.how = (
        f"not checked: {', '.join(data_files[:3]) or 'its files'} carry no schema without reading the rows; "
        "the columns are checked when training starts"
    )
    return check


def check_sources(sources: list[DatasetSource], question_column: str, response_column: str) -> list[SourceCheck]:
    """Check every source's revision, rows and columns without downloading data.

    Raises:
        DatasetColumnError: a source's known columns lack what the recipe needs.
        huggingface_hub errors: the repo or revision does not exist (the CLI explains them in one line).
    """
    checks = []
    for source in sources:
        check = _check_local(source) if source.path else _check_hub(source)
        if check.columns is not None:
            check_column_names(check.columns, source.label, question_column, response_column)
        checks.append(check)
    return checks


def total_rows(checks: list[SourceCheck]) -> int | None:
    """Rows of one epoch over all sources (weights applied), or None when a source's count is unknown."""
    counts = [check.weighted_rows for check in checks]
    return None if any(c is None for c in counts) else int(math.fsum(counts))
