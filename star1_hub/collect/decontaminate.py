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

Every step is linear in the rows apart from the pair search itself: texts are tokenised once (one regex
pass over all training and test texts, equal to scikit-learn's default `CountVectorizer`) into one
`RankedCounts` store, and each step's TF-IDF is that step's own fit — idf from the document frequencies of exactly
the rows the original fitted on (the pool's kept as a running count), values bit for bit those of a
`TfidfTransformer` fitted on their count rows — refitted in place for the rows the step searches, so the vectors
equal the original per-step `TfidfVectorizer().fit_transform` up to the order of float additions (the vocabulary
of a step only adds columns no row of that step uses). `PipelineConfig(tokenise_once=False)` runs the original
per-step refit instead, and `pair_search="blocked"` the previous exact pair search (bench/dedup.py compares the
pipeline with both switched back). n-gram keys of every n come from token hashes computed once per row
(`TokenHashes`), and the pool's keys live in a hash table (`KeyIndex`) that keeps each key's first row.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from scipy import sparse

from star1_hub.collect.dedup import (
    _WORD_TOKENS,
    CosinePairs,
    KeyIndex,
    RankedCounts,
    TokenHashes,
    cosine_pairs_at_least,
    count_rows,
    dense_pairs_at_least,
    forked_calls,
    freed_memory_kept,
    greedy_keep,
    key_table,
    ngram_clusters_from_keys,
    regex_tokens,
    tfidf_pairs,
    usable_cores,
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
    n_common_features: int | None = None  # "blocked" pair search: size of its dense block (None: automatic)
    tokenise_once: bool = True  # False: refit a TfidfVectorizer on the raw texts at every step (slower, same rows)
    pair_search: str = "prefix"  # exact TF-IDF pair search of dedup.cosine_pairs_at_least: "prefix" or "blocked"
    workers: int | None = None  # processes/threads for tokenising and the pair search (None: the usable cores)


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


@dataclass(frozen=True)
class StoredRows:
    """Rows of a run's `RankedCounts` (indices into it): the token counts the tokenise-once TF-IDF reads."""

    store: RankedCounts
    rows: np.ndarray


class ReferencePool:
    """The growing pool R of stage 1: its texts, their labels (test set or source name) and n-gram keys."""

    def __init__(self, n: int = 8, expected_keys: int = 0) -> None:
        """An empty pool comparing word n-grams of `n` words; `expected_keys` sizes its key index (optional)."""
        self.n = n
        self.texts: list[str] = []
        self.labels: list[str] = []
        self._key_index = KeyIndex(expected_keys)  # n-gram and whole-text keys → the first pool row holding each
        self._counts: list[sparse.csr_matrix] = []  # token-count rows of the pool (when added with counts)
        self._store: RankedCounts | None = None  # or the pool's rows of one shared store (`StoredRows`) ...
        self._store_rows = np.zeros(0, dtype=np.int64)
        self._doc_freq = np.zeros(0, dtype=np.int64)  # ... and how many of them hold each feature (by rank)

    def add(
        self,
        texts: Sequence[str],
        label: str,
        keys: tuple[np.ndarray, np.ndarray] | None = None,
        counts: sparse.csr_matrix | StoredRows | None = None,
    ) -> None:
        """Append texts under one label (a test-set or training-source name).

        Args:
            texts: the rows to add.
            label: the test-set or training-source name credited when a later row matches one of them.
            keys: their `key_table(texts, n)` when already computed.
            counts: their token-count rows from the pipeline's shared `CountVectorizer`, either as a CSR matrix
                (each `tfidf_matches` then refits a `TfidfTransformer` on the stacked rows) or as rows of one
                shared `RankedCounts` (the incremental fit); enables the tokenise-once TF-IDF of
                `tfidf_matches`. A pool mixes either all rows with counts of one kind or none.
        """
        keys, rows = key_table(texts, self.n) if keys is None else keys
        rows = rows + len(self.texts)
        self._add_counts(counts, label, len(texts))
        self.texts.extend(texts)
        self.labels.extend([label] * len(texts))
        self._key_index.add(keys, rows)

    def _add_counts(self, counts: sparse.csr_matrix | StoredRows | None, label: str, n_rows: int) -> None:
        kind = "none" if counts is None else "stored" if isinstance(counts, StoredRows) else "csr"
        held = "stored" if self._store is not None else "csr" if self._counts else "none" if self.texts else kind
        if kind != held:
            if held == "none":
                raise ValueError("this pool holds rows without token counts; add every row with counts or none")
            if kind == "none":
                raise ValueError(f"rows of {label!r} were added without token counts to a pool that has them")
            raise ValueError(f"rows of {label!r} hold token counts of another kind than the pool's")
        if kind == "csr":
            self._counts.append(sparse.csr_matrix(counts))
        elif kind == "stored":
            if len(counts.rows) != n_rows:
                raise ValueError(f"{n_rows} texts of {label!r} came with {len(counts.rows)} rows of token counts")
            if self._store is None:
                self._store, self._doc_freq = counts.store, np.zeros(counts.store.n_features, dtype=np.int64)
            elif counts.store is not self._store:
                raise ValueError(f"rows of {label!r} come from another token-count store than the pool's")
            self._store_rows = np.r_[self._store_rows, np.asarray(counts.rows, dtype=np.int64)]
            self._doc_freq += self._store.document_frequencies(counts.rows)

    def ngram_matches(self, texts: Sequence[str], keys: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """For each text, the first pool row sharing an n-gram or the whole normalised text with it, else -1.

        Args:
            texts: the query rows.
            keys: their `key_table(texts, n)` when already computed.
        """
        if not len(texts) or not len(self._key_index):
            return np.full(len(texts), -1, dtype=np.int64)
        keys, rows = key_table(texts, self.n) if keys is None else keys
        return self._key_index.first_rows(keys, rows, len(texts))

    def tfidf_matches(
        self,
        texts: Sequence[str],
        threshold: float,
        n_common: int | None = None,
        counts: sparse.csr_matrix | StoredRows | None = None,
        method: str = "prefix",
        workers: int | None = None,
    ) -> np.ndarray:
        """For each text, the most similar pool row if its TF-IDF cosine is ≥ threshold, else -1.

        The TF-IDF is fitted on the pool and the texts together (as the original). With `counts` (the texts'
        token-count rows, pool added with counts of the same kind) the fit reuses the counts instead of
        re-tokenising; with `StoredRows` it refits only the values of the pool's and the texts' rows in their
        shared store (document frequencies of the pool kept as a running count) and searches them in place.
        `workers` is the pair search's thread count (None: the usable cores; the matches do not depend on it).
        """
        match = np.full(len(texts), -1, dtype=np.int64)
        if not len(texts) or not self.texts:
            return match
        if isinstance(counts, StoredRows) and self._store is not None:
            pairs = self._stored_pairs(counts, threshold, n_common, method, workers)
            if pairs is None:
                return match
            return best_match(len(texts), pairs.rows, pairs.cols, pairs.sims, match)
        if counts is not None and self._counts:
            matrix = _tfidf_from_counts(sparse.vstack([*self._counts, counts], format="csr"))
        else:
            matrix = _tfidf(list(self.texts) + list(texts))
        if matrix is None:
            return match
        pool, queries = matrix[: len(self.texts)], matrix[len(self.texts) :]
        pairs = cosine_pairs_at_least(queries, pool, threshold, n_common=n_common, method=method, workers=workers)
        return best_match(len(texts), pairs.rows, pairs.cols, pairs.sims, match)

    def _stored_pairs(
        self, queries: StoredRows, threshold: float, n_common, method: str, workers
    ) -> CosinePairs | None:
        """Pairs (query, pool row) ≥ threshold under the TF-IDF fitted on the pool and the queries together."""
        if queries.store is not self._store:
            raise ValueError("the query rows come from another token-count store than the pool's")
        rows = np.asarray(queries.rows, dtype=np.int64)
        doc_freq = self._doc_freq + self._store.document_frequencies(rows)
        return _stored_tfidf_pairs(self._store, rows, self._store_rows, doc_freq, threshold, n_common, method, workers)


def _stored_tfidf_pairs(
    store: RankedCounts,
    rows: np.ndarray,
    pool_rows: np.ndarray | None,
    doc_freq: np.ndarray,
    threshold: float,
    n_common: int | None,
    method: str,
    workers: int | None,
) -> CosinePairs | None:
    """Pairs ≥ threshold between `rows` and `pool_rows` of `store` (None: among `rows`, later row first), under the
    TF-IDF fitted on exactly those rows with document frequencies `doc_freq`; None when no row holds a token (the
    original's "empty vocabulary": nothing to compare, so nothing is similar)."""
    if not doc_freq.any():
        return None
    fitted = rows if pool_rows is None else np.r_[pool_rows, rows]
    store.fit(fitted, doc_freq, len(fitted))
    if method == "prefix":
        return tfidf_pairs(store, rows, pool_rows, threshold, workers=workers)
    pool = None if pool_rows is None else store.csr(pool_rows)
    return cosine_pairs_at_least(store.csr(rows), pool, threshold, n_common=n_common, method=method, workers=workers)


def _tfidf(texts: list[str]):
    """Default scikit-learn TF-IDF of `texts` (as the original), or None when no text has a single token."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    try:
        return TfidfVectorizer().fit_transform(texts)
    except ValueError as exc:  # "empty vocabulary": nothing to compare, so nothing is similar
        if "empty vocabulary" not in str(exc):
            raise
        return None


def _tfidf_from_counts(counts: sparse.csr_matrix):
    """TF-IDF fitted on exactly these count rows (idf from their document frequencies), or None without tokens."""
    from sklearn.feature_extraction.text import TfidfTransformer

    if counts.nnz == 0:  # the original's "empty vocabulary": nothing to compare, so nothing is similar
        return None
    return TfidfTransformer().fit_transform(counts)


def _token_counts(texts: Sequence[str]) -> sparse.csr_matrix:
    """Token-count rows of every text of a run, equal to a default `CountVectorizer(dtype=float64)`'s.

    The same lowercasing, the same token pattern and the same alphabetical vocabulary order as scikit-learn's
    `CountVectorizer`, but every text is tokenised in one regex pass over all of them (`regex_tokens`) and the
    counts are assembled by a compiled pass (`count_rows`) instead of a Python loop per token (tests/collect/
    test_decontaminate.py compares both on unusual text).
    """
    ids, vocabulary, rows = regex_tokens(texts, _WORD_TOKENS)
    if not vocabulary or (len(vocabulary) == 1 and vocabulary[0] == "\n"):  # no token anywhere
        return sparse.csr_matrix((len(texts), 1), dtype=np.float64)
    order = sorted(range(len(vocabulary)), key=vocabulary.__getitem__)
    column = np.empty(len(vocabulary), dtype=np.int64)
    column[order] = np.arange(len(vocabulary))
    if "\n" in vocabulary:  # the separator sorts first; it never occurs among the tokens themselves
        column -= 1
    # each row's distinct columns in vocabulary order (as a per-step fit stores them) with their counts
    indptr, indices, data = count_rows(rows, column[ids], len(texts))
    return sparse.csr_matrix((data, indices, indptr), shape=(len(texts), len(vocabulary) - ("\n" in vocabulary)))


def _select_keys(keys: tuple[np.ndarray, np.ndarray], keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The key table of the kept rows only, renumbered to their new positions."""
    key_values, rows = keys
    new_row = np.cumsum(keep) - 1
    selected = keep[rows]
    return key_values[selected], new_row[rows[selected]]


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


@freed_memory_kept()  # the steps free and reallocate large arrays; reusing warm memory saves faulting it in again
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
    workers = config.workers or usable_cores()
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
    all_texts = [q for src in list(train) + list(tests) for q in src.questions]
    # token counts of the training rows (in source order), then of the test rows (the TF-IDF of every step), and
    # whitespace-token hashes of every row (the n-gram keys of every step): two tokenisations, side by side
    store, all_hashes = None, None
    if config.tokenise_once:
        calls = [partial(_token_counts, all_texts), partial(TokenHashes.of, all_texts)]
        all_counts, all_hashes = forked_calls(calls, workers)
        store = RankedCounts(all_counts)  # columns ranked by document frequency over every row of the run
        del all_counts
    else:
        all_hashes = TokenHashes.of(all_texts)
    del all_texts
    timings["tokenise"] = time.perf_counter() - started
    started = time.perf_counter()
    n = config.decontam_ngram_n
    lengths = np.diff(all_hashes.offsets)  # every row's keys at most: its n-grams and its whole text
    pool = ReferencePool(n, expected_keys=int(np.maximum(lengths - n + 1, 0).sum()) + len(lengths))
    del lengths
    offset = sum(len(src.questions) for src in train)
    for test in tests:
        test_rows = np.arange(offset, offset + len(test.questions))
        test_counts = StoredRows(store, test_rows) if store is not None else None
        test_keys = all_hashes.select(test_rows).keys(n)
        offset += len(test.questions)
        pool.add(test.questions, test.name, keys=test_keys, counts=test_counts)
    offset = 0
    stage1_questions: list[str] = []
    stage1_sources: list[str] = []
    stage1_rows: list[np.ndarray] = []  # rows of `store`
    for src in train:
        rows = list(src.questions)
        index = np.arange(offset, offset + len(rows))  # rows of `store`
        offset += len(rows)
        tally = counts[src.name]
        tally["input"] = len(rows)
        src_hashes = all_hashes.select(index)
        self_keys = src_hashes.keys(src.self_dedup_n)
        keep = ngram_clusters_from_keys(len(rows), *self_keys) == np.arange(len(rows))
        rows, index = _select(rows, keep), index[keep]
        # the decontamination keys are the self-dedup keys when both use the same n
        keys = _select_keys(self_keys, keep) if src.self_dedup_n == n else src_hashes.select(keep).keys(n)
        tally["after_self_ngram"] = len(rows)
        match = pool.ngram_matches(rows, keys)
        _tally(caught["ngram_decontam"], src.name, [pool.labels[m] for m in match if m >= 0])
        rows, keys, index = _select(rows, match < 0), _select_keys(keys, match < 0), index[match < 0]
        tally["after_ngram_decontam"] = len(rows)
        match = pool.tfidf_matches(
            rows,
            config.tfidf_threshold,
            config.n_common_features,
            counts=StoredRows(store, index) if store is not None else None,
            method=config.pair_search,
            workers=workers,
        )
        _tally(caught["tfidf_decontam"], src.name, [pool.labels[m] for m in match if m >= 0])
        survive = match < 0
        rows, keys, index = _select(rows, survive), _select_keys(keys, survive), index[survive]
        tally["after_tfidf_decontam"] = len(rows)
        pool.add(rows, src.name, keys=keys, counts=StoredRows(store, index) if store is not None else None)
        stage1_questions.extend(rows)
        stage1_sources.extend([src.name] * len(rows))
        stage1_rows.append(index)
        say(f"stage 1 {src.name}: {tally['input']} → {len(rows)}")
    timings["stage1_per_source"] = time.perf_counter() - started

    started = time.perf_counter()
    keep = np.ones(len(stage1_questions), dtype=bool)
    if stage1_questions:
        pairs = _global_tfidf_pairs(stage1_questions, store, np.concatenate(stage1_rows), config, workers)
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
        say(
            f"MiniLM encoding: {len(questions)} prompts in {timings['embedding_encode']:.1f} s "
            f"({len(questions) / max(timings['embedding_encode'], 1e-9):.0f} prompts/s)"
        )
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


def _global_tfidf_pairs(
    questions: list[str], store: RankedCounts | None, rows: np.ndarray, config: PipelineConfig, workers: int
) -> CosinePairs:
    """Stage 2's pairs (later row, earlier row) ≥ the threshold, under the TF-IDF fitted on the stage-1 survivors:
    their rows of `store` (tokenise-once) or, without a store, a `TfidfVectorizer` refit on their texts."""
    threshold, n_common, method = config.tfidf_threshold, config.n_common_features, config.pair_search
    if store is not None:
        pairs = _stored_tfidf_pairs(
            store, rows, None, store.document_frequencies(rows), threshold, n_common, method, workers
        )
    else:
        matrix = _tfidf(questions)
        pairs = None
        if matrix is not None:
            pairs = cosine_pairs_at_least(matrix, None, threshold, n_common=n_common, method=method, workers=workers)
    if pairs is None:
        return CosinePairs(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
    return pairs


def _select(values: list, keep: np.ndarray) -> list:
    return [v for v, k in zip(values, keep, strict=True) if k]


def _count(counts: dict[str, dict[str, int]], sources: Sequence[str], key: str) -> None:
    per_source = Counter(sources)
    for name, tally in counts.items():
        tally[key] = per_source.get(name, 0)
