"""The leaderboard dataset: rows with revisions and sample counts, honest README, concurrent appends, terminal view."""

from __future__ import annotations

import json
import threading

from huggingface_hub import hf_hub_download
from rich.console import Console

from star1_hub.leaderboard import (
    PLOT_PATH,
    append_row,
    leaderboard_repo,
    load_rows,
    render_readme,
    row_from_results,
    show,
    terminal_table,
)
from star1_hub.space.app import finetune_pairs, scatter_figure
from tests.leaderboard.fixtures import make_results, publish_pair, unique_org


def test_row_has_each_benchmark_with_its_full_size_and_errors():
    row = row_from_results(make_results("org/m", revision="v1", n_prompts=4, errors=2), "demo")
    assert (row["model"], row["revision"]) == ("org/m", "v1")
    bench = {b["name"]: b for b in row["benchmarks"]}
    assert bench["demo_harmful"] | {} == bench["demo_harmful"]
    # the full size is what results.json records (8 rows of demo_harmful), not looked up in eval code
    assert (bench["demo_harmful"]["n_prompts"], bench["demo_harmful"]["expected"]) == (4, 8)
    assert bench["demo_harmful"]["errors"] == 2 and bench["demo_xstest"]["errors"] == 0
    assert row["task:demo_math"] == 20.0


def test_readme_shows_revision_samples_and_marks_partial_rows_only():
    full = row_from_results(make_results("org/full", n_prompts=8), "demo") | {"sha": "a" * 40}
    part = row_from_results(make_results("org/part", revision="v2", n_prompts=3), "demo") | {"sha": "b" * 40}
    readme = render_readme([full, part], "org", has_plot=False)
    full_line = next(line for line in readme.splitlines() if line.startswith("| org/full |"))
    part_line = next(line for line in readme.splitlines() if line.startswith("| org/part ⚠ partial |"))
    assert "| aaaaaaaaaaaa |" in full_line and "| 20 |" in full_line  # sha as revision, 8 + 8 + 4 samples
    assert "| v2 (bbbbbbbbbbbb) |" in part_line and "| 10 |" in part_line
    assert "⚠" not in full_line
    assert "| org/part | v2 (bbbbbbbbbbbb) | cpu-demo | demo_harmful | 50.0 | 3 / 8 ⚠ |" in readme
    assert "| org/full | aaaaaaaaaaaa | cpu-demo | demo_harmful | 50.0 | 8 / 8 |" in readme


def test_published_rows_carry_resolved_sha_and_the_finetune_pair(hub_api):
    org = unique_org()
    base, tuned = publish_pair(hub_api, org)
    rows = {r["model"]: r for r in load_rows(org)}
    assert rows[base]["sha"] == hub_api.model_info(base).sha
    assert rows[tuned]["sha"] == hub_api.model_info(tuned).sha
    assert not rows[base]["star1_finetune"] and rows[tuned]["star1_finetune"]
    assert [(b["model"], t["model"]) for b, t in finetune_pairs(list(rows.values()))] == [(base, tuned)]
    repo = leaderboard_repo(org)
    assert PLOT_PATH in hub_api.list_repo_files(repo, repo_type="dataset")
    readme = open(hf_hub_download(repo, "README.md", repo_type="dataset")).read()
    assert f"| {tuned} | {rows[tuned]['sha'][:12]} | cpu-demo | demo | 62.5 |" in readme


def test_six_concurrent_appends_end_with_seven_rows(hub_api):
    org = unique_org("race")
    append_row(org, row_from_results(make_results(f"{org}/seed"), "demo") | {"base_model": ""})
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def append(i: int) -> None:
        try:
            row = row_from_results(make_results(f"{org}/model-{i}", safety=10.0 * i), "demo") | {"base_model": ""}
            barrier.wait(timeout=60)
            append_row(org, row)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    rows = load_rows(org)
    assert sorted(r["model"] for r in rows) == sorted([f"{org}/seed", *(f"{org}/model-{i}" for i in range(6))])
    readme = open(hf_hub_download(leaderboard_repo(org), "README.md", repo_type="dataset")).read()
    assert sum(line.startswith(f"| {org}/") and "| demo |" in line for line in readme.splitlines()) == 7


def test_single_point_plot_keeps_percent_axes():
    figure = scatter_figure([row_from_results(make_results("org/only", safety=50.0, math=50.0), "demo")])
    ax = figure.axes[0]
    assert ax.get_xlim() == (-2.0, 102.0) and ax.get_ylim() == (-2.0, 102.0)


def _render(renderable, width: int) -> list[str]:
    console = Console(width=width, record=True, file=open("/dev/null", "w"), color_system=None)
    console.print(renderable)
    return console.export_text().splitlines()


def test_terminal_table_at_80_columns_keeps_full_ids_and_revisions():
    long_a = "demo/SmolLM2-135M-Instruct-STAR1-demo-with-a-really-long-repository-name"
    long_b = "demo/SmolLM2-135M-Instruct-STAR1-demo-with-a-really-long-repository-name-v2"
    rows = [
        row_from_results(make_results(long_a), "demo") | {"sha": "c" * 40},
        row_from_results(make_results(long_b, revision="v2"), "demo") | {"sha": "d" * 40},
    ]
    lines = _render(terminal_table(rows, 80), 80)
    assert all(len(line) <= 80 for line in lines)
    assert any(line.strip() == long_a for line in lines) and any(line.strip() == long_b for line in lines)
    assert any(line.split() == ["revision", "v2", "(dddddddddddd)"] for line in lines)


def test_terminal_table_is_a_table_when_ids_fit():
    rows = [row_from_results(make_results("o/base"), "demo"), row_from_results(make_results("o/tuned"), "demo")]
    lines = _render(terminal_table(rows, 100), 100)
    assert any("o/base" in line and "50.0" in line for line in lines)  # one line per row, numbers beside the id
    assert all(len(line) <= 100 for line in lines)


def test_show_json_is_parseable(hub_api, capsys):
    org = unique_org()
    base, tuned = publish_pair(hub_api, org)
    show(org, as_json=True)
    rows = json.loads(capsys.readouterr().out)
    assert {r["model"] for r in rows} == {base, tuned}


def test_cli_show_fits_80_columns_and_json_parses(hub_api):
    from typer.testing import CliRunner

    from star1_hub.cli import app

    org = unique_org()
    base, tuned = publish_pair(hub_api, org)
    result = CliRunner().invoke(app, ["leaderboard", "show", "--org", org], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert any(line.strip() == base for line in lines) and any(line.strip() == tuned for line in lines)
    as_json = CliRunner().invoke(app, ["leaderboard", "show", "--org", org, "--json"])
    assert as_json.exit_code == 0 and {r["model"] for r in json.loads(as_json.output)} == {base, tuned}


def test_a_local_finetune_records_its_base_from_its_training_record_or_card(tmp_path):
    from star1_hub.leaderboard import with_provenance

    trained, carded, plain = tmp_path / "trained", tmp_path / "carded", tmp_path / "plain"
    for folder in (trained, carded, plain):
        folder.mkdir()
    (trained / "star1_training.json").write_text(json.dumps({"base_model": "org/base", "base_model_revision": None}))
    (carded / "README.md").write_text("---\nbase_model: org/base\ntags:\n- star1-hub\n---\n# tuned\n")
    rows = {
        name: with_provenance(row_from_results(make_results(str(folder)), "demo"))
        for name, folder in (("trained", trained), ("carded", carded), ("plain", plain))
    }
    assert (rows["trained"]["base_model"], rows["trained"]["star1_finetune"]) == ("org/base", True)
    assert (rows["carded"]["base_model"], rows["carded"]["star1_finetune"]) == ("org/base", True)
    assert (rows["plain"]["base_model"], rows["plain"]["star1_finetune"]) == ("", False)
    base = row_from_results(make_results("org/base"), "demo") | {"base_model": "", "star1_finetune": False}
    assert finetune_pairs([base, rows["trained"], rows["plain"]]) == [(base, rows["trained"])]
