"""Test-session setup.

The local Hub server is started BEFORE huggingface_hub / datasets are imported anywhere, and the client
environment (HF_ENDPOINT, HF_TOKEN, HF_HUB_DISABLE_XET=1, a temporary HF_HOME) is exported, because both
libraries read those variables at import time. Fixtures of each area live in tests/plugins/<area>.py.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")

assert "huggingface_hub" not in sys.modules, "conftest must run before huggingface_hub is imported"

from star1_hub.hub.testing import start_session_hub  # noqa: E402  (must not import huggingface_hub)

SESSION_HUB = start_session_hub()  # starts the server (port 0) and exports the client env

REPO_ROOT = Path(__file__).resolve().parent.parent
REFERENCE_DATA = REPO_ROOT / "tests" / "data" / "fixtures"

pytest_plugins = [
    "tests.plugins.common",
    "tests.plugins.hub",
    "tests.plugins.teacher",
    "tests.plugins.curate",
    "tests.plugins.train",
    "tests.plugins.evaluate",
    "tests.plugins.collect",
]


@pytest.fixture(scope="session")
def reference_data() -> Path:
    """The reference-data slices shipped with the tests (STAR-1, XSTest, AIME24, MATH-500; see the README there)."""
    return REFERENCE_DATA
