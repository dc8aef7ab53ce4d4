"""Rows with hostile but valid values: a `$` revision (mathtext), HTML in a revision, `|` in a judge name. The
README stays one cell per value with no HTML, the plot draws, and later appends keep working."""

from __future__ import annotations

import re

from huggingface_hub import hf_hub_download
from markdown_it import MarkdownIt

from star1_hub.leaderboard import (
    PLOT_PATH,
    append_row,
    leaderboard_repo,
    load_rows,
    render_plot,
    render_readme,
    row_from_results,
)
from tests.leaderboard.fixtures import make_results, unique_org

MATH_REVISION = "v$\\foo$"  # a valid branch name; as matplotlib mathtext an unknown symbol
HTML_REVISION = "<img src=x onerror=alert(1)>"
PIPE_JUDGE = "guard|99.9|forged"


def _row(model: str, revision: str | None = None, judge: str | None = None, **numbers) -> dict:
    row = row_from_results(make_results(model, revision=revision, **numbers), "demo") | {"base_model": ""}
    return row | {"judge": judge} if judge else row


def _tables(readme: str) -> list[list[list[str]]]:
    html = MarkdownIt("commonmark").enable("table").render(readme)
    assert "<img" not in html and "<script" not in html and "<a " not in html
    return [
        [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S) for row in re.findall(r"<tr>(.*?)</tr>", t, re.S)]
        for t in re.findall(r"<table>(.*?)</table>", html, flags=re.S)
    ]


def test_readme_escapes_html_revisions_and_pipes_in_judge_names():
    rows = [_row("org/a", revision=HTML_REVISION, judge=PIPE_JUDGE), _row("org/b", revision=MATH_REVISION)]
    readme = render_readme(rows, "org", has_plot=False)
    assert HTML_REVISION not in readme and PIPE_JUDGE not in readme  # never written raw
    summary, per_benchmark = _tables(readme)
    for table in (summary, per_benchmark):
        assert all(len(row) == len(table[0]) for row in table), "a value forged extra cells"
    header = summary[0]
    a = next(row for row in summary[1:] if row[0] == "org/a")
    assert a[header.index("revision")] == HTML_REVISION.replace("<", "&lt;").replace(">", "&gt;")
    assert a[header.index("judge")] == PIPE_JUDGE  # shown whole, in its own cell


def test_plot_of_a_dollar_revision_draws():
    png = render_plot([_row("org/a", revision=MATH_REVISION), _row("org/b", revision="a$b$c")])
    assert png is not None and png.startswith(b"\x89PNG")


def test_a_dollar_revision_does_not_block_later_appends(hub_api):
    org = unique_org("hostile")
    append_row(org, _row(f"{org}/odd", revision=MATH_REVISION, judge=PIPE_JUDGE))
    append_row(org, _row(f"{org}/next", revision=HTML_REVISION, safety=70.0))
    rows = load_rows(org)
    assert sorted(r["model"] for r in rows) == [f"{org}/next", f"{org}/odd"]
    assert {r["revision"] for r in rows} == {MATH_REVISION, HTML_REVISION}  # the data keeps the values as given
    repo = leaderboard_repo(org)
    assert PLOT_PATH in hub_api.list_repo_files(repo, repo_type="dataset")
    readme = open(hf_hub_download(repo, "README.md", repo_type="dataset")).read()
    assert HTML_REVISION not in readme and "onerror=alert(1)" in readme.replace("&lt;", "<")
