"""The suite's own plumbing: the session Hub behind the exported address, and the xdist grouping of heavy tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.plugins.scheduling import heavy_group
from tests.plugins.tiers import base_nodeid, costly_from_log

REPO_ROOT = Path(__file__).resolve().parents[1]

HEAVY_MODULE = """
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shared_run():
    return 1


def test_reads_the_run(shared_run):
    pass


def test_reads_it_too(shared_run):
    pass
"""

MIXED_MODULE = """
import pytest


@pytest.fixture
def vllm_embedded():
    return None


@pytest.mark.slow
def test_on_vllm(vllm_embedded):
    pass


def test_light():
    pass


@pytest.mark.slow
@pytest.mark.xdist_group("own")
def test_with_its_own_group():
    pass
"""


def test_session_hub_answers_at_the_exported_address(local_hub, hub_api, make_repo_id):
    assert os.environ["HF_ENDPOINT"] == local_hub.endpoint
    assert os.environ["HF_TOKEN"] == local_hub.token
    assert local_hub.starts == 1  # one server process for this test process, started before the first test
    repo = make_repo_id("plumbing")
    hub_api.create_repo(repo)
    assert hub_api.repo_exists(repo)
    assert (local_hub.data_dir).is_dir()


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch) -> pytest.Pytester:
    """A pytester whose runs know the `slow` marker and can import `tests.plugins`."""
    pytester.makeini("[pytest]\nmarkers =\n    slow: heavy\n")
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    return pytester


def test_a_heavy_module_is_one_group_so_its_shared_fixture_runs_once(pytester: pytest.Pytester):
    items = pytester.getitems(HEAVY_MODULE)
    groups = {heavy_group(item) for item in items}
    assert len(items) == 2 and len(groups) == 1 and None not in groups


def test_vllm_tests_share_one_group_and_light_tests_none(pytester: pytest.Pytester):
    items = {item.name: item for item in pytester.getitems(MIXED_MODULE)}
    assert heavy_group(items["test_on_vllm"]) == "vllm"
    assert heavy_group(items["test_light"]) is None
    assert heavy_group(items["test_with_its_own_group"]) is not None  # slow; the plugin keeps its own group


def test_grouping_marks_and_xdist_runs_them(pytester: pytest.Pytester):
    """Under `-n 2 --dist loadgroup` both tests of a heavy module run on the same worker (one fixture set-up)."""
    pytester.makeconftest('pytest_plugins = ["tests.plugins.scheduling"]\n')
    pytester.makepyfile(
        test_heavy=HEAVY_MODULE.replace("return 1", "import os; return os.environ['PYTEST_XDIST_WORKER']"),
        test_light="def test_light_one():\n    pass\n\n\ndef test_light_two():\n    pass\n",
    )
    result = pytester.runpytest_subprocess("-n", "2", "--dist", "loadgroup", "-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
    heavy = [line for line in result.outlines if "PASSED" in line and "test_heavy.py::" in line]
    assert len(heavy) == 2 and all(line.rstrip().endswith("@heavy:test_heavy.py") for line in heavy), heavy
    workers = {line.split("]")[0] for line in heavy}  # "[gw0"
    assert len(workers) == 1, result.outlines


def test_costly_ids_lose_only_the_xdist_group_suffix():
    assert base_nodeid("tests/a.py::test_x@cli-errors") == "tests/a.py::test_x"
    assert base_nodeid("tests/a.py::test_x[case one]@heavy:tests/a.py") == "tests/a.py::test_x[case one]"
    assert base_nodeid("tests/a.py::test_x[user@example.org]") == "tests/a.py::test_x[user@example.org]"
    assert base_nodeid("tests/a.py::test_x") == "tests/a.py::test_x"


def test_costly_list_is_read_from_a_cpu_durations_report():
    report = (
        "========= all most CPU-expensive tests =========\n"
        "    cpu s    wall s  test\n"
        "     0.61      0.20  tests/a.py::test_cpu_bound@cli-errors\n"
        "     0.02      1.40  tests/a.py::test_waits[two words]\n"
        "     0.49      0.99  tests/a.py::test_just_under\n"
        "total: 1.1 CPU s and 2.6 s of test wall time over 3 tests\n"
    )
    assert costly_from_log(report) == ["tests/a.py::test_cpu_bound", "tests/a.py::test_waits[two words]"]


def _tiered(pytester: pytest.Pytester, monkeypatch, listed_ids: list[str]) -> None:
    from tests.plugins import tiers

    pytester.makeini("[pytest]\ntestpaths = .\nmarkers =\n    slow: heavy\n")
    pytester.makeconftest('pytest_plugins = ["tests.plugins.tiers"]\n')
    pytester.makepyfile(test_mod="def test_cheap():\n    pass\n\n\ndef test_costly():\n    pass\n")
    listing = pytester.path / "costly_tests.txt"
    listing.write_text("# header\n" + "".join(f"{nodeid}\n" for nodeid in listed_ids))
    monkeypatch.setattr(tiers, "LIST_FILE", listing)


def test_listed_tests_are_marked_costly_and_the_fast_tier_deselects_them(pytester, monkeypatch):
    _tiered(pytester, monkeypatch, ["test_mod.py::test_costly"])
    result = pytester.runpytest("-m", "not slow and not costly", "-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(["*test_mod.py::test_cheap PASSED*"])


def test_a_listed_file_marks_every_test_in_it_costly(pytester, monkeypatch):
    _tiered(pytester, monkeypatch, ["test_mod.py"])
    result = pytester.runpytest("-m", "not slow and not costly", "-p", "no:cacheprovider")
    result.assert_outcomes(deselected=2)
    assert pytester.runpytest("-m", "costly", "-p", "no:cacheprovider").parseoutcomes()["passed"] == 2


def test_a_listed_test_that_no_longer_exists_fails_the_whole_tree_run(pytester, monkeypatch):
    _tiered(pytester, monkeypatch, ["test_mod.py::test_costly", "test_mod.py::test_renamed_away"])
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*lists 1 test(s) that no longer exist*test_mod.py::test_renamed_away*"])
    assert pytester.runpytest("-p", "no:cacheprovider", "-k", "cheap").ret == pytest.ExitCode.OK  # a subset


def test_every_listed_costly_test_exists_in_the_suite():
    from tests.plugins.tiers import listed

    ids = listed()
    assert ids, "tests/costly_tests.txt is empty"
    modules = {nodeid.split("::", 1)[0] for nodeid in ids}
    missing = sorted(m for m in modules if not (REPO_ROOT / m).is_file())
    assert not missing, f"tests/costly_tests.txt names files that do not exist: {missing}"


def test_the_list_tool_adds_new_costly_tests_and_keeps_what_was_listed(tmp_path, monkeypatch, capsys):
    from tests.plugins import tiers

    listing = tmp_path / "costly_tests.txt"
    listing.write_text("# old header\ntests/a.py::test_kept\ntests/b.py\n")
    monkeypatch.setattr(tiers, "LIST_FILE", listing)
    log = tmp_path / "fast.log"
    log.write_text(
        "     0.70      3.10  tests/a.py::test_new@g\n"
        "     0.90      4.00  tests/b.py::test_covered_by_its_file\n"
        "     0.10      0.20  tests/a.py::test_cheap\n"
    )
    tiers.main([str(log), "--wall", "2.5"])
    assert tiers.listed(listing) == {"tests/a.py::test_kept", "tests/a.py::test_new", "tests/b.py"}
    assert listing.read_text().startswith(tiers.HEADER)
    tiers.main([str(log), "--replace"])
    assert tiers.listed(listing) == {"tests/a.py::test_new", "tests/b.py::test_covered_by_its_file"}
    assert "entries" in capsys.readouterr().out
