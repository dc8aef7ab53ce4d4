"""Diversity selection: greedy source × category pruning to exactly N rows (docs/curation.md, "Select"), incremental.

The original loop, while more than N items remain, computes for every item
`w_i = P_src(source_i) × Σ_{c ∈ categories_i} P_cat(c)` (label shares count multi-label items once per label)
and deletes the first item with the largest weight. Multiplying by the constants |D| and Σ_c n_c gives the
same ordering with integers: `w_i ∝ n_src(source_i) × Σ_{c ∈ categories_i} n_cat(c)`. We compare these exact
integers, so ties are real ties rather than floating-point accidents.

Two changes make the result a function of the data, not of the file or API-completion order, and fast:

* **Order.** Rows are first sorted by id, numeric-aware (`"9" < "10"`; ids that are not decimal integers sort
  after all numeric ids, as strings). Tie-break: among the items with the largest weight, the one that comes
  first in this id order is removed (the original removed the first in file order).
* **Incremental.** Every item of a (source, category set) group has the same weight, and within a group the
  next victim is always the group's earliest remaining item. We keep per-source and per-category counts and,
  per group, a pointer to its earliest remaining item and the sum of its labels' counts. A removal from group
  h lowers that sum by `overlap[g, h]` (labels shared by g and h) for every group g and the count of h's
  source by one, then one argmax over the G groups picks the next victim: O(G) per removal instead of O(N),
  with output identical to the original loop (`reference_select`, used by tests and the bench).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from star1_hub.data.schema import CATEGORIES, OTHER_LABEL
from star1_hub.errors import Star1Error

logger = logging.getLogger(__name__)
_INT64_KEY_LIMIT = 2**62  # bound of the combined (weight, id order) argmax key


class SelectionError(Star1Error, ValueError):
    """Rows that selection cannot handle (duplicate id, missing field, `Other` or unknown label)."""


@dataclass
class SelectionReport:
    """What `select_balanced` did."""

    rows_in: int
    requested: int
    selected: int
    removed: int
    note: str


def id_sort_key(row_id: str) -> tuple[int, int, str]:
    """Numeric-aware sort key: decimal ids by value first, then other ids lexicographically."""
    text = str(row_id)
    if text.isdecimal():
        return (0, int(text), text)
    return (1, 0, text)


def _validated(rows: Iterable[Mapping]) -> list[tuple[str, str, tuple[str, ...]]]:
    items = []
    seen: set[str] = set()
    for position, row in enumerate(rows):
        try:
            row_id, source, labels = str(row["id"]), row["source"], row["category"]
        except KeyError as exc:
            raise SelectionError(
                f"row {position}: missing field {exc.args[0]!r} (need id, source, category)"
            ) from None
        if row_id in seen:
            raise SelectionError(f"duplicate id {row_id!r}; ids must be unique before selection")
        seen.add(row_id)
        labels = tuple(dict.fromkeys(labels or ()))  # a repeated label counts once
        bad = [label for label in labels if label not in CATEGORIES]
        if bad:
            hint = " (run the filter stage first: it drops `Other`)" if OTHER_LABEL in bad else ""
            raise SelectionError(f"row id {row_id!r}: category label(s) {bad} not among the 8 categories{hint}")
        if not labels:
            raise SelectionError(f"row id {row_id!r}: empty category list")
        items.append((row_id, str(source), labels))
    items.sort(key=lambda item: id_sort_key(item[0]))
    return items


def select_indices(rows: Sequence[Mapping], n: int) -> list[int]:
    """Return the indices (into `rows`) of the kept rows, in id order. See the module docstring.

    Args:
        rows: mappings with `id`, `source` and `category` (list of the 8 labels).
        n: how many to keep; when `len(rows) <= n` all rows are kept.

    Raises:
        SelectionError: duplicate id, missing field, `Other`/unknown label or empty label list.
    """
    if n < 0:
        raise SelectionError(f"n must be >= 0, got {n}")
    index_of = {str(row["id"]): i for i, row in enumerate(rows) if "id" in row}
    items = _validated(rows)
    order = [index_of[row_id] for row_id, _, _ in items]
    to_remove = len(items) - n
    if to_remove <= 0:
        return order

    sources = sorted({source for _, source, _ in items})
    source_index = {s: k for k, s in enumerate(sources)}
    group_index: dict[tuple[int, frozenset[str]], int] = {}
    group_members: list[list[int]] = []  # positions in id order
    group_source: list[int] = []
    group_labels: list[frozenset[str]] = []
    for position, (_, source, labels) in enumerate(items):
        key = (source_index[source], frozenset(labels))
        if key not in group_index:
            group_index[key] = len(group_members)
            group_members.append([])
            group_source.append(key[0])
            group_labels.append(key[1])
        group_members[group_index[key]].append(position)

    n_groups = len(group_members)
    mask = np.zeros((n_groups, len(CATEGORIES)), dtype=np.int64)
    for g, labels in enumerate(group_labels):
        for label in labels:
            mask[g, CATEGORIES.index(label)] = 1
    sink = len(sources)  # an emptied group points at this always-zero source, so its weight is 0
    g_source = np.asarray(group_source, dtype=np.int64)
    g_size = np.asarray([len(m) for m in group_members], dtype=np.int64)
    src_count = np.zeros(len(sources) + 1, dtype=np.int64)
    np.add.at(src_count, g_source, g_size)
    cat_count = (mask * g_size[:, None]).sum(axis=0)
    cat_sum = mask @ cat_count  # per group: Σ of its labels' counts
    overlap = mask @ mask.T  # removing one item of group h lowers cat_sum[g] by overlap[g, h]
    # One argmax picks the largest weight and, among equal weights, the earliest head in id order: the key is
    # weight * stride - head position. Weights are ≤ N·4N, so the key fits in int64 up to N ≈ 1.3M; beyond that
    # a two-step max-then-earliest is used.
    stride = len(items) + 1
    one_key = 4 * stride**3 < _INT64_KEY_LIMIT
    g_head_pos = np.asarray([m[0] for m in group_members], dtype=np.int64)
    head = [0] * n_groups
    removed = np.zeros(len(items), dtype=bool)

    for _ in range(to_remove):
        if one_key:
            g = int(np.argmax(src_count[g_source] * cat_sum * stride - g_head_pos))
        else:
            weight = src_count[g_source] * cat_sum
            tied = np.flatnonzero(weight == weight.max())
            g = int(tied[np.argmin(g_head_pos[tied])])
        removed[g_head_pos[g]] = True
        g_size[g] -= 1
        src_count[g_source[g]] -= 1
        cat_sum -= overlap[g]
        head[g] += 1
        if g_size[g] > 0:
            g_head_pos[g] = group_members[g][head[g]]
        else:
            g_source[g] = sink
    return [order[p] for p in range(len(items)) if not removed[p]]


def reference_select(rows: Sequence[Mapping], n: int) -> list[int]:
    """The original loop, recomputing every weight after each removal (O(N) per removal); for tests and benches.

    Same id ordering and exact-integer weights as `select_indices`, so the two must agree row for row.
    """
    items = _validated(rows)
    index_of = {str(row["id"]): i for i, row in enumerate(rows)}
    remaining = list(items)
    while len(remaining) > n:
        cat_count = dict.fromkeys(CATEGORIES, 0)
        src_count: dict[str, int] = {}
        for _, source, labels in remaining:
            src_count[source] = src_count.get(source, 0) + 1
            for label in labels:
                cat_count[label] += 1
        weights = [src_count[source] * sum(cat_count[label] for label in labels) for _, source, labels in remaining]
        del remaining[weights.index(max(weights))]
    return [index_of[row_id] for row_id, _, _ in remaining]


def select_balanced(rows: Sequence[Mapping], n: int) -> tuple[list[int], SelectionReport]:
    """Select exactly `n` rows (or all, when fewer are available) and say what happened.

    Returns:
        (kept indices into `rows` in id order, report).
    """
    kept = select_indices(rows, n)
    if len(rows) < n:
        note = f"only {len(rows)} rows available, fewer than the requested {n}: all kept"
        logger.warning(note)
    elif len(rows) == n:
        note = f"exactly {n} rows available: all kept"
    else:
        note = f"pruned {len(rows) - n} rows to reach {n}"
    return kept, SelectionReport(len(rows), n, len(kept), len(rows) - len(kept), note)


def select_dataset(dataset, n: int):
    """Run `select_balanced` on a `datasets.Dataset`; return (selected rows in id order, StageCounts)."""
    from star1_hub.teacher.task import TaskCounts as StageCounts

    rows = dataset.select_columns(["id", "source", "category"]).to_list()
    kept, report = select_balanced(rows, n)
    counts = StageCounts(
        stage="select",
        rows_in=report.rows_in,
        ok=report.selected,
        rows_out=report.selected,
        dropped=report.removed,
        note=report.note,
    )
    return dataset.select(kept), counts
