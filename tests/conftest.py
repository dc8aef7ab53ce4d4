"""Test-session setup.

The client environment (HF_ENDPOINT, HF_TOKEN, HF_HUB_DISABLE_XET=1, a temporary HF_HOME) is exported BEFORE
huggingface_hub / datasets are imported anywhere, because both libraries read those variables at import time. The
session's local Hub server behind that address starts in the background while pytest collects, and the first test
waits for it (tests/plugins/session_hub.py); a process that runs no test starts none. Fixtures of each area live
in tests/plugins/<area>.py; how the heavy tests are scheduled (xdist groups, one vLLM start) in
tests/plugins/scheduling.py.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")

# Under pytest-xdist each worker gets its share of the cores for torch/OpenMP (and the processes it starts): two
# workers with a full-size thread pool each on two cores spin against each other. An explicit setting wins.
_XDIST_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 0)
if _XDIST_WORKERS > 1:
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, len(os.sched_getaffinity(0)) // _XDIST_WORKERS)))

assert "huggingface_hub" not in sys.modules, "conftest must run before huggingface_hub is imported"

from tests.plugins.session_hub import SessionHub  # noqa: E402  (must not import huggingface_hub)

SESSION_HUB = SessionHub.prepare()  # reserves a port and exports the client env; the server starts later

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
    "tests.plugins.scheduling",
    "tests.plugins.cputime",
    "tests.plugins.tiers",
    "pytester",
]


@pytest.fixture(scope="session")
def reference_data() -> Path:
    """The reference-data slices shipped with the tests (STAR-1, XSTest, AIME24, MATH-500; see the README there)."""
    return REFERENCE_DATA


def pytest_configure(config: pytest.Config) -> None:
    from tests.plugins.scheduling import runs_tests

    if runs_tests(config):
        SESSION_HUB.start_in_background()  # overlaps collection


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    SESSION_HUB.wait()  # returns at once after the first test
