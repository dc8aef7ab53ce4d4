"""Every benchmark still runs: `python -m bench.<name> --small` exits 0 for each bench/[a-z]*.py.

The benches are discovered by glob (as `make bench` does), so a new bench is covered the day it is added and must
come with a `--small` mode (seconds, not minutes, still measuring something real). A bench that rots (an API it
uses changed, an assertion no longer holds) fails here instead of on the next `make bench`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCHES = sorted(path.stem for path in (REPO_ROOT / "bench").glob("[a-z]*.py"))
TIMEOUT_S = 600  # generous: a small run takes seconds; this only stops a hang


def test_benches_are_discovered():
    assert {"teacher_resume", "teacher_throughput", "select", "padding", "hub_commit"} <= set(BENCHES)


@pytest.mark.slow
@pytest.mark.parametrize("name", BENCHES)
def test_bench_runs_in_small_mode(name):
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", "--small"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    output = (done.stdout + done.stderr)[-3000:]
    assert done.returncode == 0, f"python -m bench.{name} --small exited {done.returncode}:\n{output}"
    assert done.stdout.strip(), f"bench.{name} --small printed no measurement"
