"""A leaderboard that does not exist is an error naming it and saying how to create it; an empty one is 0 rows."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from star1_hub.cli import app
from star1_hub.leaderboard import LeaderboardNotFoundError, append_row, leaderboard_repo, load_rows, row_from_results
from star1_hub.space.publish import runs_spaces
from tests.leaderboard.fixtures import make_results, unique_org


def _one_row(org: str) -> None:
    append_row(org, row_from_results(make_results(f"{org}/m"), "demo") | {"base_model": ""})  # no provenance lookup


def _says_missing(output: str, org: str) -> bool:
    return f"{org}/star1-leaderboard does not exist" in output and f"star1 eval run … --org {org}" in output


def test_load_rows_of_a_missing_leaderboard_raises_naming_it():
    org = unique_org("nobody")
    with pytest.raises(LeaderboardNotFoundError, match=f"{org}/star1-leaderboard does not exist"):
        load_rows(org)


def test_show_of_a_missing_leaderboard_exits_2_with_its_name_and_what_to_do():
    org = unique_org("nobody")
    for extra in ([], ["--json"]):
        result = CliRunner().invoke(app, ["leaderboard", "show", "--org", org, *extra])
        assert result.exit_code == 2, result.output
        assert _says_missing(result.output, org), result.output
        assert "0 rows" not in result.output and "Traceback" not in result.output


def test_show_of_an_existing_empty_leaderboard_is_0_rows_and_exit_0(hub_api):
    org = unique_org("empty")
    hub_api.create_repo(leaderboard_repo(org), repo_type="dataset")
    result = CliRunner().invoke(app, ["leaderboard", "show", "--org", org], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert f"{org}/star1-leaderboard (0 rows)" in result.output
    as_json = CliRunner().invoke(app, ["leaderboard", "show", "--org", org, "--json"])
    assert as_json.exit_code == 0 and as_json.output.strip() == "[]"


def test_space_of_a_missing_leaderboard_exits_2_and_pushes_nothing(hub_api):
    org = unique_org("nobody")
    result = CliRunner().invoke(app, ["leaderboard", "space", "--org", org])
    assert result.exit_code == 2, result.output
    assert _says_missing(result.output, org), result.output
    assert not hub_api.repo_exists(f"{org}/star1-leaderboard-space", repo_type="space")


def test_serve_of_a_missing_leaderboard_exits_2_instead_of_serving(free_port_for_serve):
    org = unique_org("nobody")
    command = [sys.executable, "-m", "star1_hub.cli", "leaderboard", "serve", "--org", org]
    # a generous bound against a hang: a command that wrongly starts serving never returns by itself
    result = subprocess.run(
        [*command, "--port", str(free_port_for_serve)], capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert _says_missing(result.stderr, org), result.stderr
    assert "http://127.0.0.1" not in result.stdout  # nothing claims a page is being served


def test_space_on_a_local_hub_prints_the_command_that_serves_it(hub_api):
    org = unique_org("space")
    _one_row(org)
    result = CliRunner().invoke(app, ["leaderboard", "space", "--org", org])
    assert result.exit_code == 0, result.output
    assert f"star1 leaderboard serve --org {org}" in result.output
    assert "/spaces/" not in result.output  # the local Hub answers 404 there: no URL that leads nowhere
    assert hub_api.repo_exists(f"{org}/star1-leaderboard-space", repo_type="space")


def test_only_huggingface_co_runs_spaces():
    assert runs_spaces("https://huggingface.co") and runs_spaces("https://hf.co")
    assert not runs_spaces("http://127.0.0.1:8080") and not runs_spaces("https://hub.example.org")


@pytest.fixture
def free_port_for_serve() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
