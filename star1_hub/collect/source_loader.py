"""Load the collection sources (Hub datasets, Hub repo files, raw GitHub files or local override files) into
questions, through one parsing path, and record where every row came from.

Every origin becomes a `datasets.Dataset` first; filters, the seeded sample, the WildChat selection, the ALERT
marker removal and the text checks then run on it identically, so a local file exercises exactly the code that
parses the downloaded data.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from star1_hub.collect.sources import (
    LOCAL_EXTENSIONS,
    FieldFilter,
    Source,
)
from star1_hub.data import wildchat
from star1_hub.errors import Star1Error

logger = logging.getLogger(__name__)


class SourceError(Star1Error, RuntimeError):
    """A source could not be loaded; the message names the source and the fix."""


class SourceFormatError(SourceError):
    """A source file is malformed (missing field, no rows, unreadable)."""


class SourceAccessError(SourceError):
    """A source could not be fetched (gated, missing, offline)."""


@dataclass
class LoadedSource:
    """The questions of one source plus provenance for the manifest."""

    name: str
    questions: list[str]
    rows_read: int
    rows_after_filter: int
    blank_rows: int
    origin: str  # "local", "hub", "hub_files", "github"
    location: str
    revision_requested: str | None
    revision_resolved: str | None
    pinned: bool
    files: list[dict] = field(default_factory=list)  # [{"path": ..., "sha256": ...}]


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def local_override(source: Source, local_dir: Path | None) -> Path | None:
    """Return `<local_dir>/<SourceName>.<ext>` if present (at most one extension may exist)."""
    if local_dir is None:
        return None
    found = [
        local_dir / f"{source.name}.{ext}"
        for ext in LOCAL_EXTENSIONS
        if (local_dir / f"{source.name}.{ext}").is_file()
    ]
    if len(found) > 1:
        raise SourceFormatError(f"source {source.name}: several local files {[p.name for p in found]}; keep one")
    return found[0] if found else None


# ---------------------------------------------------------------------------------------------------------------
# reading one file of any supported format into a Dataset


def read_table(path: Path, fmt: str, source: Source):
    """Read a source file into a `datasets.Dataset` (a single-column table is named `value`)."""
    import pandas as pd
    from datasets import Dataset

    def single(values: list) -> Dataset:
        return Dataset.from_dict({"value": values})

    try:
        if fmt in ("csv", "tsv"):
            frame = pd.read_csv(
                path,
                sep="\t" if fmt == "tsv" else ",",
                header=0 if source.csv_header else None,
                keep_default_na=False,
                dtype=str,
            )
            if not source.csv_header:
                frame.columns = ["value"] + [f"column_{i}" for i in range(1, len(frame.columns))]
            return Dataset.from_pandas(frame, preserve_index=False)
        if fmt == "txt":
            return single([line for line in path.read_text(encoding="utf-8").splitlines()])
        if fmt == "parquet":
            return Dataset.from_parquet(str(path))
        if fmt == "jsonl":
            rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        else:
            rows = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise SourceFormatError(f"source {source.name}: cannot parse {path} as {fmt}: {exc}") from exc
    if isinstance(rows, dict):
        key = source.json_key
        if key is None or key not in rows:
            raise SourceFormatError(
                f"source {source.name}: {path} is a JSON object; expected the key {key!r} holding the rows "
                f"(found keys: {', '.join(map(str, list(rows)[:10]))})"
            )
        rows = rows[key]
    if not isinstance(rows, list):
        raise SourceFormatError(f"source {source.name}: {path} must hold a JSON list of rows")
    if rows and all(isinstance(r, str) for r in rows):
        return single(rows)
    if not all(isinstance(r, dict) for r in rows):
        raise SourceFormatError(f"source {source.name}: {path} mixes strings and objects; expected one kind of row")
    return Dataset.from_list(rows)


def _format_of(path: Path) -> str:
    ext = path.suffix.lstrip(".").lower()
    if ext not in LOCAL_EXTENSIONS:
        raise SourceFormatError(f"unsupported file type {path.name}; use one of {', '.join(LOCAL_EXTENSIONS)}")
    return ext


# ---------------------------------------------------------------------------------------------------------------
# turning a Dataset into questions (the one code path for every origin)


def _as_bool_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip().lower()
    return {"1": "true", "0": "false", "1.0": "true", "0.0": "false"}.get(text, text)


def _matches(value, wanted: FieldFilter) -> bool:
    if isinstance(wanted.value, bool):
        equal = _as_bool_text(value) == _as_bool_text(wanted.value)
    else:
        equal = str(value).strip() == str(wanted.value)
    return equal if wanted.op == "eq" else not equal


_ALERT_MARKERS = re.compile(r"###\s*(Instruction|Response)\s*:", re.IGNORECASE)


def _wildchat_toxic(rows) -> list[str]:
    """The benchmark's own selection, so the decontamination pool equals the evaluated set."""
    return [item["prompt"] for item in sorted(wildchat.select_wildchat_toxic(rows), key=lambda item: item["index"])]


def questions_from_dataset(dataset, source: Source, where: str) -> tuple[list[str], int, int, int]:
    """Apply the entry's filters, sample, selector, transform and text checks.

    Args:
        dataset: the rows as a `datasets.Dataset`.
        source: the registry entry.
        where: the file or Hub location, for error messages.

    Returns:
        (questions, rows read, rows after filter/sample/selection, blank rows dropped).

    Raises:
        SourceFormatError: a needed field is missing or no usable row remains.
    """
    rows_read = len(dataset)
    if rows_read == 0:
        raise SourceFormatError(f"source {source.name}: {where} has no rows; check the file or the split")
    columns = set(dataset.column_names)
    needed = [f.field for f in source.filters]
    if source.selector is None:
        needed.append(source.text_field or "value")
    else:
        needed += ["conversation", "openai_moderation"]
    missing = [name for name in needed if name not in columns]
    if source.text_field is None and source.selector is None and len(columns) == 1:
        missing = [name for name in missing if name != "value"]
        dataset = dataset.rename_column(next(iter(columns)), "value") if "value" not in columns else dataset
    if missing:
        raise SourceFormatError(
            f"source {source.name}: {where} lacks field(s) {', '.join(missing)} "
            f"(has: {', '.join(sorted(columns))}); provide a file with those columns"
        )
    toxic_rows = sum(_as_bool_text(v) == "true" for v in dataset["toxic"]) if source.selector else 0
    if source.filters:
        filters = source.filters

        def keep(batch) -> list[bool]:
            count = len(batch[filters[0].field])
            return [all(_matches(batch[f.field][i], f) for f in filters) for i in range(count)]

        dataset = dataset.filter(keep, batched=True, batch_size=10_000)
    if source.sample is not None:
        seed, count = source.sample
        dataset = dataset.shuffle(seed=seed).select(range(min(count, len(dataset))))
    if source.selector == "wildchat_toxic":
        try:
            texts = _wildchat_toxic(dataset) if len(dataset) else []
        except wildchat.EmptyWildChatSelection:
            texts = []
        if not texts:  # never an empty decontamination set: say why and how to get the full release
            raise SourceFormatError(
                f"source {source.name}: {where}: {wildchat.empty_selection_error(rows_read, toxic_rows)}"
            )
    else:
        texts = dataset[source.text_field or "value"]
    kept = len(texts)
    questions: list[str] = []
    for value in texts:
        text = "" if value is None else str(value)
        if source.transform == "strip_alert_markers":
            text = _ALERT_MARKERS.sub("", text)
        text = text.strip()
        if text:
            questions.append(text)
    if not questions:
        raise SourceFormatError(
            f"source {source.name}: {where} has {rows_read} rows but none with a non-empty "
            f"{source.text_field or 'text'} after filtering"
        )
    return questions, rows_read, kept, kept - len(questions)


# ---------------------------------------------------------------------------------------------------------------
# fetching


def _access_error(source: Source, exc: Exception) -> SourceAccessError:
    from huggingface_hub.errors import GatedRepoError

    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    status = getattr(getattr(exc, "response", None), "status_code", None)
    gated = isinstance(exc, GatedRepoError) or status in (401, 403) or "gated" in str(exc).lower()
    if source.selector == "wildchat_toxic":
        hint = wildchat.access_hint() + " (or leave it out with --skip-test-set wildchat), "
    elif source.origin != "github" and (gated or source.gated):
        hint = (
            f"accept its terms at https://huggingface.co/datasets/{source.repo} while logged in and export HF_TOKEN "
            "(a read token of that account), "
        )
    else:
        hint = "check the network / HF_ENDPOINT, "
    return SourceAccessError(
        f"source {source.name}: cannot read {source.location}{' (a gated dataset)' if source.gated else ''}: "
        f"{text}. Fix: {hint}or put a local copy at <local-dir>/{source.name}.<{'|'.join(LOCAL_EXTENSIONS)}> "
        "and pass --local-dir."
    )


def _is_access_problem(exc: Exception) -> bool:
    import httpx
    from datasets.exceptions import DatasetNotFoundError
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

    access = (
        GatedRepoError | RepositoryNotFoundError | DatasetNotFoundError | HfHubHTTPError | httpx.HTTPError | OSError
    )
    return isinstance(exc, access)


def _resolve_hub_revision(source: Source) -> str | None:
    from huggingface_hub import HfApi

    return HfApi().dataset_info(source.repo, revision=source.revision).sha


def _fetch_hub(source: Source):
    from datasets import concatenate_datasets, load_dataset

    parts = [
        load_dataset(source.repo, source.config, split=split, revision=source.revision) for split in source.splits
    ]
    return concatenate_datasets(parts) if len(parts) > 1 else parts[0]


def _fetch_hub_files(source: Source) -> list[Path]:
    from huggingface_hub import HfApi, hf_hub_download

    wanted = list(source.files)
    if any("*" in pattern for pattern in wanted):
        listing = HfApi().list_repo_files(source.repo, repo_type="dataset", revision=source.revision)
        wanted = sorted(
            {p for pattern in source.files for p in listing if fnmatch.fnmatch(p, pattern)},
            key=lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p)],
        )
        if not wanted:
            raise SourceFormatError(f"source {source.name}: no file matching {source.files} in {source.repo}")
    return [Path(hf_hub_download(source.repo, name, repo_type="dataset", revision=source.revision)) for name in wanted]


def _fetch_github(source: Source, cache_dir: Path) -> list[Path]:
    import httpx

    ref = source.revision or "HEAD"
    paths = []
    for file in source.files:
        target = cache_dir / source.name / ref.replace("/", "_") / file
        # an unpinned file is fetched again every run: a silently reused stale copy is what makes a build irreproducible
        if not (source.pinned and target.is_file()):
            base = os.environ.get("STAR1_GITHUB_RAW_BASE", "https://raw.githubusercontent.com").rstrip("/")
            url = f"{base}/{source.repo}/{ref}/{file}"
            response = httpx.get(url, follow_redirects=True, timeout=60.0)
            if response.status_code != 200:
                raise OSError(f"GET {url} → HTTP {response.status_code}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(response.content)
        paths.append(target)
    return paths


def _datasets_from_files(paths: list[Path], source: Source, fmt: str):
    from datasets import concatenate_datasets

    tables = [read_table(path, fmt, source) for path in paths]
    return concatenate_datasets(tables) if len(tables) > 1 else tables[0]


def load_source(
    source: Source, *, local_dir: Path | None = None, cache_dir: Path | None = None, limit: int | None = None
) -> LoadedSource:
    """Load one source's questions from its local override file or its registry origin.

    Args:
        source: the registry entry.
        local_dir: folder with `<SourceName>.<ext>` override files (used when present).
        cache_dir: where raw GitHub files are kept (default: `$STAR1_HOME/collect/raw`).
        limit: keep only the first `limit` questions (quick runs).

    Raises:
        SourceFormatError: the data lacks a field or has no usable row.
        SourceAccessError: the data could not be fetched (gated, missing, offline), with the fix.
    """
    from star1_hub.home import star1_home

    override = local_override(source, local_dir)
    files: list[dict] = []
    resolved = source.revision
    if override is not None:
        origin, where = "local", str(override)
        dataset = read_table(override, _format_of(override), source)
        files.append({"path": str(override), "sha256": sha256_file(override)})
        resolved = None
    else:
        origin, where = source.origin, source.location
        try:
            if source.origin == "github":
                paths = _fetch_github(source, cache_dir or star1_home() / "collect" / "raw")
                dataset = _datasets_from_files(paths, source, source.file_format or "csv")
            elif source.origin == "hub_files":
                resolved = _resolve_hub_revision(source)
                paths = _fetch_hub_files(source)
                dataset = _datasets_from_files(paths, source, source.file_format or "csv")
            else:
                resolved = _resolve_hub_revision(source)
                dataset, paths = _fetch_hub(source), []
        except SourceError:
            raise
        except Exception as exc:  # noqa: BLE001 - only access problems are translated, the rest re-raised
            if _is_access_problem(exc):
                raise _access_error(source, exc) from exc
            raise
        files.extend({"path": str(p.name), "sha256": sha256_file(p)} for p in paths)
    questions, rows_read, kept, blank = questions_from_dataset(dataset, source, where)
    if limit is not None:
        questions = questions[:limit]
    logger.info("source %s: %d rows read from %s, %d questions", source.name, rows_read, where, len(questions))
    return LoadedSource(
        name=source.name,
        questions=questions,
        rows_read=rows_read,
        rows_after_filter=kept,
        blank_rows=blank,
        origin=origin,
        location=where,
        revision_requested=None if origin == "local" else source.revision,
        revision_resolved=resolved,
        pinned=source.pinned,
        files=files,
    )
