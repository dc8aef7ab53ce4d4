"""How the suite is scheduled under pytest-xdist (`make test` / `make test-fast` run `-n <cores + 1> --dist loadgroup`).

- Every test that uses the session vLLM server (`vllm_embedded`) is in the xdist group `vllm`, so one worker
  starts vLLM once and runs them all, as a serial run does.
- The other heavy tests (marker `slow`: training, DeepSpeed ZeRO, in-process lighteval, the wheel build, the
  browser) are grouped by module, so a module's shared fixtures (one training run read by several tests, one
  built wheel) are made once, on one worker. `--dist loadgroup` hands out the biggest groups first, so the long
  heavy groups start at once and the light tests fill in around them.
- Each worker gets its share of the cores for torch/OpenMP (`OMP_NUM_THREADS`, set in tests/conftest.py), so two
  CPU-bound tests side by side do not spin two full thread pools on the same cores.

A test file can still set its own `pytest.mark.xdist_group(...)`; it is kept. A serial run is unchanged.
"""

from __future__ import annotations

import pytest

VLLM_FIXTURE = "vllm_embedded"


def is_xdist_controller(config: pytest.Config) -> bool:
    """True in the process that hands tests to xdist workers (it runs none itself)."""
    return not hasattr(config, "workerinput") and bool(getattr(config.option, "numprocesses", None))


def runs_tests(config: pytest.Config) -> bool:
    """False for `--collect-only` and for the xdist controller: no test will run in this process."""
    return not config.option.collectonly and not is_xdist_controller(config)


def heavy_group(item: pytest.Item) -> str | None:
    """The xdist group of a heavy test (None for a light one)."""
    if VLLM_FIXTURE in getattr(item, "fixturenames", ()):
        return "vllm"
    if item.get_closest_marker("slow") is not None:
        return f"heavy:{item.nodeid.split('::', 1)[0]}"
    return None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("xdist_group") is None and (group := heavy_group(item)) is not None:
            item.add_marker(pytest.mark.xdist_group(group))
    if getattr(config.option, "loadgroup", False):  # an xdist worker under --dist loadgroup
        for item in items:
            _tag_with_group(item)


def _tag_with_group(item: pytest.Item) -> None:
    """Append `@group` to the node id, which is how an xdist worker tells the controller a test's group.

    pytest-xdist 3.8 does this itself by assigning `item._nodeid`, which pytest 9.2's structured node ids no longer
    read, so with pytest 9.2 `--dist loadgroup` silently stops grouping (pytest-dev/pytest-xdist#1386, fix open
    in #1388). Same suffix as xdist's (`_`-joined sorted group names); skipped when it is already there.
    """
    names = sorted(
        {str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")}
    )
    if not names:
        return
    suffix = "@" + "_".join(names)
    if item.nodeid.endswith(suffix):
        return
    nodeid = item.nodeid + suffix
    if hasattr(item, "_id"):  # pytest >= 9.2: the string form comes from the structured id
        from _pytest.nodeid import NodeId

        item._id = NodeId.parse(nodeid)
    else:
        item._nodeid = nodeid
