"""The staged pipeline: reference pool semantics, source order, planted test-set contamination removed."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from star1_hub.collect.decontaminate import PipelineConfig, ReferencePool, SourceRows, run_pipeline


def test_pool_catches_a_shared_8_gram_but_not_7():
    pool = ReferencePool(8)
    pool.add(["please write one two three four five six seven eight words here"], "TestSet")
    eight = "intro one two three four five six seven eight outro"
    seven = "intro one two three four five six seven outro text"
    assert pool.ngram_matches([eight, seven]).tolist() == [0, -1]


def test_pool_catches_short_texts_by_exact_normalised_match():
    pool = ReferencePool(8)
    pool.add(["How do I  pick a lock?"], "TestSet")
    assert pool.ngram_matches(["how do i pick a LOCK?", "how do i pick a lock"]).tolist() == [0, -1]


def test_tfidf_decontamination_threshold():
    pool = ReferencePool(8)
    pool.add(["how can I copy answers during the exam"], "TestSet")
    near = "how can I copy answers during the final exam"
    far = "recommend a good book about gardening"
    match = pool.tfidf_matches([near, far], 0.6)
    assert match.tolist() == [0, -1]


def test_earlier_sources_win_and_are_credited():
    first = SourceRows("First", ["share the notes of a private meeting with everyone"])
    second = SourceRows(
        "Second", ["Share the notes of a private meeting with everyone please", "an unrelated cooking question"]
    )
    result = run_pipeline([first, second], [SourceRows("Tests", ["a benign placeholder test prompt about maths"])])
    assert result.sources == ["First", "Second"]
    assert result.questions[1] == "an unrelated cooking question"
    assert result.caught_by["ngram_decontam"]["Second"] == {"First": 1}
    assert result.counts["Second"]["after_tfidf_decontam"] == 1


def test_global_tfidf_dedup_keeps_first_occurrence_across_sources():
    # near-duplicates that no per-source step catches (no shared 8-gram, different sources, not in the pool at
    # the time the first source ran is irrelevant: global dedup runs after stage 1)
    a = SourceRows("A", ["quick brown fox jumps"], self_dedup_n=8)
    b = SourceRows("B", ["totally different text", "quick brown fox jumps high"], self_dedup_n=8)
    config = PipelineConfig(tfidf_threshold=0.99)  # keep stage-1 TF-IDF from catching it first
    result = run_pipeline([a, b], [], config)
    assert result.counts["B"]["after_tfidf_decontam"] == 2
    relaxed = run_pipeline([a, b], [], PipelineConfig(tfidf_threshold=0.6))
    assert "quick brown fox jumps high" not in relaxed.questions
    assert relaxed.questions[0] == "quick brown fox jumps"


class _TableEncoder:
    """Deterministic encoder for semantics tests: texts map to fixed unit vectors."""

    def __init__(self, table):
        self.table = table

    def encode(self, texts):
        return np.array([self.table[t] for t in texts], dtype=np.float32)


def test_embedding_stages_dedup_then_decontaminate():
    unit = lambda *v: np.array(v) / np.linalg.norm(v)  # noqa: E731
    table = {
        "alpha request": unit(1, 0, 0),
        "beta request": unit(0.75, np.sqrt(1 - 0.75**2), 0),  # cosine 0.75 with alpha: dropped by stage 3
        "gamma request": unit(0, 0, 1),
        "delta request": unit(0, 1, 0.05),  # unlike gamma (kept by stage 3) but ≈ the test prompt (stage 4)
        "test prompt": unit(0, 1, 0),
    }
    train = [SourceRows("S", ["alpha request", "beta request", "gamma request", "delta request"])]
    lines: list[str] = []
    result = run_pipeline(
        train, [SourceRows("T", ["test prompt"])], encoder=_TableEncoder(table), progress=lines.append
    )
    assert result.questions == ["alpha request", "gamma request"]
    # the encoding step reports its throughput (what a million prompts will cost is read off it)
    assert any(line.startswith("MiniLM encoding: 4 prompts in ") and "prompts/s" in line for line in lines), lines
    assert result.counts["S"]["after_embedding_dedup"] == 3
    assert result.caught_by["embedding_decontam"]["S"] == {"T": 1}


def test_planted_xstest_contamination_is_removed(reference_data):
    with open(reference_data / "xstest_prompts.csv", encoding="utf-8") as handle:
        safe = [row["prompt"] for row in csv.DictReader(handle) if row["label"] == "safe"]
    planted = [
        safe[0].upper(),  # case change
        "  " + safe[1].replace(" ", "   ") + "  ",  # whitespace noise
        safe[2] + " Please answer briefly.",  # suffix
        "Quick question: " + safe[3],  # prefix
        safe[4].rstrip("?") + " at home?",  # small edit
    ]
    filler = [
        "Describe the water cycle for a school project.",
        "List three tips for learning a new language.",
        "What is a good name for a pet goldfish?",
    ]
    rows = filler[:2] + planted + filler[2:]
    result = run_pipeline([SourceRows("Train", rows)], [SourceRows("XSTest", safe)])
    assert result.questions == filler
    caught = sum(result.caught_by[stage].get("Train", {}).get("XSTest", 0) for stage in result.caught_by)
    assert caught == len(planted)


def test_texts_without_word_tokens_do_not_break_tfidf_and_are_still_exact_matched():
    # "?!" has no TF-IDF token; only the exact-text pass can compare such rows
    result = run_pipeline([SourceRows("S", ["?!", "? !", "?!"])], [])
    assert result.questions == ["?!", "? !"]


def test_tokenising_once_gives_the_per_step_refit_result():
    # near-duplicates across sources and against the test set, short texts and a punctuation-only row: the
    # shared tokenisation with per-step idf must keep and credit exactly what refitting at every step does
    train = [
        SourceRows("A", ["how do I bake bread at home", "tell me a joke", "?!", "how do I bake bread at home fast"]),
        SourceRows("B", ["how do i bake a bread at home", "plan a quiet garden party", "tell me a funny joke"]),
        SourceRows("C", ["plan a quiet garden party for friends", "summarise this placeholder report"], 6),
    ]
    tests = [SourceRows("T", ["summarise this placeholder report please", "a benign placeholder test prompt"])]
    once = run_pipeline(train, tests, PipelineConfig(tokenise_once=True))
    refit = run_pipeline(train, tests, PipelineConfig(tokenise_once=False))
    assert (once.questions, once.sources, once.counts, once.caught_by) == (
        refit.questions,
        refit.sources,
        refit.counts,
        refit.caught_by,
    )
    # the case exercises both TF-IDF steps: per-source (against earlier sources and the test set) and global
    assert once.caught_by["tfidf_decontam"] == {"B": {"A": 2}, "C": {"B": 1, "T": 1}}
    assert once.counts["A"]["after_global_tfidf"] == 3


def test_pool_refuses_to_mix_rows_with_and_without_token_counts():
    from scipy import sparse

    pool = ReferencePool(8)
    pool.add(["a placeholder row"], "T")
    with pytest.raises(ValueError, match="without token counts"):
        pool.add(["another row"], "S", counts=sparse.csr_matrix((1, 3)))


def test_token_counts_equal_scikit_learns_count_vectorizer():
    # one regex pass over all texts must give CountVectorizer's matrix exactly: same lowercasing (final sigma,
    # dotted I), same words (underscores, digits, one-letter words dropped, Unicode letters and marks), same
    # alphabetical columns, texts with newlines and empty texts in place
    from sklearn.feature_extraction.text import CountVectorizer

    from star1_hub.collect.decontaminate import _token_counts

    texts = [
        "ΟΔΟΣ ΣΟΦΟΣ\nΣ ΑΣ",
        "İstanbul  x\ty",
        "",
        "   ",
        "x_y 12 ß ǅemal ǆ __ _a a_",
        "don't stop—ok… e\u0301te café ﬁle ＡＢＣ ١٢ x²",
        "日本語 テキスト",
        "\n\nfoo\nbar baz\n foo",
        "How do I pick a lock? how DO i",
    ]
    ours = _token_counts(texts)
    reference = CountVectorizer(dtype=np.float64).fit_transform(texts).tocsr()
    reference.sort_indices()
    assert ours.shape == reference.shape
    for name in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(reference, name), err_msg=name)
    assert _token_counts(["", "a"]).nnz == 0 and _token_counts(["", "a"]).shape == (2, 1)  # no token anywhere


def test_one_worker_and_two_keep_the_same_rows_counts_and_credits():
    # two workers tokenise in a forked process and search pairs in two threads; the synthetic corpus of the
    # bench (planted near-duplicates and test-set overlaps) must come out identical, row for row and credit for
    # credit, to one worker doing everything in order
    from bench.dedup import synthetic_corpus

    train, tests = synthetic_corpus(3000, seed=5)
    train_rows = [SourceRows(name, questions, n) for name, questions, n in train]
    test_rows = [SourceRows(name, questions) for name, questions in tests]
    one = run_pipeline(train_rows, test_rows, PipelineConfig(workers=1))
    two = run_pipeline(train_rows, test_rows, PipelineConfig(workers=2))
    assert (one.questions, one.sources, one.counts, one.caught_by) == (
        two.questions,
        two.sources,
        two.counts,
        two.caught_by,
    )
    # both TF-IDF searches had work to do: test-set overlaps caught per source, near-duplicates removed globally
    assert sum(sum(credits.values()) for credits in one.caught_by["tfidf_decontam"].values()) > 0
    removed_globally = sum(c["after_tfidf_decontam"] - c["after_global_tfidf"] for c in one.counts.values())
    assert removed_globally > 0


def test_pool_of_stored_rows_matches_like_the_refit_on_stacked_counts():
    # the same pool built twice — with CSR count rows (a `TfidfTransformer` refit on the stacked rows at every
    # query) and with rows of one shared `RankedCounts` (running document frequencies, values refitted in place)
    # — must give the same TF-IDF matches, query batch after query batch, on the bench corpus
    from bench.dedup import synthetic_corpus
    from star1_hub.collect.decontaminate import StoredRows, _token_counts
    from star1_hub.collect.dedup import RankedCounts

    train, tests = synthetic_corpus(4000, seed=9)
    texts = [q for _, qs, _ in train for q in qs] + [q for _, qs in tests for q in qs]
    counts = _token_counts(texts)
    store = RankedCounts(counts)
    stacked, stored = ReferencePool(8), ReferencePool(8)
    bounds = [0, 900, 1500, 2600, 3300, len(texts)]
    found = 0
    for begin, end in zip(bounds[:-1], bounds[1:], strict=True):
        rows = np.arange(begin, end)
        batch = texts[begin:end]
        if begin:
            want = stacked.tfidf_matches(batch, 0.6, counts=counts[rows])
            got = stored.tfidf_matches(batch, 0.6, counts=StoredRows(store, rows))
            np.testing.assert_array_equal(got, want)
            found += int((want >= 0).sum())
        stacked.add(batch, f"part{begin}", counts=counts[rows])
        stored.add(batch, f"part{begin}", counts=StoredRows(store, rows))
    assert found > 50  # the batches hold planted near-duplicates of earlier ones


def test_pool_refuses_stored_rows_of_another_store_or_kind():
    from scipy import sparse

    from star1_hub.collect.decontaminate import StoredRows
    from star1_hub.collect.dedup import RankedCounts

    counts = sparse.csr_matrix(np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0]]))
    store, other = RankedCounts(counts), RankedCounts(counts)
    pool = ReferencePool(8)
    pool.add(["a b c", "d e f"], "T", counts=StoredRows(store, np.array([0, 1])))
    with pytest.raises(ValueError, match="another token-count store"):
        pool.add(["g h i"], "S", counts=StoredRows(other, np.array([2])))
    with pytest.raises(ValueError, match="another kind"):
        pool.add(["g h i"], "S", counts=counts[[2]])
    with pytest.raises(ValueError, match="came with 1 rows"):
        pool.add(["g h i", "j k l"], "S", counts=StoredRows(store, np.array([2])))
    with pytest.raises(ValueError, match="another token-count store"):
        pool.tfidf_matches(["g h i"], 0.6, counts=StoredRows(other, np.array([2])))


@pytest.mark.parametrize(
    "other", [PipelineConfig(pair_search="blocked"), PipelineConfig(tokenise_once=False, pair_search="blocked")],
    ids=["tokenised once, blocked search", "refit per step, blocked search"],
)  # fmt: skip
def test_every_tfidf_path_keeps_the_same_rows_counts_and_credits(other):
    # the token-count store's TF-IDF feeds the prefix search directly, or the blocked search through its CSR rows;
    # the per-step refit feeds the blocked search: all three must agree with the default
    from bench.dedup import synthetic_corpus

    train, tests = synthetic_corpus(3000, seed=5)
    train_rows = [SourceRows(name, questions, n) for name, questions, n in train]
    test_rows = [SourceRows(name, questions) for name, questions in tests]
    default = run_pipeline(train_rows, test_rows, PipelineConfig(workers=1))
    result = run_pipeline(train_rows, test_rows, other)
    assert (result.questions, result.sources, result.counts, result.caught_by) == (
        default.questions,
        default.sources,
        default.counts,
        default.caught_by,
    )
