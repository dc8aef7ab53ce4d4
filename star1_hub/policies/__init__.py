"""The eight STAR-1 safety categories: their definitions (for the classifier) and policy documents (spec §2).

The texts are our own wording of the structure described in the paper: every policy is a markdown section
`## <n>. <Category>` with a one-sentence `### Policy Objective` and exactly three numbered, bold-titled rules under
`### Rules & Responses`. Multi-label items get the sections of all their categories concatenated in the order the
classifier listed them, separated by a `---` line. `POLICY_VERSION` changes whenever any text changes; the version
and the sha256 of the exact text sent to a model go into every curated record's provenance.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from star1_hub.data.schema import CATEGORIES, OTHER_LABEL

POLICY_VERSION = "star1-hub-policies-2026.11.27"
"""Version of the policy and definition texts in `texts/`; bump it when a file changes."""

POLICY_SEPARATOR = "\n---\n"
_TEXTS_DIR = Path(__file__).resolve().parent / "texts"
_POLICY_FILES: dict[str, str] = {
    CATEGORIES[0]: "1_harassment.md",
    CATEGORIES[1]: "2_sexual.md",
    CATEGORIES[2]: "3_violence.md",
    CATEGORIES[3]: "4_self_harm.md",
    CATEGORIES[4]: "5_illicit.md",
    CATEGORIES[5]: "6_misinformation.md",
    CATEGORIES[6]: "7_privacy.md",
    CATEGORIES[7]: "8_ip.md",
}


class UnknownCategory(KeyError):
    """A label that has no policy (e.g. `Other`, or a misspelt category)."""

    def __str__(self) -> str:
        return str(self.args[0])


@cache
def category_definitions() -> str:
    """Return the markdown block defining the eight categories (used only in the classifier prompt)."""
    return (_TEXTS_DIR / "definitions.md").read_text(encoding="utf-8").strip()


@cache
def policy_for(category: str) -> str:
    """Return the policy section of one category.

    Raises:
        UnknownCategory: `category` is `Other` or not one of the eight exact label strings.
    """
    if category not in _POLICY_FILES:
        hint = " (`Other` items must be filtered out before reasoning/scoring)" if category == OTHER_LABEL else ""
        raise UnknownCategory(f"no policy for category {category!r}{hint}; choose from {list(CATEGORIES)}")
    text = (_TEXTS_DIR / _POLICY_FILES[category]).read_text(encoding="utf-8").strip()
    _check_structure(category, text)
    return text


def policies_for(categories: Sequence[str]) -> tuple[str, str]:
    """Return (text, sha256 hex) of the policies of `categories`, in the given (classifier) order.

    Duplicate labels are included once (first occurrence wins).

    Raises:
        UnknownCategory: a label has no policy.
        ValueError: `categories` is empty.
    """
    ordered = list(dict.fromkeys(categories))
    if not ordered:
        raise ValueError("policies_for needs at least one category")
    text = POLICY_SEPARATOR.join(policy_for(c) for c in ordered)
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()


@cache
def policy_set_hash() -> str:
    """sha256 over the definitions and all eight policies (identifies the whole text set of `POLICY_VERSION`)."""
    digest = hashlib.sha256(category_definitions().encode("utf-8"))
    for category in CATEGORIES:
        digest.update(b"\0" + policy_for(category).encode("utf-8"))
    return digest.hexdigest()


def _check_structure(category: str, text: str) -> None:
    number = CATEGORIES.index(category) + 1
    problems = []
    if not text.startswith(f"## {number}. {category}\n"):
        problems.append(f"heading must be '## {number}. {category}'")
    if "### Policy Objective" not in text or "### Rules & Responses" not in text:
        problems.append("needs '### Policy Objective' and '### Rules & Responses'")
    rules = re.findall(r"^(\d)\. \*\*[^*]+\*\*", text.split("### Rules & Responses")[-1], flags=re.MULTILINE)
    if rules != ["1", "2", "3"]:
        problems.append(f"needs exactly three numbered bold-titled rules, found {rules}")
    if problems:
        raise ValueError(f"policy file {_POLICY_FILES[category]}: " + "; ".join(problems))


__all__ = [
    "POLICY_SEPARATOR",
    "POLICY_VERSION",
    "UnknownCategory",
    "category_definitions",
    "policies_for",
    "policy_for",
    "policy_set_hash",
]
