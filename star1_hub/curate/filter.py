"""Stage `filter`: keep only rows the judge gave the maximum on every criterion (docs/curation.md, "Filter").

Safety path: no error, no `Other` label, all three scores 10. Benign path: no error, all three scores 5, and
`source` set to the benign label (`4o_rewrite` in the release). The `error` column is dropped from the output
(every kept row is error-free); the counts say how many rows left for which reason.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from star1_hub.curate.provenance import provenance_feature
from star1_hub.data.schema import (
    BENIGN_SCORE_KEYS,
    BENIGN_SCORE_RANGE,
    OTHER_LABEL,
    SAFETY_SCORE_KEYS,
    SAFETY_SCORE_RANGE,
)
from star1_hub.teacher.task import TaskCounts as StageCounts

NAME = "filter"
BENIGN_SOURCE = "4o_rewrite"


def final_features(benign: bool = False):
    """Features of filtered/selected data: the STAR-1 (or benign-915) columns plus `provenance`."""
    from datasets import Features, Sequence, Value

    keys = BENIGN_SCORE_KEYS if benign else SAFETY_SCORE_KEYS
    columns: dict[str, Any] = {
        "id": Value("string"),
        "question": Value("string"),
        "response": Value("string"),
        "category": Sequence(Value("string")),
        "source": Value("string"),
        "score": {key: Value("int32") for key in keys},
    }
    if benign:
        columns["original_question"] = Value("string")
    columns["provenance"] = provenance_feature()
    return Features(columns)


def drop_reason(row: dict[str, Any], benign: bool = False) -> str | None:
    """Why a row does not pass the filter (None when it passes)."""
    keys, (_, top) = (BENIGN_SCORE_KEYS, BENIGN_SCORE_RANGE) if benign else (SAFETY_SCORE_KEYS, SAFETY_SCORE_RANGE)
    if not benign and OTHER_LABEL in (row.get("category") or []):
        return "other"  # checked first: these rows also carry `reason:skipped_other`
    if row.get("error"):
        return "error"
    score = row.get("score")
    if not score or any(score.get(key) is None for key in keys):
        return "no_score"
    if any(score[key] != top for key in keys):
        return "below_max"
    return None


def filter_max(dataset, benign: bool = False, source_label: str = BENIGN_SOURCE):
    """Return (rows with top scores on every criterion, StageCounts with drop reasons in `failed_by_reason`)."""
    reasons = [drop_reason(row, benign) for row in dataset]
    keep = [i for i, reason in enumerate(reasons) if reason is None]
    features = final_features(benign)
    kept = dataset.select(keep).select_columns(list(features))
    if benign:
        kept = kept.map(lambda row: {"source": source_label}, desc="filter")
    kept = kept.cast(features)
    dropped = Counter(reason for reason in reasons if reason is not None)
    counts = StageCounts(
        stage=NAME,
        rows_in=len(dataset),
        ok=len(keep),
        rows_out=len(keep),
        dropped=len(dataset) - len(keep),
        failed_by_reason=dict(sorted(dropped.items())),
        note="dropped rows by reason: " + (", ".join(f"{k}={v}" for k, v in sorted(dropped.items())) or "none"),
    )
    return kept, counts
