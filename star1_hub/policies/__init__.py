"""The eight STAR-1 safety categories: their definitions (for the classifier) and policy documents
(docs/curation.md, "Categories and policies"), and the prompt templates of the curation stages (`prompts/`, loaded by `textsets.py`).

The texts are our own wording of the structure described in the paper: every policy is a markdown section
`## <n>. <Category>` with a one-sentence `### Policy Objective` and exactly three numbered, bold-titled rules under
`### Rules & Responses`. Multi-label items get the sections of all their categories concatenated in the order the
classifier listed them, separated by a `---` line. `POLICY_VERSION` changes whenever any text changes; the version
and the sha256 of the exact text sent to a model go into every curated record's provenance.
"""

from __future__ import annotations

from collections.abc import Sequence

from star1_hub.policies.textsets import (
    POLICY_SEPARATOR,
    PolicySet,
    PromptSet,
    TextSetError,
    UnknownCategory,
    builtin_policy_set,
    load_policy_set,
    load_prompt_set,
)

POLICY_VERSION = "star1-hub-policies-2026.11.27"
"""Version of the policy and definition texts in `texts/`; bump it when a file changes."""


def default_policy_set() -> PolicySet:
    """The project's own policy texts at `POLICY_VERSION`."""
    return builtin_policy_set(POLICY_VERSION)


def category_definitions() -> str:
    """Return the markdown block defining the eight categories (used only in the classifier prompt)."""
    return default_policy_set().definitions


def policy_for(category: str) -> str:
    """Return the policy section of one category of the project's set.

    Raises:
        UnknownCategory: `category` is `Other` or not one of the eight exact label strings.
    """
    return default_policy_set().policy_for(category)


def policies_for(categories: Sequence[str]) -> tuple[str, str]:
    """Return (text, sha256 hex) of the project's policies of `categories`, in the given (classifier) order.

    Duplicate labels are included once (first occurrence wins).

    Raises:
        UnknownCategory: a label has no policy.
        ValueError: `categories` is empty.
    """
    return default_policy_set().policies_for(categories)


def policy_set_hash() -> str:
    """sha256 over the definitions and all eight policies (identifies the whole text set of `POLICY_VERSION`)."""
    return default_policy_set().sha256


__all__ = [
    "POLICY_SEPARATOR",
    "POLICY_VERSION",
    "PolicySet",
    "PromptSet",
    "TextSetError",
    "UnknownCategory",
    "default_policy_set",
    "load_policy_set",
    "load_prompt_set",
    "category_definitions",
    "policies_for",
    "policy_for",
    "policy_set_hash",
]
