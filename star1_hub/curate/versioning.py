"""Hub I/O of the curation chain: read `repo@rev`; `push_stage`, the ONE publisher of a config of a curated
dataset repo (`collected` and every stage output), in ONE commit that may carry a tag.

Layout of a curated dataset repo:

    <config>/train-00000-of-00001.parquet   one file per config (features stored in the parquet schema)
    plots/<config>.png                      category and source distribution of that output (`collected`: rows
                                            per source after each dedup / decontamination step)
    curation.json                           manifest: per config, input + sha, stage settings, counts, cost
                                            (`collected`: the whole collection manifest under `collect`)
    README.md                               card rendered from `model_cards/curation_card.md.jinja`, one section
                                            per config of the manifest; its YAML header lists every config so
                                            `load_dataset(repo, config)` works

A push writes its parquet file, its plot, the updated manifest and the card re-rendered from that manifest in a
single commit (tagged by `commit_to_hub(tag=…)` when asked), so every commit is a consistent snapshot, no push
can drop another config's section, and a stage can be re-run from any earlier sha or tag.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from star1_hub.data.load import CONFIG_DATA_FILE, ConfigLoadError, load_config_at
from star1_hub.errors import Star1Error

logger = logging.getLogger(__name__)

MANIFEST = "curation.json"


class StageInputError(Star1Error, ValueError):
    """A stage input that cannot be used (bad `repo@rev`, missing repo/revision/config/columns)."""


@dataclass
class StageInput:
    """A loaded stage input and where exactly it came from."""

    dataset: Any
    repo_id: str
    revision: str | None
    sha: str
    config: str | None

    def describe(self) -> dict[str, Any]:
        """Manifest entry for this input."""
        return {"repo": self.repo_id, "revision": self.revision, "sha": self.sha, "config": self.config}


def parse_repo_ref(ref: str) -> tuple[str, str | None]:
    """Split `org/name[@revision]` into (repo id, revision or None)."""
    from star1_hub.hub.commit import RefError, parse_ref

    try:
        return tuple(parse_ref(ref, what="dataset"))
    except RefError as exc:
        raise StageInputError(str(exc)) from None


def load_stage_input(ref: str, config: str | None = None, limit: int | None = None) -> StageInput:
    """Load config `config` of dataset `ref` (`org/name[@rev]`) pinned to the resolved commit sha.

    Args:
        ref: dataset id with an optional branch / tag / sha.
        config: dataset config (stage name) to read; None or `default` = the repo's default config.
        limit: keep only the first `limit` rows (trial runs).
    """
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    repo_id, revision = parse_repo_ref(ref)
    try:
        sha = HfApi().dataset_info(repo_id, revision=revision).sha
    except RepositoryNotFoundError as exc:
        raise StageInputError(f"dataset {repo_id!r} not found on {_endpoint()}; check --input") from exc
    except RevisionNotFoundError as exc:
        raise StageInputError(f"dataset {repo_id!r} has no revision {revision!r}; check --input") from exc
    try:
        dataset = load_config_at(repo_id, config, sha)
    except ConfigLoadError as exc:
        raise StageInputError(str(exc)) from exc
    if limit is not None:
        dataset = dataset.select(range(min(limit, len(dataset))))
    logger.info("loaded %s rows of %s@%s (config %s)", len(dataset), repo_id, sha[:12], config or "default")
    return StageInput(dataset, repo_id, revision, sha, config)


def load_stage_output(repo_id: str, config: str | None = None, revision: str | None = None):
    """Load a pushed stage output like `load_dataset(repo, config, revision=…)`, also when it has 0 rows."""
    ref = f"{repo_id}@{revision}" if revision else repo_id
    return load_stage_input(ref, config).dataset


def _endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def read_manifest(repo_id: str, revision: str | None = None) -> dict[str, Any]:
    """Return the repo's curation manifest at `revision` (empty when the repo or file does not exist yet)."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    try:
        path = hf_hub_download(repo_id, MANIFEST, repo_type="dataset", revision=revision)
    except (EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError):
        return {"configs": {}}
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _foreign_configs(repo_id: str, ours: set[str], revision: str | None = None) -> list[dict[str, Any]]:
    """Config entries of the existing README that this manifest does not manage (kept when re-rendering)."""
    from huggingface_hub import DatasetCard
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    try:
        from huggingface_hub import hf_hub_download

        card = DatasetCard(
            Path(hf_hub_download(repo_id, "README.md", repo_type="dataset", revision=revision)).read_text()
        )
    except (EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError, FileNotFoundError):
        return []
    configs = card.data.to_dict().get("configs") or []
    return [c for c in configs if isinstance(c, dict) and c.get("config_name") not in ours]


def distribution_plot(dataset, title: str) -> bytes:
    """PNG bar charts of the category and source distribution of the error-free rows of `dataset`."""
    from star1_hub.data.plots import category_source_counts, distribution_png

    columns = [c for c in ("category", "source", "error") if c in dataset.column_names]
    rows = [row for row in dataset.select_columns(columns).to_list() if not row.get("error")]
    categories, sources = category_source_counts(rows)
    return distribution_png(categories, sources, title)


def push_stage(
    dataset,
    repo_id: str,
    config: str,
    record: dict[str, Any],
    *,
    plot: bytes | None = None,
    tag: str | None = None,
    tag_message: str | None = None,
    message: str | None = None,
    card_title: str | None = None,
    private: bool = False,
) -> str:
    """Push `dataset` as config `config` of `repo_id` with its manifest record; return the new commit sha.

    Every config of a curated repo (`collected` included) is published here, so the manifest, the card and
    the YAML `configs:` always describe all of them.

    Args:
        dataset: the config's rows.
        repo_id: target dataset repo (created if missing).
        config: config name (`collected`, `classified`, `reasoned`, `scored`, `filtered`, `default`, …).
        record: what to record for this config (stage, input, settings, counts, accounting; `collect`: the
            collection manifest); rows/features/pushed_at are added.
        plot: PNG for `plots/<config>.png` (default: the category and source distribution of the rows).
        tag: tag the commit (a taken tag is refused before anything is committed).
        tag_message: annotation of the tag.
        message: commit title (default: `<stage>: push config '<config>' (<n> rows)`).
        card_title: heading of the dataset card (default: the repo name).
        private: create the repo as private.

    Raises:
        TagExistsError: `tag` already names a commit of the repo (nothing committed).
    """
    from star1_hub.cards import render_card
    from star1_hub.hub.commit import Changes, commit_to_hub

    record = {
        **record,
        "config": config,
        "rows": len(dataset),
        "features": {name: str(feature) for name, feature in dataset.features.items()},
        "pushed_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    with tempfile.TemporaryDirectory() as tmp:
        parquet = Path(tmp) / "data.parquet"
        _write_parquet(dataset, parquet)
        files: dict[str, Any] = {CONFIG_DATA_FILE.format(config=config): parquet}
        if plot is not None:
            files[f"plots/{config}.png"] = plot
        elif len(dataset):  # an empty stage output gets no plot (the card says so)
            files[f"plots/{config}.png"] = distribution_plot(dataset, f"{repo_id} / {config} ({len(dataset)} rows)")

        def build(head: str) -> Changes:
            # read-modify-write on the head the commit is built on: a concurrent stage push is merged, never lost
            manifest = read_manifest(repo_id, revision=head)
            manifest.setdefault("configs", {})[config] = record
            front_matter = _front_matter(manifest, _foreign_configs(repo_id, set(manifest["configs"]), head))
            card = render_card(
                "curation_card.md.jinja",
                front_matter=front_matter,
                repo_id=repo_id,
                title=card_title or repo_id.split("/")[-1],
                configs=manifest["configs"],
            )
            return Changes(
                files={**files, MANIFEST: json.dumps(manifest, indent=1, sort_keys=True)},
                # a stale plot of an earlier, non-empty push of this config; shards of an earlier, bigger push
                delete=[f"plots/{config}.png", f"{config}/"],
                card=card,
            )

        commit = commit_to_hub(
            repo_id,
            build,
            message=message or f"{record.get('stage', config)}: push config '{config}' ({len(dataset)} rows)",
            repo_type="dataset",
            tag=tag,
            tag_message=tag_message,
            private=private,
        )
    sha = commit.sha
    tagged = f" (tag {tag})" if tag else ""
    logger.info("pushed %s rows to %s config %s at %s%s", len(dataset), repo_id, config, sha[:12], tagged)
    return sha


def _write_parquet(dataset, path: Path) -> None:
    """Write `dataset` with its features in the schema metadata; unlike `Dataset.to_parquet`, a 0-row dataset
    keeps its columns (so an empty stage output still has a typed, loadable file)."""
    import pyarrow.parquet as pq

    table = dataset.flatten_indices().data.table
    table = table.cast(dataset.features.arrow_schema)  # carries the `huggingface` features metadata
    pq.write_table(table, str(path))


def _front_matter(manifest: dict[str, Any], foreign: list[dict[str, Any]]) -> str:
    import yaml

    configs = list(foreign)
    for name in sorted(manifest["configs"]):
        entry: dict[str, Any] = {
            "config_name": name,
            "data_files": [
                {"split": "train", "path": CONFIG_DATA_FILE.format(config=name).replace("00000-of-00001", "*")}
            ],
        }
        if name == "default":
            entry["default"] = True
        configs.append(entry)
    meta = {"license": "apache-2.0", "language": ["en"], "tags": ["safety", "reasoning", "star1"], "configs": configs}
    return yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)
