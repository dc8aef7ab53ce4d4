"""The collection pipeline (docs/curation.md, "Collection"): per-source dedup and decontamination against a growing reference pool,
then global TF-IDF and MiniLM dedup and MiniLM decontamination against the test sets.

Order and thresholds are the original's; the algorithms are the exact scalable ones of `dedup.py`:

Stage 1, per training source in table order (the pool R starts as the test sets):
  1. self n-gram dedup (n per source) — union-find clusters, the first row of each cluster kept;
  2. 8-gram overlap with R (plus an exact normalised-text match, so texts under 8 words are checked too);
  3. TF-IDF cosine ≥ 0.6 with any row of R (default `TfidfVectorizer` fit on R ∪ the current rows);
  4. survivors are appended to R.
Stage 2: greedy first-come-wins TF-IDF self-dedup ≥ 0.6 over all stage-1 survivors (vectorizer fit on them).
Stage 3: greedy MiniLM self-dedup ≥ 0.7.       Stage 4: MiniLM cosine ≥ 0.7 with any test-set row is removed.
Stages 3–4 are skipped when no encoder is given.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from star1_hub.collect.dedup import (
    CosinePairs,
    cosine_pairs_at_least,
    dense_pairs_at_least,
    greedy_keep,
    key_table,
    ngram_self_dedup,
)

logger = logging.getLogger(__name__)

STAGE_COUNT_KEYS: tuple[str, ...] = (
    "input",
    "after_self_ngram",
    "after_ngram_decontam",
    "after_tfidf_decontam",
    "after_global_tfidf",
    "after_embedding_dedup",
    "after_embedding_decontam",
)


@dataclass(frozen=True)
class PipelineConfig:
    """Thresholds of the collection pipeline (defaults are the original's, docs/curation.md)."""

    decontam_ngram_n: int = 8
    tfidf_threshold: float = 0.6
    embedding_threshold: float = 0.7
    n_common_features: int | None = None  # size of the dense block of the TF-IDF pair search (None: automatic)


@dataclass
class SourceRows:
    """The questions of one source, in file order, as they enter the pipeline."""

    name: str
    questions: list[str]
    self_dedup_n: int = 8


@dataclass
class PipelineResult:
    """Survivors (in source order) and the per-source accounting."""

    questions: list[str]
    sources: list[str]
    counts: dict[str, dict[str, int]]
    # stage -> training source -> catcher (test set or earlier training source) -> rows removed
    caught_by: dict[str, dict[str, dict[str, int]]]
    timings_s: dict[str, float] = field(default_factory=dict)
    embeddings_used: bool = False


class ReferencePool:
    """The growing pool R of stage 1: its texts, their labels (test set or source name) and n-gram keys."""

    def __init__(self, n: int = 8) -> None:
        self.n = n
        self.texts: list[str] = []
        self.labels: list[str] = []
        self._keys = np.zeros(0, dtype=np.uint64)
        self._key_rows = np.zeros(0, dtype=np.int64)

    def add(self, texts: Sequence[str], label: str) -> None:
        """Append texts under one label (a test-set or training-source name)."""
        keys, rows = key_table(texts, self.n)
        rows = rows + len(self.texts)
        self.texts.extend(texts)
        self.labels.extend([label] * len(texts))
        keys = np.concatenate([self._keys, keys])
        rows = np.concatenate([self._key_rows, rows])
        order = np.lexsort((rows, keys))
        self._keys, self._key_rows = keys[order], rows[order]

    def ngram_matches(self, texts: Sequence[str]) -> np.ndarray:
        """For each text, the first pool row sharing an n-gram or the whole normalised text with it, else -1."""
        match = np.full(len(texts), -1, dtype=np.int64)
        if not len(texts) or not len(self._keys):
            return match
        keys, rows = key_table(texts, self.n)
        pos = np.searchsorted(self._keys, keys)
        pos_clipped = np.minimum(pos, len(self._keys) - 1)
        hit = self._keys[pos_clipped] == keys
        hit_rows, hit_pool_rows = rows[hit], self._key_rows[pos_clipped[hit]]
        # keep the smallest pool row per text (the first key position holds the smallest row for that key)
        order = np.lexsort((hit_pool_rows, hit_rows))
        hit_rows, hit_pool_rows = hit_rows[order], hit_pool_rows[order]
        first = np.r_[True, hit_rows[1:] != hit_rows[:-1]] if len(hit_rows) else np.zeros(0, dtype=bool)
        match[hit_rows[first]] = hit_pool_rows[first]
        return match

    def tfidf_matches(self, texts: Sequence[str], threshold: float, n_common: int | None = None) -> np.ndarray:
        """For each text, the most similar pool row if its TF-IDF cosine is ≥ threshold, else -1."""
        match = np.full(len(texts), -1, dtype=np.int64)
        if not len(texts) or not self.texts:
            return match
        matrix = _tfidf(list(self.texts) + list(texts))
        if matrix is None:
            return match
        pool, queries = matrix[: len(self.texts)], matrix[len(self.texts) :]
        pairs = cosine_pairs_at_least(queries, pool, threshold, n_common=n_common)
        return best_match(len(texts), pairs.rows, pairs.cols, pairs.sims, match)


def _tfidf(texts: list[str]):
    """Default scikit-learn TF-IDF of `texts` (as the original), or None when no text has a single token."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    try:
        return TfidfVectorizer().fit_transform(texts)
    except ValueError as exc:  # "empty vocabulary": nothing to compare, so nothing is similar
        if "empty vocabulary" not in str(exc):
            raise
        return None


def best_match(n_rows: int, rows: np.ndarray, cols: np.ndarray, sims: np.ndarray, out: np.ndarray | None = None):
    """Return, per query row, the column with the highest similarity among the pairs (ties: lowest column)."""
    out = np.full(n_rows, -1, dtype=np.int64) if out is None else out
    if len(rows):
        order = np.lexsort((cols, -sims, rows))
        rows, cols = rows[order], cols[order]
        first = np.r_[True, rows[1:] != rows[:-1]]
        out[rows[first]] = cols[first]
    return out


def _tally(stage: dict, source: str, labels: Sequence[str]) -> None:
    if labels:
        counter = stage.setdefault(source, {})
        for label, count in Counter(labels).items():
            counter[label] = counter.get(label, 0) + count


def run_pipeline(
    train: Sequence[SourceRows],
    tests: Sequence[SourceRows],
    config: PipelineConfig | None = None,
    encoder=None,
    progress: Callable[[str], None] | None = None,
) -> PipelineResult:
    """Run steps 1–4 of the collection pipeline (docs/curation.md, "Collection").

    Args:
        train: training sources in processing order (order matters: earlier sources win).
        tests: test sets forming the initial reference pool and the stage-4 decontamination set.
        config: thresholds; defaults are the original's.
        encoder: an object with `encode(list[str]) -> np.ndarray` (unit-norm rows); None skips stages 3–4.
        progress: optional callback receiving a short status line per step.

    Returns:
        The surviving questions with their source names and the per-source, per-stage accounting.
    """
    config = config or PipelineConfig()
    say = progress or (lambda message: logger.info(message))
    timings: dict[str, float] = {}
    counts: dict[str, dict[str, int]] = {src.name: dict.fromkeys(STAGE_COUNT_KEYS, 0) for src in train}
    caught: dict[str, dict[str, dict[str, int]]] = {
        "ngram_decontam": {},
        "tfidf_decontam": {},
        "embedding_decontam": {},
    }
    names = [src.name for src in list(train) + list(tests)]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"source names must be unique; repeated: {', '.join(duplicates)}")

    started = time.perf_counter()
    pool = ReferencePool(config.decontam_ngram_n)
    for test in tests:
        pool.add(test.questions, test.name)
    stage1_questions: list[str] = []
    stage1_sources: list[str] = []
    for src in train:
        rows = list(src.questions)
        tally = counts[src.name]
        tally["input"] = len(rows)
        rows = [q for q, keep in zip(rows, ngram_self_dedup(rows, src.self_dedup_n), strict=True) if keep]
        tally["after_self_ngram"] = len(rows)
        match = pool.ngram_matches(rows)
        _tally(caught["ngram_decontam"], src.name, [pool.labels[m] for m in match if m >= 0])
        rows = [q for q, m in zip(rows, match, strict=True) if m < 0]
        tally["after_ngram_decontam"] = len(rows)
        match = pool.tfidf_matches(rows, config.tfidf_threshold, config.n_common_features)
        _tally(caught["tfidf_decontam"], src.name, [pool.labels[m] for m in match if m >= 0])
        rows = [q for q, m in zip(rows, match, strict=True) if m < 0]
        tally["after_tfidf_decontam"] = len(rows)
        pool.add(rows, src.name)
        stage1_questions.extend(rows)
        stage1_sources.extend([src.name] * len(rows))
        say(f"stage 1 {src.name}: {tally['input']} → {len(rows)}")
    timings["stage1_per_source"] = time.perf_counter() - started

    started = time.perf_counter()
    keep = np.ones(len(stage1_questions), dtype=bool)
    if stage1_questions:
        matrix = _tfidf(stage1_questions)
        pairs = CosinePairs(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
        if matrix is not None:
            pairs = cosine_pairs_at_least(matrix, None, config.tfidf_threshold, n_common=config.n_common_features)
        keep = greedy_keep(len(stage1_questions), pairs)
    questions = [q for q, k in zip(stage1_questions, keep, strict=True) if k]
    sources = [s for s, k in zip(stage1_sources, keep, strict=True) if k]
    _count(counts, sources, "after_global_tfidf")
    timings["stage2_global_tfidf"] = time.perf_counter() - started
    say(f"stage 2 global TF-IDF dedup: {len(stage1_questions)} → {len(questions)}")

    if encoder is not None and questions:
        started = time.perf_counter()
        embeddings = encoder.encode(questions)
        timings["embedding_encode"] = time.perf_counter() - started
        started = time.perf_counter()
        keep = greedy_keep(len(questions), dense_pairs_at_least(embeddings, None, config.embedding_threshold))
        timings["stage3_embedding_dedup"] = time.perf_counter() - started
        questions, sources = _select(questions, keep), _select(sources, keep)
        embeddings = embeddings[keep]
        _count(counts, sources, "after_embedding_dedup")
        say(f"stage 3 embedding dedup: {len(keep)} → {len(questions)}")

        started = time.perf_counter()
        test_questions = [q for test in tests for q in test.questions]
        test_labels = [test.name for test in tests for _ in test.questions]
        match = np.full(len(questions), -1, dtype=np.int64)
        if test_questions:
            test_embeddings = encoder.encode(test_questions)
            pairs = dense_pairs_at_least(embeddings, test_embeddings, config.embedding_threshold)
            match = best_match(len(questions), pairs.rows, pairs.cols, pairs.sims)
        for src_name, m in zip(sources, match, strict=True):
            if m >= 0:
                _tally(caught["embedding_decontam"], src_name, [test_labels[m]])
        questions, sources = _select(questions, match < 0), _select(sources, match < 0)
        _count(counts, sources, "after_embedding_decontam")
        timings["stage4_embedding_decontam"] = time.perf_counter() - started
        say(f"stage 4 embedding decontamination: {len(match)} → {len(questions)}")
    else:
        _count(counts, sources, "after_embedding_dedup")
        _count(counts, sources, "after_embedding_decontam")
    return PipelineResult(questions, sources, counts, caught, timings, embeddings_used=encoder is not None)


def _select(values: list, keep: np.ndarray) -> list:
    return [v for v, k in zip(values, keep, strict=True) if k]


def _count(counts: dict[str, dict[str, int]], sources: Sequence[str], key: str) -> None:
    per_source = Counter(sources)
    for name, tally in counts.items():
        tally[key] = per_source.get(name, 0)
