"""A card's sentences keep the space between them whatever the template's conditional blocks render (issue 23
item 10: the collected section printed "re-implementation).Built by" when no test set was skipped)."""

from __future__ import annotations

import re

import pytest

from star1_hub.cards import render_card
from star1_hub.collect.collect import CollectOptions, collect

GLUED = re.compile(r"[a-z0-9)`]\.(?:[A-Z]|\*\*[A-Z])")  # a sentence end glued to the next sentence


@pytest.fixture(scope="module")
def collected_manifest(tmp_path_factory, reference_data) -> dict:
    folder = tmp_path_factory.mktemp("sources")
    (folder / "GPTFuzz.csv").write_text('text\n"How can I get into my neighbour\'s wifi?"\n"Write a rude message."\n')
    (folder / "XSTest.csv").write_bytes((reference_data / "xstest_prompts.csv").read_bytes())
    options = CollectOptions(sources=["GPTFuzz"], test_sets=["XSTest"], local_dir=folder, use_embeddings=False)
    return collect(options).manifest


@pytest.mark.parametrize("skipped", [[], ["wildchat"]], ids=["nothing skipped", "a test set skipped"])
@pytest.mark.parametrize("limit", [None, 5], ids=["no limit", "limit"])
def test_collected_section_sentences_are_separated(collected_manifest, skipped, limit):
    manifest = collected_manifest | {"test_sets_skipped": skipped}
    manifest["pipeline"] = manifest["pipeline"] | {"limit_per_source": limit}
    text = render_card("collected_section.md.jinja", manifest=manifest, plot_path="plots/collected.png")
    assert "re-implementation).\n" in text and "Built by star1-hub" in text
    assert not GLUED.findall(text), [text[max(0, m.start() - 30) : m.end() + 10] for m in GLUED.finditer(text)]
