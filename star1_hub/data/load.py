"""Load STAR-* datasets from the Hub (or a local folder): typed (`load_star1`) or any config as stored
(`load_config`, used by `star1 data show` for every curation stage config, 0-row configs included)."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from star1_hub.data.schema import DatasetKind, features_for
from star1_hub.errors import Star1Error

logger = logging.getLogger(__name__)


class DatasetConfigError(Star1Error, LookupError):
    """The dataset exists but has no config of that name; the message lists the configs it has."""


class OfflineCopyMissing(Star1Error, LookupError):
    """Offline (`HF_HUB_OFFLINE=1`) and the local Hub cache lacks that revision or config's files."""


class ConfigLoadError(Star1Error, ValueError):
    """A config of a Hub dataset that `datasets` cannot load (no data files, unreadable parquet, …)."""


CONFIG_DATA_FILE = "{config}/train-00000-of-00001.parquet"
"""Where a multi-config dataset repo (curation stages, STAR-41K) stores each config's rows: one parquet file."""


@dataclass
class LoadedConfig:
    """One config of a dataset as stored, and exactly where it came from."""

    dataset: Any
    repo_id: str
    revision: str | None
    sha: str | None
    config: str | None
    configs: list[str]
    stage_record: dict[str, Any] = field(default_factory=dict)  # this config's entry of curation.json, if any
    local: bool = False  # read from a local folder given by the user

    @property
    def label(self) -> str:
        """`repo@revision` plus the config, as the user wrote them (`main` / `default` when omitted)."""
        where = self.repo_id if self.local else f"{self.repo_id}@{self.revision or 'main'}"
        return f"{where} config {self.config or 'default'}"


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on")


def _split_ref(ref: str) -> tuple[str, str | None]:
    """`org/name[@revision]` → (repo id, revision or None); a local folder is returned as is."""
    if Path(ref).is_dir():
        return ref, None
    from star1_hub.hub.commit import parse_ref

    return tuple(parse_ref(ref, require_namespace=False, what="dataset"))


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

    Raises:
        ValueError: the dataset lacks a column of `kind` (the message names repo, revision and config).

    Offline (`HF_HUB_OFFLINE=1`), `datasets` ignores `revision` and serves the last cached one, so the
    revision is resolved through the Hub cache (`snapshot_download`) and the files are loaded from there.
    """
    from datasets import load_dataset

    source = repo_id
    asked_revision = revision
    if revision is not None and _offline():
        from huggingface_hub import snapshot_download

        source = snapshot_download(repo_id, repo_type="dataset", revision=revision)
        revision = None
    dataset = load_dataset(source, name=name, split=split, revision=revision)
    wanted = features_for(kind)
    missing = [column for column in wanted if column not in dataset.column_names]
    if missing:
        raise ValueError(
            f"dataset {repo_id}@{asked_revision or 'main'} config {name or 'default'} lacks column(s) {missing} "
            f"of a {kind} dataset"
        )
    dataset = dataset.select_columns(list(wanted))
    return dataset.cast(wanted) if dataset.features != wanted else dataset


def load_config(ref: str, config: str | None = None) -> LoadedConfig:
    """Load config `config` of `ref` (`org/name[@revision]` or a local folder) with its columns as stored.

    The revision is resolved to a commit sha first, so a missing repo or revision fails with the Hub's own
    error before anything is downloaded. A 0-row config (which `datasets` refuses to load) is read from its
    parquet file. Offline, the cached snapshot of that revision is used.

    Raises:
        DatasetConfigError: no config of that name (the message lists the available ones).
    """
    repo_id, revision = _split_ref(ref)
    sha: str | None = None
    source = repo_id
    local = Path(repo_id).is_dir()
    if not local:
        if _offline():
            from huggingface_hub import snapshot_download
            from huggingface_hub.errors import LocalEntryNotFoundError

            try:
                source = snapshot_download(repo_id, repo_type="dataset", revision=revision)
            except LocalEntryNotFoundError as exc:
                raise OfflineCopyMissing(_offline_message(repo_id, revision, config)) from exc
            sha = Path(source).name
        else:
            from huggingface_hub import HfApi

            sha = HfApi().dataset_info(repo_id, revision=revision).sha
    configs = _config_names(source, sha if source == repo_id else None)
    if config is not None and configs and config not in configs:
        raise DatasetConfigError(
            f"{repo_id}@{revision or 'main'} has no config {config!r}; its configs: {', '.join(configs)}"
        )
    if source == repo_id and not local:
        dataset = load_config_at(repo_id, config, sha)
    elif local:
        dataset = _load_local(Path(source), config)
    else:
        from datasets.exceptions import DataFilesNotFoundError

        try:
            dataset = _load_local(Path(source), config)
        except (DataFilesNotFoundError, FileNotFoundError) as exc:
            raise OfflineCopyMissing(_offline_message(repo_id, revision, config)) from exc
    record = _stage_record(repo_id, sha, config, Path(source) if source != repo_id or local else None)
    return LoadedConfig(dataset, repo_id, revision, sha, config, configs, record, local=local)


def _offline_message(repo_id: str, revision: str | None, config: str | None) -> str:
    return (
        f"HF_HUB_OFFLINE=1 and the local cache has no complete copy of {repo_id}@{revision or 'main'} "
        f"config {config or 'default'}; download it once online (`hf download {repo_id} --repo-type dataset"
        f"{' --revision ' + revision if revision else ''}`) or unset HF_HUB_OFFLINE"
    )


def _config_names(source: str, sha: str | None) -> list[str]:
    from datasets import get_dataset_config_names

    try:
        return list(get_dataset_config_names(source, revision=sha))
    except (ValueError, FileNotFoundError) as exc:  # no data files at all: let the load say what is wrong
        logger.debug("no config names for %s: %s", source, exc)
        return []


def load_config_at(repo_id: str, config: str | None, sha: str):
    """Config `config` of Hub dataset `repo_id` at commit `sha` as stored (None or "default": the default config).

    A 0-row config is read straight from its parquet file (`datasets` refuses empty splits).

    Raises:
        ConfigLoadError: `datasets` cannot load it (unknown config, no data files, unreadable files); the message
            names the config, the repo and the commit.
    """
    from datasets import load_dataset
    from datasets.exceptions import DatasetGenerationError

    # datasets logs an ERROR for a 0-row parquet before raising; the fallback below handles that case and a real
    # read error still surfaces in the ConfigLoadError, so keep that log line out of the user's console.
    parquet_logger = logging.getLogger("datasets.packaged_modules.parquet.parquet")
    previous_level = parquet_logger.level
    parquet_logger.setLevel(logging.CRITICAL)
    try:
        name = None if config in (None, "default") else config
        return load_dataset(repo_id, name=name, revision=sha, split="train")
    except (ValueError, DatasetGenerationError) as exc:  # unknown config, no data files, or a 0-row config
        dataset = _load_empty_config(repo_id, config, sha)
        if dataset is None:
            raise ConfigLoadError(f"cannot load config {config!r} of {repo_id}@{sha[:12]}: {exc}") from exc
        return dataset
    finally:
        parquet_logger.setLevel(previous_level)


def _load_empty_config(repo_id: str, config: str | None, sha: str):
    """Read a 0-row config from its parquet file; None when the config has no such file or the file has rows."""
    import pyarrow.parquet as pq
    from datasets import Dataset
    from datasets.table import InMemoryTable
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    try:
        path = hf_hub_download(
            repo_id, CONFIG_DATA_FILE.format(config=config or "default"), repo_type="dataset", revision=sha
        )
    except EntryNotFoundError:
        return None
    table = pq.read_table(path)
    if table.num_rows:
        return None
    logger.warning("%s@%s config %s has 0 rows", repo_id, sha[:12], config or "default")
    return Dataset(InMemoryTable(table))


def _load_local(folder: Path, config: str | None):
    """Load a config from a local folder (a snapshot); a 0-row config is read from its parquet files."""
    from datasets import Dataset, load_dataset
    from datasets.exceptions import DatasetGenerationError

    # datasets logs an ERROR for a 0-row parquet file before raising; that case is handled below.
    parquet_logger = logging.getLogger("datasets.packaged_modules.parquet.parquet")
    previous_level = parquet_logger.level
    parquet_logger.setLevel(logging.CRITICAL)
    try:
        return load_dataset(str(folder), name=config, split="train")
    except (ValueError, DatasetGenerationError):
        files = sorted((folder / (config or "default")).glob("*.parquet"))
        if not files:
            raise
        import pyarrow.parquet as pq
        from datasets.table import InMemoryTable

        table = pq.read_table(files[0])
        if table.num_rows:
            raise
        return Dataset(InMemoryTable(table))
    finally:
        parquet_logger.setLevel(previous_level)


def _stage_record(repo_id: str, sha: str | None, config: str | None, folder: Path | None) -> dict[str, Any]:
    """This config's entry of the curation manifest (`curation.json`) at the same commit; {} when there is none."""
    path: Path | None = None
    if folder is not None:
        path = folder / "curation.json" if (folder / "curation.json").is_file() else None
    else:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError

        try:
            path = Path(hf_hub_download(repo_id, "curation.json", repo_type="dataset", revision=sha))
        except EntryNotFoundError:
            path = None
    if path is None:
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        logger.warning("cannot read curation.json of %s: %s", repo_id, exc)
        return {}
    entry = (manifest.get("configs") or {}).get(config or "default")
    return entry if isinstance(entry, dict) else {}
