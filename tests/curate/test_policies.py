"""The 8 policy documents: structure (docs/curation.md), classifier-order concatenation, hashes, `Other`."""

from __future__ import annotations

import hashlib
import re

import pytest

from star1_hub.data.schema import CATEGORIES
from star1_hub.policies import (
    POLICY_SEPARATOR,
    POLICY_VERSION,
    UnknownCategory,
    category_definitions,
    policies_for,
    policy_for,
    policy_set_hash,
)


@pytest.mark.parametrize(("number", "category"), list(enumerate(CATEGORIES, start=1)))
def test_each_policy_has_heading_objective_and_three_bold_rules(number, category):
    text = policy_for(category)
    assert text.startswith(f"## {number}. {category}\n")
    objective = text.split("### Policy Objective\n")[1].split("### Rules & Responses")[0].strip()
    assert objective.count(". ") == 0 and objective.endswith(".")  # one sentence
    rules = re.findall(r"^(\d)\. \*\*[^*]+\*\*", text.split("### Rules & Responses")[1], flags=re.MULTILINE)
    assert rules == ["1", "2", "3"]


def test_definitions_cover_the_eight_categories_in_order():
    headings = re.findall(r"^## \d\. (.+)$", category_definitions(), flags=re.MULTILINE)
    assert headings == list(CATEGORIES)


def test_policies_follow_classifier_order_with_separators_and_hash():
    order = [CATEGORIES[6], CATEGORIES[4]]
    text, digest = policies_for(order)
    assert text == policy_for(CATEGORIES[6]) + POLICY_SEPARATOR + policy_for(CATEGORIES[4])
    assert digest == hashlib.sha256(text.encode()).hexdigest()
    assert policies_for(list(reversed(order)))[1] != digest
    assert policies_for([*order, CATEGORIES[6]])[0] == text  # repeated labels once


def test_other_has_no_policy_and_says_what_to_do():
    with pytest.raises(UnknownCategory, match="filtered out before reasoning"):
        policies_for(["Self-Harm", "Other"])
    with pytest.raises(ValueError, match="at least one"):
        policies_for([])


def test_version_and_set_hash_are_stable_strings():
    assert POLICY_VERSION and re.fullmatch(r"[0-9a-f]{64}", policy_set_hash())
