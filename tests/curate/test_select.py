"""Diversity selection (docs/curation.md): exact N, order independence, agreement with the original loop."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest

from star1_hub.curate.select import (
    SelectionError,
    id_sort_key,
    reference_select,
    select_balanced,
    select_indices,
)
from star1_hub.data.schema import CATEGORIES

SOURCES = ["SaladBench", "wildjailbreak", "ALERT", "PKUSafeRLHF", "BeaverTails", "HarmBench"]


def random_rows(count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        k = rng.choices([1, 2, 3, 4], weights=[70, 25, 4, 1])[0]
        labels = rng.sample(CATEGORIES, k)
        rows.append(
            {"id": str(i * 7 + 3), "source": rng.choices(SOURCES, weights=[6, 5, 3, 2, 1, 1])[0], "category": labels}
        )
    rng.shuffle(rows)
    return rows


def kept_ids(rows, indices):
    return [rows[i]["id"] for i in indices]


@pytest.mark.parametrize(("count", "n"), [(50, 10), (200, 60), (300, 299), (120, 1), (40, 0)])
def test_selects_exactly_n(count, n):
    rows = random_rows(count, seed=count)
    kept = select_indices(rows, n)
    assert len(kept) == n
    assert len(set(kept)) == n


@pytest.mark.parametrize("seed", range(6))
def test_matches_reference_loop_on_small_inputs(seed):
    rows = random_rows(150 + 20 * seed, seed)
    n = 30 + 7 * seed
    assert kept_ids(rows, select_indices(rows, n)) == kept_ids(rows, reference_select(rows, n))


@pytest.mark.parametrize("seed", range(3))
def test_result_does_not_depend_on_input_order(seed):
    rows = random_rows(250, seed=100 + seed)
    expected = sorted(kept_ids(rows, select_indices(rows, 80)))
    shuffled = rows[:]
    random.Random(seed).shuffle(shuffled)
    assert sorted(kept_ids(shuffled, select_indices(shuffled, 80))) == expected


def test_hand_computed_example_removes_earliest_of_heaviest_group():
    # weights ∝ n_src × Σ n_cat: id 1 and 2 (s1, Illicit) weigh 2×2=4, id 3 (s2, Privacy) 1×1=1.
    rows = [
        {"id": "2", "source": "s1", "category": ["Illicit / Criminal Behavior"]},
        {"id": "3", "source": "s2", "category": ["Privacy / Personal Data"]},
        {"id": "1", "source": "s1", "category": ["Illicit / Criminal Behavior"]},
    ]
    assert kept_ids(rows, select_indices(rows, 2)) == ["2", "3"]


def test_multi_label_items_are_pruned_first_within_a_source():
    rows = [
        {"id": "1", "source": "s", "category": ["Self-Harm"]},
        {"id": "2", "source": "s", "category": ["Self-Harm", "Violence / Physical Harm"]},
        {"id": "3", "source": "s", "category": ["Violence / Physical Harm"]},
    ]
    assert kept_ids(rows, select_indices(rows, 2)) == ["1", "3"]


def test_ids_sort_numerically_then_as_text():
    assert sorted(["10", "9", "b", "100", "a1"], key=id_sort_key) == ["9", "10", "100", "a1", "b"]


def test_fewer_rows_than_n_keeps_all_and_says_so():
    rows = random_rows(12, seed=5)
    kept, report = select_balanced(rows, 20)
    assert sorted(kept) == list(range(12))
    assert report.selected == 12 and report.removed == 0
    assert "fewer than the requested 20" in report.note


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"id": "1", "source": "s", "category": ["Other"]}], "run the filter stage first"),
        ([{"id": "1", "source": "s", "category": ["Hacking"]}], "not among the 8 categories"),
        (
            [
                {"id": "1", "source": "s", "category": ["Self-Harm"]},
                {"id": "1", "source": "t", "category": ["Self-Harm"]},
            ],
            "duplicate id '1'",
        ),
        ([{"id": "1", "category": ["Self-Harm"]}], "missing field 'source'"),
        ([{"id": "7", "source": "s", "category": []}], "row id '7': empty category list"),
    ],
)
def test_bad_rows_raise_with_row_and_field(rows, message):
    with pytest.raises(SelectionError, match=message):
        select_indices(rows, 0)


def _entropy(counter: Counter) -> float:
    total = sum(counter.values())
    return -sum(v / total * math.log(v / total) for v in counter.values())


@pytest.fixture(scope="module")
def released_star1(reference_data):
    from star1_hub.data import load_records

    return load_records(reference_data / "STAR-1.slice.json", "star1")  # 62 released rows


def test_released_star1_with_n_all_keeps_every_row(released_star1):
    assert len(released_star1) == 62
    assert sorted(select_indices(released_star1, 62)) == list(range(62))


def test_released_star1_pruned_to_half_is_flatter(released_star1):
    kept = [released_star1[i] for i in select_indices(released_star1, 31)]
    assert len(kept) == 31

    def entropies(rows):
        return (
            _entropy(Counter(label for r in rows for label in r["category"])),
            _entropy(Counter(r["source"] for r in rows)),
        )

    (cat_before, src_before), (cat_after, src_after) = entropies(released_star1), entropies(kept)
    assert cat_after > cat_before
    assert src_after > src_before


def test_two_step_tie_break_for_huge_inputs_matches_reference(monkeypatch):
    import star1_hub.curate.select as select_module

    monkeypatch.setattr(select_module, "_INT64_KEY_LIMIT", 0)  # force the path used beyond ~1.3M rows
    rows = random_rows(180, seed=42)
    assert kept_ids(rows, select_indices(rows, 45)) == kept_ids(rows, reference_select(rows, 45))
