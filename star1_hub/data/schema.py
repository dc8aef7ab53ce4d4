"""Column types of STAR-41K, STAR-1 and STAR-benign-915 as `datasets.Features` (spec §5–6, §11)."""

from __future__ import annotations

from typing import Literal

CATEGORIES: tuple[str, ...] = (
    "Harassment / Hate / Discrimination",
    "Sexual / Adult",
    "Violence / Physical Harm",
    "Self-Harm",
    "Illicit / Criminal Behavior",
    "Misinformation / Disinformation",
    "Privacy / Personal Data",
    "Intellectual Property",
)
OTHER_LABEL = "Other"

# STAR-1 / STAR-41K judge criteria, integers 0..10 (spec §5.2).
SAFETY_SCORE_KEYS: tuple[str, ...] = (
    "Content_Safety_Compliance",
    "Relevancy_and_No_Redundant_Content",
    "Accuracy_of_Thinking_Process",
)
SAFETY_SCORE_RANGE = (0, 10)
# STAR-benign-915 judge criteria, integers 1..5 (spec §11).
BENIGN_SCORE_KEYS: tuple[str, ...] = (
    "Content_Safety_Compliance",
    "Quality_of_Thinking_Process",
    "Compliance_Degree",
)
BENIGN_SCORE_RANGE = (1, 5)

DatasetKind = Literal["star1", "star41k", "benign915"]
DATASET_KINDS: tuple[str, ...] = ("star1", "star41k", "benign915")


def score_spec(kind: DatasetKind) -> tuple[tuple[str, ...], tuple[int, int]]:
    """Return (criteria names, inclusive integer range) of the `score` struct for a dataset kind."""
    if kind == "benign915":
        return BENIGN_SCORE_KEYS, BENIGN_SCORE_RANGE
    if kind in ("star1", "star41k"):
        return SAFETY_SCORE_KEYS, SAFETY_SCORE_RANGE
    raise ValueError(f"unknown dataset kind {kind!r}; choose one of {', '.join(DATASET_KINDS)}")


def features_for(kind: DatasetKind):
    """Return the `datasets.Features` of a dataset kind.

    `id` is a string (the released files store string ids, and benign rows reuse the harmful row's id);
    `category` is a list of the 8 label strings (a ClassLabel would drop the readable names from the
    parquet files that the Hub viewer shows); `score` is a struct of the kind's three integer criteria.
    """
    from datasets import Features, Sequence, Value

    keys, _ = score_spec(kind)
    return Features(
        {
            "id": Value("string"),
            "question": Value("string"),
            "response": Value("string"),
            "category": Sequence(Value("string")),
            "source": Value("string"),
            "score": {key: Value("int32") for key in keys},
        }
    )


COLUMNS: tuple[str, ...] = ("id", "question", "response", "category", "source", "score")
