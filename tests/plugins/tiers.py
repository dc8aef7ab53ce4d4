"""The fast tier: `make test-fast` runs every test except the costly ones; `make test` runs them all.

A test is costly when a serial run measured it at or above the fast tier's budget (`CPU_BUDGET_S` CPU seconds,
its subprocesses included, or `WALL_BUDGET_S` wall seconds): it starts a CLI process, a server, a browser, vLLM or
a training run, or builds a large fixture. Under xdist every worker pays a module's first CLI process or first
heavy import (lighteval, math-verify, a tokenizer) again, so the list also holds the tests that a parallel run of
the fast tier measured at or above `CPU_BUDGET_S` (`--cpu 0.5 --wall 2.5` on that run's log, added to the list). The costly tests are listed by node id in `tests/costly_tests.txt` (a
file path lists every test of that file: modules whose tests all drive CLI processes over one shared set-up);
this plugin gives each the marker `costly` (`make test-fast` deselects `slow or costly`). The `slow` tests (vLLM,
training, the wheel, the browser) are costly by definition and are not listed.

A run of the whole tree (`pytest` with no path arguments, as `make test` runs it) fails at collection when the list
names a test that no longer exists, so a renamed test cannot drop out of the list silently. Regenerate the list from
a serial run of the suite's non-slow tests with per-test CPU seconds, then add what a parallel run of the fast tier
still finds:

    .venv/bin/python -m pytest -p no:xdist -m "not slow" --cpu-durations=0 > /tmp/serial.log
    .venv/bin/python -m tests.plugins.tiers --replace /tmp/serial.log
    .venv/bin/python -m pytest -n 3 --dist loadgroup -m "not slow and not costly" --cpu-durations=0 > /tmp/fast.log
    .venv/bin/python -m tests.plugins.tiers --cpu 0.5 --wall 2.5 /tmp/fast.log
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

LIST_FILE = Path(__file__).resolve().parents[1] / "costly_tests.txt"
CPU_BUDGET_S = 0.5
WALL_BUDGET_S = 1.0
MARKER = "costly"
_ROW = re.compile(r"^\s*(?P<cpu>\d+\.\d+)\s+(?P<wall>\d+\.\d+)\s+(?P<nodeid>tests/\S.*)$")


def base_nodeid(nodeid: str) -> str:
    """The node id without the `@group` suffix an xdist worker appends under `--dist loadgroup`."""
    head, bracket, tail = nodeid.rpartition("]")
    if bracket:  # parametrized: the suffix can only follow the closing bracket (an id may hold an "@")
        return head + bracket + tail.split("@", 1)[0]
    path, sep, name = nodeid.partition("::")
    return path + sep + name.split("@", 1)[0]


def listed(path: Path | None = None) -> set[str]:
    """The node ids in the list file (default `LIST_FILE`; comments and blank lines skipped)."""
    path = path or LIST_FILE
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return {line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}: over the fast tier's budget ({CPU_BUDGET_S} CPU s or {WALL_BUDGET_S} s wall in a serial run; "
        "listed in tests/costly_tests.txt); `make test-fast` skips it, `make test` runs it",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    costly = listed()
    seen: set[str] = set()
    for item in items:
        nodeid = base_nodeid(item.nodeid)
        for entry in (nodeid, nodeid.split("::", 1)[0]):  # the test, or its whole file
            if entry in costly:
                item.add_marker(getattr(pytest.mark, MARKER))
                seen.add(entry)
    whole_tree = config.args_source == pytest.Config.ArgsSource.TESTPATHS and not (
        config.option.keyword or getattr(config.option, "lf", False)
    )
    if whole_tree and (stale := sorted(costly - seen)):
        raise pytest.UsageError(
            f"{LIST_FILE.name} lists {len(stale)} test(s) that no longer exist, e.g. {stale[0]!r}: remove or "
            f"rename them there (or regenerate the list, see tests/plugins/tiers.py)"
        )


def costly_from_log(text: str, cpu_budget_s: float = CPU_BUDGET_S, wall_budget_s: float = WALL_BUDGET_S) -> list[str]:
    """The node ids at or over either budget in a `--cpu-durations=0` report (one row per test: cpu, wall, id)."""
    found = []
    for line in text.splitlines():
        if (row := _ROW.match(line)) and (float(row["cpu"]) >= cpu_budget_s or float(row["wall"]) >= wall_budget_s):
            found.append(base_nodeid(row["nodeid"].strip()))
    return sorted(set(found))


HEADER = """\
# Tests over the fast tier's budget (0.5 CPU s or 1 s wall in a serial run; 0.5 CPU s or 2.5 s wall in a parallel
# run of the fast tier, where each xdist worker pays a module's first CLI process or heavy import again):
# `make test-fast` skips them, `make test` runs them. A bare file path lists all of that file's tests.
# Kept with `python -m tests.plugins.tiers <log>`; see that file.
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Add the costly tests of a --cpu-durations=0 log to the list")
    parser.add_argument("log", type=Path)
    parser.add_argument("--cpu", type=float, default=CPU_BUDGET_S, help="CPU-seconds budget of the fast tier")
    parser.add_argument("--wall", type=float, default=WALL_BUDGET_S, help="wall-seconds budget of the fast tier")
    parser.add_argument("--replace", action="store_true", help="start a new list instead of adding to it")
    args = parser.parse_args(argv)
    found = costly_from_log(args.log.read_text(encoding="utf-8"), args.cpu, args.wall)
    if not found:
        raise SystemExit(f"{args.log}: no `--cpu-durations=0` rows found (run pytest with --cpu-durations=0)")
    before = set() if args.replace else listed()
    files = {entry for entry in before if "::" not in entry}
    ids = sorted(before | {nodeid for nodeid in found if nodeid.split("::", 1)[0] not in files})
    LIST_FILE.write_text(HEADER + "".join(f"{nodeid}\n" for nodeid in ids), encoding="utf-8")
    print(f"{LIST_FILE}: {len(ids)} entries ({len(set(ids) - before)} new)")


if __name__ == "__main__":
    main()
