"""Where star1-hub keeps its files: the user cache (`STAR1_HOME`) and the read-only reference data."""

from __future__ import annotations

import os
from pathlib import Path


def star1_home() -> Path:
    """Return the star1-hub cache root (`$STAR1_HOME`, default `~/.cache/star1_hub`), creating it."""
    root = Path(os.environ.get("STAR1_HOME") or Path.home() / ".cache" / "star1_hub").expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def shared_data_dir() -> Path | None:
    """Return the reference-data folder (`$STAR1_SHARED_DATA`, default `../shared/data`) or None if absent.

    The folder holds the released STAR-1 file, XSTest and two math sets. It exists on developer machines and
    in CI, not in a user's fresh checkout, so callers must handle None (the benches say so). The test suite
    does not use it: its slices live in `tests/data/fixtures/`.
    """
    env = os.environ.get("STAR1_SHARED_DATA")
    candidates = [Path(env)] if env else []
    repo_root = Path(__file__).resolve().parent.parent
    candidates += [repo_root.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return None
