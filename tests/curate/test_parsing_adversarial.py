"""Every curation stage reads adversarial model output in linear time and rejects it as `unparseable`, never hangs
or crashes (long whitespace runs, repeated openers, deep nesting, a megabyte of text): each shape goes through the
stage's production path (tests/curate/stage_replies.py), with and without structured output."""

from __future__ import annotations

import time

import pytest

from star1_hub.curate.parsing import extract_json
from star1_hub.errors import UnparseableOutput
from star1_hub.think import MAX_OUTPUT_CHARS
from tests.curate.stage_replies import STAGES, read_reply

PARSERS = {
    "extract_json": extract_json,  # the rewrite stage's JSON reader
    **{table: (lambda text, table=table: read_reply(table, text)) for table in STAGES},
    **{f"{table}_structured": (lambda text, table=table: read_reply(table, text, True)) for table in STAGES},
}
SHAPES = {
    "whitespace_run": '{"categories":' + " " * 100_000 + "Z",
    "fence_then_spaces": "```json\n" + " " * 100_000,
    "many_fences": "```" * 30_000,
    "many_openers": "{" * 150_000,
    "many_brackets_in_prose": "x [" * 50_000,
    "deep_nesting": "[" * 100_000 + "]" * 100_000,
    "deep_nesting_object": '{"a":' * 50_000 + "1" + "}" * 50_000,
    "think_openers": "<think>" * 20_000,
    "think_then_spaces": "<think>" + " " * 200_000,
    "newlines": "\n" * 200_000,
    "megabyte": "word " * 210_000,
}
BUDGET_S = 5.0  # generous bound against a hang on a shared 2-core machine; real figures are far below


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("parser", list(PARSERS))
def test_parser_rejects_adversarial_shape_quickly(parser, shape):
    started = time.perf_counter()
    try:
        PARSERS[parser](SHAPES[shape])
    except UnparseableOutput:
        pass
    elapsed = time.perf_counter() - started
    assert elapsed < BUDGET_S, f"{parser} on {shape}: {elapsed:.2f} s"


def test_deeply_nested_json_is_unparseable_not_a_recursion_error():
    with pytest.raises(UnparseableOutput, match="nested too deeply|no JSON"):
        read_reply("classify", "[" * 100_000 + "]" * 100_000)


def test_a_reply_above_the_cap_is_rejected_with_the_reason():
    with pytest.raises(UnparseableOutput, match="above the"):
        read_reply("classify", '{"categories": ["Other"]}' + " " * MAX_OUTPUT_CHARS)
    with pytest.raises(UnparseableOutput, match="above the"):
        extract_json('{"question": "x"}' + " " * 300_000)  # the rewrite stage's JSON search is capped lower
