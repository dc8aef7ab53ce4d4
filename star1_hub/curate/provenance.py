"""Per-row provenance of curated data: which texts and which models produced each row.

`policy_version` / `policy_sha256` name the policy set and the sha256 of the exact policy text sent for that row;
`policy_set_sha256` and `prompt_set_sha256` identify the whole policy and prompt sets (the project's own or a
user's `--policy-dir` / `--prompt-dir`); `classifier`, `rewriter`, `teacher`, `judge` are the model ids per
role; `reasoning_form` says in which of the three R1 forms the teacher's reply arrived (`inline`, `prefilled`,
`split`; `json` for the structured-output path).
"""

from __future__ import annotations

from typing import Any

PROVENANCE_FIELDS: tuple[str, ...] = (
    "policy_version",
    "policy_sha256",
    "policy_set_sha256",
    "prompt_set_sha256",
    "classifier",
    "rewriter",
    "teacher",
    "judge",
    "reasoning_form",
)


def provenance_feature():
    """`datasets` type of the `provenance` column (a struct of nullable strings)."""
    from datasets import Value

    return {name: Value("string") for name in PROVENANCE_FIELDS}


def empty_provenance() -> dict[str, str | None]:
    """A provenance struct with every field unset."""
    return dict.fromkeys(PROVENANCE_FIELDS)


def with_provenance(row: dict[str, Any], **fields: str | None) -> dict[str, str | None]:
    """Return the row's provenance (missing fields unset) with `fields` set.

    Raises:
        ValueError: a field name that is not in `PROVENANCE_FIELDS`.
    """
    unknown = set(fields) - set(PROVENANCE_FIELDS)
    if unknown:
        raise ValueError(f"unknown provenance field(s) {sorted(unknown)}; choose from {PROVENANCE_FIELDS}")
    provenance = empty_provenance() | {
        k: v for k, v in (row.get("provenance") or {}).items() if k in PROVENANCE_FIELDS
    }
    provenance.update(fields)
    return provenance
