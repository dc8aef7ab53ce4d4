"""Untrusted values (ids, revisions, judge and dataset names) cannot add HTML or forge cells in anything we render."""

from __future__ import annotations

import re
from importlib import resources

import pytest
from huggingface_hub import EvalResult
from markdown_it import MarkdownIt

from star1_hub.cards import template_names
from star1_hub.cards.escape import md_cell, md_code_cell, md_link
from star1_hub.cards.model_card import evaluation_section

HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "guard|forged cell",
    "[click](javascript:alert(1))",
    "a`b",
    "line\nbreak",
    "back\\|slash",
    "v$\\x$",
    "&lt;script&gt;",
]


def render(markdown: str) -> str:
    """HTML of `markdown` as a GFM-style renderer (tables on) makes it."""
    return MarkdownIt("commonmark").enable("table").render(markdown)


def cells(html: str) -> list[list[str]]:
    """The text of every cell of every table row in `html`."""
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)
    return [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S) for row in rows]


def unescape(html: str) -> str:
    return html.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_cell_renders_as_its_own_text_in_one_cell(value):
    html = render(f"| a | b | c |\n|---|---|---|\n| x | {md_cell(value)} | y |\n")
    assert "<img" not in html and "<a " not in html and "<script" not in html
    body = cells(html)[1]
    assert len(body) == 3, f"{value!r} forged cells: {body}"
    assert unescape(body[1]) == value.replace("\n", " ")  # the reader sees the value itself


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_code_cell_stays_one_code_span_in_one_cell(value):
    html = render(f"| a | b |\n|---|---|\n| {md_code_cell(value)} | y |\n")
    body = cells(html)[1]
    assert len(body) == 2 and body[0].startswith("<code>") and body[0].endswith("</code>")
    assert "<img" not in html


def test_links_keep_only_http_urls_and_escape_their_text():
    assert (
        md_link("details", "https://hub.example/datasets/o/d (1)")
        == "[details](https://hub.example/datasets/o/d%20%281%29)"
    )
    assert md_link("x](y)", "javascript:alert(1)") == "x\\](y)"
    assert md_cell(None) == "–" and md_cell(12.5) == "12.5"


def test_every_table_cell_of_every_shipped_template_is_escaped():
    """A template line that starts a table row writes values only through the `cell`, `code_cell` or `link`
    filters (a new template or column that forgets it fails here)."""
    folder = resources.files("star1_hub.cards").joinpath("templates")
    unescaped = []
    for name in template_names():
        for number, line in enumerate(folder.joinpath(name).read_text(encoding="utf-8").splitlines(), 1):
            if not line.startswith("|"):
                continue
            for expression in re.findall(r"\{\{(.*?)\}\}", line):
                if not re.search(r"\|\s*(cell|code_cell|link(\(.*\))?)\s*$", expression.strip()):
                    unescaped.append(f"{name}:{number}: {{{{{expression}}}}}")
    assert unescaped == []


def test_model_card_evaluation_table_escapes_names_and_links():
    results = [
        EvalResult(
            task_type="text-generation",
            dataset_type="o/d",
            dataset_name="bench|<img src=x onerror=alert(1)>",
            metric_type="acc",
            metric_value=0.5,
            metric_name="rate [x](javascript:y)",
            source_name="details`",
            source_url="javascript:alert(1)",
        )
    ]
    html = render(evaluation_section(results))
    assert "<img" not in html and "<a " not in html
    header, row = cells(html)
    assert len(row) == len(header) == 5
    assert unescape(row[0]) == "bench|<img src=x onerror=alert(1)>"
