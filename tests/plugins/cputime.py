"""`--cpu-durations=N`: the N tests that used the most CPU time, beside their wall time (0: all).

On a busy machine wall durations measure the neighbours as much as the test; CPU seconds (user + system of the
test process and of the child processes it waited for during the test) do not. A server a session fixture
starts (vLLM, a Hub) is counted when it is stopped, at the end. Works under pytest-xdist (each worker measures its
tests; the numbers travel in the reports' `user_properties`).
"""

from __future__ import annotations

import resource
from collections import defaultdict

import pytest

CPU_KEY = "cpu_s"
_phase_cpu = pytest.StashKey[float]()


def _cpu_now() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--cpu-durations",
        type=int,
        default=None,
        metavar="N",
        help="show the N tests with the most CPU time (process + waited-for children), with their wall time (0: all)",
    )


def _measured(item: pytest.Item):
    start = _cpu_now()
    yield
    item.stash[_phase_cpu] = _cpu_now() - start


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    yield from _measured(item)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    yield from _measured(item)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item):
    yield from _measured(item)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    cpu = item.stash.get(_phase_cpu, None)
    if cpu is not None:
        report.user_properties = [*report.user_properties, (CPU_KEY, round(cpu, 3))]
        del item.stash[_phase_cpu]


class _Totals:
    def __init__(self) -> None:
        self.cpu: dict[str, float] = defaultdict(float)
        self.wall: dict[str, float] = defaultdict(float)


_totals = _Totals()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _totals.wall[report.nodeid] += report.duration
    for key, value in report.user_properties:
        if key == CPU_KEY:
            _totals.cpu[report.nodeid] += float(value)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    count = config.getoption("--cpu-durations")
    if count is None or not _totals.cpu:
        return
    rows = sorted(_totals.cpu.items(), key=lambda kv: -kv[1])
    shown = rows if count == 0 else rows[:count]
    write = terminalreporter.write_line
    terminalreporter.write_sep("=", f"{'all' if count == 0 else count} most CPU-expensive tests")
    write(f"{'cpu s':>9} {'wall s':>9}  test")
    for nodeid, cpu in shown:
        write(f"{cpu:9.2f} {_totals.wall[nodeid]:9.2f}  {nodeid}")
    write(
        f"total: {sum(_totals.cpu.values()):.1f} CPU s and {sum(_totals.wall.values()):.1f} s of test wall time "
        f"over {len(rows)} tests (session servers' CPU is counted at their teardown)"
    )
