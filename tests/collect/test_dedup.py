"""Semantics of the dedup primitives on small hand-made cases (docs/curation.md, "Collection")."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from star1_hub.collect import dedup
from star1_hub.collect.dedup import (
    CosinePairs,
    cosine_pairs_at_least,
    dense_pairs_at_least,
    greedy_keep,
    ngram_clusters,
    ngram_self_dedup,
    normalise,
    text_keys,
)


def test_normalise_lowercases_strips_and_collapses_whitespace():
    assert normalise("  How   DO\tI\n bake  ") == "how do i bake"


def test_short_text_still_gets_a_whole_text_key():
    assert len(text_keys("tell me a joke", 8)) == 1
    assert text_keys("Tell  me a JOKE ", 8) == text_keys("tell me a joke", 8)


def test_chain_cluster_keeps_exactly_its_first_member():
    # a~b share "one two three", b~c share "seven eight nine": one cluster {a, b, c}; d is unrelated
    texts = ["one two three four", "x one two three seven eight nine", "seven eight nine y", "something else entirely"]
    keep = ngram_self_dedup(texts, 3)
    assert keep.tolist() == [True, False, False, True]
    assert ngram_clusters(texts, 3).tolist() == [0, 0, 0, 3]


def test_cluster_never_loses_every_member():
    # many rows sharing several different n-grams: the original's per-n-gram set.pop could drop them all
    texts = [f"alpha beta gamma {w} delta epsilon zeta" for w in ("p", "q", "r", "s")] + ["alpha beta gamma"]
    keep = ngram_self_dedup(texts, 3)
    assert keep.sum() == 1 and keep[0]


def test_short_duplicates_are_caught_by_the_exact_text_pass():
    texts = ["Tell me a joke", "tell  me a JOKE", "Tell me a joke!", "Tell me another joke"]
    assert ngram_self_dedup(texts, 8).tolist() == [True, False, True, True]


def test_ngram_size_edge_n_minus_one_shared_words_do_not_link():
    shared = "w1 w2 w3 w4 w5"
    texts = [f"a {shared} b", f"c {shared} d"]
    assert ngram_self_dedup(texts, 6).tolist() == [True, True]  # 5 shared words < n=6
    assert ngram_self_dedup(texts, 5).tolist() == [True, False]  # exactly n shared words


def _dense_pairs(a, b, threshold, self_pairs):
    sims = (a @ (a if self_pairs else b).T).toarray()
    if self_pairs:
        sims = np.tril(sims, -1)
    rows, cols = np.nonzero(sims >= threshold)
    return set(zip(rows.tolist(), cols.tolist(), strict=True))


@pytest.mark.parametrize(
    ("method", "n_common", "workers"),
    [
        ("prefix", None, 1),
        ("prefix", None, 2),  # chunks of rows searched by two threads at once
        ("blocked", None, 1),
        ("blocked", 0, 1),
        ("blocked", 3, 1),
        ("blocked", 40, 1),
        ("blocked", 10_000, 1),
    ],
)
def test_sparse_cosine_pairs_equal_brute_force(method, n_common, workers):
    rng = np.random.default_rng(n_common or 7)
    vocab = ["how", "to", "the", "can", "do"] + [f"w{i}" for i in range(300)]
    weights = np.r_[np.full(5, 40.0), 1.0 / np.arange(1, 301)]
    texts = [" ".join(rng.choice(vocab, size=rng.integers(2, 12), p=weights / weights.sum())) for _ in range(400)]
    texts += [texts[i] + " extra" for i in range(0, 400, 7)] + ["how to do the", "the how can to"]
    matrix = TfidfVectorizer().fit_transform(texts)
    pairs = cosine_pairs_at_least(matrix, None, 0.6, n_common=n_common, chunk_rows=64, method=method, workers=workers)
    assert set(zip(pairs.rows.tolist(), pairs.cols.tolist(), strict=True)) == _dense_pairs(matrix, None, 0.6, True)
    queries, pool = matrix[:300], matrix[300:]
    cross = cosine_pairs_at_least(queries, pool, 0.6, n_common=n_common, chunk_rows=50, method=method, workers=workers)
    assert set(zip(cross.rows.tolist(), cross.cols.tolist(), strict=True)) == _dense_pairs(queries, pool, 0.6, False)
    dense = (queries @ pool.T).toarray()
    np.testing.assert_allclose(cross.sims, dense[cross.rows, cross.cols], rtol=0, atol=1e-12)


def test_threshold_is_inclusive():
    # unit vectors with cosine exactly 0.6 (0.6*1 + 0.8*0) and just below
    pool = sparse.csr_matrix(np.array([[1.0, 0.0, 0.0]]))
    queries = sparse.csr_matrix(np.array([[0.6, 0.8, 0.0], [0.59, np.sqrt(1 - 0.59**2), 0.0]]))
    for n_common in (0, 1, 3):
        pairs = cosine_pairs_at_least(queries, pool, 0.6, n_common=n_common, method="blocked")
        assert pairs.rows.tolist() == [0]
    assert cosine_pairs_at_least(queries, pool, 0.6).rows.tolist() == [0]
    assert cosine_pairs_at_least(pool, queries, 0.6).cols.tolist() == [0]


def test_prefix_search_finds_pairs_carried_by_frequent_words_only():
    # the pair's similarity lives entirely in the most frequent features (the heads): the later-starting tail
    # must still hold a shared feature, whatever the document frequencies
    common = " ".join(["the how to can do"] * 3)
    texts = [f"{common} w{i}" for i in range(40)] + ["the how to can do", "how the can to do"]
    matrix = TfidfVectorizer().fit_transform(texts)
    pairs = cosine_pairs_at_least(matrix, None, 0.6, chunk_rows=7)
    expected = _dense_pairs(matrix, None, 0.6, True)
    assert len(expected) > 40
    assert set(zip(pairs.rows.tolist(), pairs.cols.tolist(), strict=True)) == expected


def test_prefix_search_scales_its_bound_by_the_row_norms():
    # rows that are not unit length (cosine is then the plain dot product): the heads shrink by the largest
    # norm of the other side, so no pair above the threshold is lost
    a = sparse.random(60, 30, density=0.2, random_state=4, format="csr") * 2.0
    b = sparse.random(50, 30, density=0.2, random_state=5, format="csr") * 1.5
    cross = cosine_pairs_at_least(a, b, 0.6, chunk_rows=9)
    expected = _dense_pairs(a, b, 0.6, False)
    assert len(expected) > 10
    assert set(zip(cross.rows.tolist(), cross.cols.tolist(), strict=True)) == expected


def test_unknown_pair_search_method_is_refused():
    with pytest.raises(ValueError, match="unknown method 'exhaustive'"):
        cosine_pairs_at_least(sparse.csr_matrix(np.eye(2)), None, 0.6, method="exhaustive")


def test_greedy_walk_is_first_come_wins_not_clustering():
    # 1~0 and 2~1 but 2 is not similar to 0: 1 is dropped (0 accepted), so 2 survives
    pairs = CosinePairs(rows=np.array([1, 2]), cols=np.array([0, 1]), sims=np.array([0.9, 0.9]))
    assert greedy_keep(3, pairs).tolist() == [True, False, True]


def test_greedy_walk_rejects_pairs_pointing_forward():
    with pytest.raises(ValueError, match="later row, earlier row"):
        greedy_keep(2, CosinePairs(np.array([0]), np.array([1]), np.array([0.9])))


def test_dense_embedding_pairs_match_brute_force():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(300, 8)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    pairs = dense_pairs_at_least(emb, None, 0.7, chunk_rows=37)
    sims = np.tril(emb @ emb.T, -1)
    assert set(zip(pairs.rows.tolist(), pairs.cols.tolist(), strict=True)) == set(
        zip(*[a.tolist() for a in np.nonzero(sims >= 0.7)], strict=True)
    )


def test_dense_embedding_pairs_in_column_blocks_find_the_same_pairs():
    # blocks of 37 × 23 (the bounded-memory path of a million rows) give exactly the unblocked pairs
    rng = np.random.default_rng(1)
    emb = rng.normal(size=(200, 6)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    whole = dense_pairs_at_least(emb, None, 0.6, chunk_rows=10_000, chunk_cols=10_000)
    blocked = dense_pairs_at_least(emb, None, 0.6, chunk_rows=37, chunk_cols=23)
    as_set = lambda p: set(zip(p.rows.tolist(), p.cols.tolist(), strict=True))  # noqa: E731
    assert len(as_set(whole)) > 0 and as_set(blocked) == as_set(whole)
    cross_whole = dense_pairs_at_least(emb[:120], emb[120:], 0.6)
    cross_blocked = dense_pairs_at_least(emb[:120], emb[120:], 0.6, chunk_rows=11, chunk_cols=7)
    assert as_set(cross_blocked) == as_set(cross_whole)


TRICKY_TEXTS = [
    "ΟΔΟΣ ΣΟΦΟΣ\nΣ",  # final sigma at a word end, at a line end and alone
    "İstanbul\tand\u00a0nbsp\u2028line\x1cfile sep",  # dotted capital I, no-break space, line/file separators
    "",
    "   \n  ",
    "Straße ǅemal x_y 12",
    "one two three four five six seven eight nine",
    "ZERO two  three\nfour five six seven eight NINE",
]


def test_token_hashes_tokenise_like_lower_then_split():
    # one regex pass over all texts joined by newlines must give each text's own `text.lower().split()`
    import xxhash

    for texts in (TRICKY_TEXTS, [*TRICKY_TEXTS, "a NUL\x00inside \x00 it"]):  # NUL: the regex path
        hashed = dedup.TokenHashes.of(texts)
        assert len(hashed) == len(texts)
        for row, text in enumerate(texts):
            expected = [xxhash.xxh3_64_intdigest(token) for token in text.lower().split()]
            assert hashed.hashes[hashed.offsets[row] : hashed.offsets[row + 1]].tolist() == expected, text


def test_keys_of_a_text_do_not_depend_on_the_other_texts():
    together = dedup.key_table(TRICKY_TEXTS, 3)
    for row, text in enumerate(TRICKY_TEXTS):
        alone = sorted(text_keys(text, 3))
        assert sorted(together[0][together[1] == row].tolist()) == alone, text
    # a selection of rows gives the keys of those texts alone, renumbered
    hashed = dedup.TokenHashes.of(TRICKY_TEXTS)
    picked = np.array([5, 0, 6])
    keys, rows = hashed.select(picked).keys(4)
    ref_keys, ref_rows = dedup.key_table([TRICKY_TEXTS[i] for i in picked], 4)
    assert sorted(zip(keys.tolist(), rows.tolist(), strict=True)) == sorted(
        zip(ref_keys.tolist(), ref_rows.tolist(), strict=True)
    )


def test_ngram_keys_link_exactly_the_texts_sharing_an_ngram():
    # rows 5 and 6 share the 8 words "two … nine" once normalised (case, a newline, a double space), not 9;
    # rows 2 and 3 are both empty once normalised, so their whole-text keys are equal
    assert ngram_clusters(TRICKY_TEXTS, 8).tolist() == [0, 1, 2, 2, 4, 5, 5]
    assert ngram_clusters(TRICKY_TEXTS, 9).tolist() == [0, 1, 2, 2, 4, 5, 6]
    # the whole-text key: equal normalised texts link even below n words, different ones never do
    assert ngram_self_dedup(["a b", "A  b", "a b c", "b a"], 8).tolist() == [True, False, True, True]


def test_forked_calls_run_in_child_processes_in_order_and_raise_their_errors():
    import os

    calls = [os.getpid, os.getpid, lambda: "third"]
    parent = os.getpid()
    one = dedup.forked_calls(calls, 1)
    assert one == [parent, parent, "third"]
    two = dedup.forked_calls(calls, 2)  # the second call runs in a forked child, the third after both
    assert two[0] == parent and two[1] != parent and two[2] == "third"

    def broken():
        raise ValueError("a child's failure")

    with pytest.raises(RuntimeError, match="ValueError: a child's failure"):
        dedup.forked_calls([os.getpid, broken], 2)


@pytest.mark.parametrize("pattern", [dedup._WHITESPACE_TOKENS, r"\w\w+|\n"])
@pytest.mark.parametrize("with_nul", [False, True])
def test_tokenising_in_blocks_of_rows_gives_the_one_pass_tokens(pattern, with_nul, monkeypatch):
    texts = ["Hello  World", "", "ΟΔΟΣ Σ final", "a\nb c", "x", "hello again WORLD", "  ", "again"]
    texts += ["nul\x00inside a text"] if with_nul else []
    whole = dedup.regex_tokens(texts, pattern)
    monkeypatch.setattr(dedup, "_TOKENISE_BLOCK_ROWS", 3)  # blocks end inside the run of texts, and on an empty one
    blocked = dedup.regex_tokens(texts, pattern)
    assert blocked[1] == whole[1]  # the same vocabulary, in the same order
    np.testing.assert_array_equal(blocked[0], whole[0])
    np.testing.assert_array_equal(blocked[2], whole[2])
    expected = [text.lower().split() for text in texts] if pattern == dedup._WHITESPACE_TOKENS else None
    if expected is not None:
        got = [[] for _ in texts]
        for token_id, row in zip(blocked[0].tolist(), blocked[2].tolist(), strict=True):
            got[row].append(blocked[1][token_id])
        assert got == expected


def test_ngram_and_whole_text_keys_follow_their_documented_formula():
    # the compiled key kernel must give the documented keys: an n-gram's key mixes its token hashes by
    # multiply-add modulo 2^64 and MurmurHash3's finaliser, the whole text's key Σ h_i·m^(L-1-i) + L·m', salted
    import xxhash

    mask = (1 << 64) - 1

    def fmix(value: int) -> int:
        value ^= value >> 33
        value = (value * 0xFF51AFD7ED558CCD) & mask
        value ^= value >> 33
        value = (value * 0xC4CEB9FE1A85EC53) & mask
        return value ^ (value >> 33)

    text, n = "Tell me  a JOKE about\ncats", 3
    hashes = [xxhash.xxh3_64_intdigest(token) for token in text.lower().split()]
    expected = []
    for begin in range(len(hashes) - n + 1):
        acc = hashes[begin]
        for value in hashes[begin + 1 : begin + n]:
            acc = (acc * int(dedup._MIX_NGRAM) + value) & mask
        expected.append(fmix(acc))
    whole = 0
    for value in hashes:
        whole = (whole * int(dedup._MIX_TEXT) + value) & mask
    whole = ((whole + len(hashes) * int(dedup._MIX_NGRAM)) & mask) ^ int(dedup._FULL_TEXT_SALT)
    expected.append(fmix(whole))
    assert text_keys(text, n) == expected
    assert text_keys("", 3) == [fmix(int(dedup._FULL_TEXT_SALT))]  # no token: the salted empty sum


def test_clusters_link_rows_whatever_order_their_keys_come_in():
    # a key table need not list rows in order: a key met first with row 5, then with row 3, still links them
    keys = np.array([7, 7, 9, 9, 11], dtype=np.uint64)
    rows = np.array([5, 3, 1, 4, 0])
    assert dedup.ngram_clusters_from_keys(6, keys, rows).tolist() == [0, 1, 2, 3, 1, 3]


def test_key_index_keeps_the_smallest_row_of_each_key_across_growth():
    index = dedup.KeyIndex()  # the smallest table: adding thousands of keys makes it grow several times
    rng = np.random.default_rng(3)
    keys = rng.integers(0, 2**63, 5000, dtype=np.int64).astype(np.uint64)
    index.add(keys[:3000], np.arange(3000) + 100)
    index.add(keys[:10], np.arange(10))  # smaller rows for keys already held replace theirs
    index.add(keys[10:20], np.arange(10) + 10_000)  # larger rows for keys already held change nothing
    index.add(keys[3000:4000], np.arange(1000) + 5000)
    assert len(index) == 4000
    query_keys = np.r_[keys[[0, 15, 2500, 3500]], keys[4000:4002]]
    query_rows = np.array([0, 1, 2, 3, 4, 4])
    assert index.first_rows(query_keys, query_rows, 6).tolist() == [0, 115, 2600, 5500, -1, -1]
    # a row sharing several keys gets the smallest of their rows
    assert index.first_rows(keys[[2999, 5, 1200]], np.zeros(3, dtype=np.int64), 1).tolist() == [5]


def test_ranked_counts_give_scikit_learns_tfidf_bit_for_bit_on_the_bench_corpus():
    # the incremental fit (any subset of rows, document frequencies as given, values in frequency-rank order)
    # must equal a `TfidfTransformer` fitted on exactly those rows, value for value, and the in-place prefix
    # search must find exactly the pairs of the matrix search
    from sklearn.feature_extraction.text import TfidfTransformer

    from bench.dedup import synthetic_corpus
    from star1_hub.collect.decontaminate import _token_counts

    train, tests = synthetic_corpus(6000, seed=2)
    texts = [q for _, qs, _ in train for q in qs] + [q for _, qs in tests for q in qs]
    counts = _token_counts(texts)
    store = dedup.RankedCounts(counts)
    rows = np.sort(np.random.default_rng(0).choice(len(texts), 4000, replace=False))
    store.fit(rows, store.document_frequencies(rows), len(rows))
    ours = store.csr(rows)
    reference = TfidfTransformer().fit_transform(counts[rows]).tocsr()
    reference.sort_indices()
    for name in ("indptr", "indices", "data"):
        np.testing.assert_array_equal(getattr(ours, name), getattr(reference, name), err_msg=name)
    queries, pool = rows[:1500], rows[1500:]
    for got, want in (
        (
            dedup.tfidf_pairs(store, queries, pool, 0.6, chunk_rows=300),
            cosine_pairs_at_least(ours[:1500], ours[1500:], 0.6),
        ),
        (dedup.tfidf_pairs(store, rows, None, 0.6, workers=2), cosine_pairs_at_least(ours, None, 0.6)),
    ):
        assert len(want.rows) > 20
        np.testing.assert_array_equal(got.rows, want.rows)
        np.testing.assert_array_equal(got.cols, want.cols)
        np.testing.assert_allclose(got.sims, want.sims, rtol=0, atol=1e-15)


@pytest.mark.parametrize("pattern", [dedup._WHITESPACE_TOKENS, dedup._WORD_TOKENS])
def test_compiled_ascii_scan_gives_the_regex_tokens(pattern, monkeypatch):
    # ASCII blocks are tokenised by a compiled scan instead of the regex engine / str.split: the ids, the
    # vocabulary (order of first appearance, separator included) and the rows must be the same, on every ASCII
    # whitespace (\t to \r, \x1c to \x1f), NUL, underscores, digits, one-letter words, punctuation and empty texts
    texts = [
        "Hello  World_x a1 b_ _c 12 3 x",
        "",
        "tab\there\x1cfs\x1d\x1e\x1fus\x0bvt\x0cff\rcr",
        "a\nb c",
        "x",
        "NUL\x00inside it \x00",
        "  ",
        "Don't stop--ok... WORLD? world? __ a_",
        "hello again",
    ]
    monkeypatch.setattr(dedup, "_TOKENISE_BLOCK_ROWS", 4)  # several blocks share one vocabulary
    compiled = dedup.regex_tokens(texts, pattern)
    monkeypatch.setattr(dedup, "_COMPILED_PATTERNS", ())
    reference = dedup.regex_tokens(texts, pattern)
    assert compiled[1] == reference[1]
    np.testing.assert_array_equal(compiled[0], reference[0])
    np.testing.assert_array_equal(compiled[2], reference[2])
    assert len(compiled[0]) > 20
    if pattern == dedup._WORD_TOKENS:  # and the count rows built from them are CountVectorizer's
        from sklearn.feature_extraction.text import CountVectorizer

        from star1_hub.collect.decontaminate import _token_counts

        monkeypatch.setattr(dedup, "_COMPILED_PATTERNS", (dedup._WHITESPACE_TOKENS, dedup._WORD_TOKENS))
        ours = _token_counts(texts)
        expected = CountVectorizer(dtype=np.float64).fit_transform(texts).tocsr()
        expected.sort_indices()
        assert (ours != expected).nnz == 0 and ours.shape == expected.shape


def test_freed_memory_is_kept_inside_the_context_and_allocations_still_work():
    with dedup.freed_memory_kept() as kept:
        assert kept  # glibc (Linux): mallopt accepted both settings
        blocks = [np.ones(8_000_000) for _ in range(3)]  # 64 MB each, above glibc's mmap threshold
        del blocks[1]
        again = np.full(8_000_000, 2.0)
        assert again.sum() == 16_000_000.0 and blocks[1].sum() == 8_000_000.0
