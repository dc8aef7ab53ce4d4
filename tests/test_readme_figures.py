"""The string-match refusal judge's agreement figures that the README and docs/deviations.md quote are the ones
`python -m bench.eval_judge_agreement` computes from the labelled rows the repository ships (one place)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.eval_judge_agreement import headline_figures, load_groups

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def figures() -> dict:
    return headline_figures(*load_groups())


def _section(text: str, start: str) -> str:
    return text[text.index(start) :].split("\n\n", 1)[0]


def test_the_readme_paragraph_quotes_the_bench(figures):
    paragraph = " ".join(_section((ROOT / "README.md").read_text(encoding="utf-8"), "String-match refusal").split())
    assert f"human labels of {figures['heldout']} on {figures['heldout_n']} completions of two models" in paragraph
    assert f"own string matcher scores {figures['heldout_xstest']}" in paragraph
    assert f"{figures['gpt4']} on the {figures['gpt4_n']} GPT-4 completions" in paragraph
    assert f"{figures['written']} on completions written for this project" in paragraph


def test_the_readme_bench_table_row_quotes_the_bench(figures):
    (row,) = [
        line for line in (ROOT / "README.md").read_text().splitlines() if "bench.eval_judge_agreement` |" in line
    ]
    assert f"{figures['heldout']} on {figures['heldout_n']} completions of two held-out models" in row
    assert f"(XSTest's own matcher {figures['heldout_xstest']})" in row
    assert f"{figures['gpt4']} on {figures['gpt4_n']} GPT-4 completions" in row


def test_the_deviations_row_quotes_the_bench(figures):
    (row,) = [
        line
        for line in (ROOT / "docs" / "deviations.md").read_text().splitlines()
        if "XSTest over-refusal score without a judge" in line
    ]
    assert f"{figures['heldout']} agreement with XSTest's human labels on {figures['heldout_n']} completions" in row
    assert f"XSTest's own matcher scores {figures['heldout_xstest']}" in row


def test_no_other_agreement_figure_for_the_string_judge_in_the_readme(figures):
    """Every 0.xxx in the README's judge paragraph is a bench figure, or the labelled 'before' figure."""
    paragraph = _section((ROOT / "README.md").read_text(encoding="utf-8"), "String-match refusal")
    quoted = set(re.findall(r"\b0\.\d{3}\b", paragraph))
    assert quoted - {figures["heldout"], figures["heldout_xstest"], figures["gpt4"]} <= {"0.869"}
    assert "0.869 before the" in " ".join(paragraph.split())  # historical, labelled as such


def test_eval_graders_shows_the_same_held_out_figure(figures):
    """`star1 eval graders` and the eval card compute the held-out agreement themselves: the same number."""
    from star1_hub.evaluate import graders

    result = graders.validate("refusal_string")
    assert (result.n, f"{result.agreement:.3f}") == (figures["heldout_n"], figures["heldout"])
