"""STAR-41K / STAR-1 / STAR-benign-915: schemas, validation of the released files, loading and publishing."""

from star1_hub.data.load import load_star1
from star1_hub.data.normalise import (
    DataValidationError,
    count_think_blocks,
    load_records,
    normalise_records,
    read_records,
    split_response,
)
from star1_hub.data.schema import (
    BENIGN_SCORE_KEYS,
    CATEGORIES,
    COLUMNS,
    OTHER_LABEL,
    SAFETY_SCORE_KEYS,
    features_for,
)

__all__ = [
    "BENIGN_SCORE_KEYS",
    "CATEGORIES",
    "COLUMNS",
    "OTHER_LABEL",
    "SAFETY_SCORE_KEYS",
    "DataValidationError",
    "count_think_blocks",
    "features_for",
    "load_records",
    "load_star1",
    "normalise_records",
    "read_records",
    "split_response",
]
