"""Every parser of model output runs in time linear in its input on adversarial shapes (no catastrophic backtracking,
no recursion blow-up): long whitespace runs, thousands of repeated openers, deep nesting, a megabyte of text.

Each call runs in a forked child process with a generous time budget, so a quadratic (or worse) parser fails
this test instead of hanging the suite. Parsers may return a value or reject the input with a `ValueError`
(`UnparseableOutput` is one); any other exception (e.g. `RecursionError`) fails the test too.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import time
from collections.abc import Callable
from typing import Any

import pytest

BUDGET_S = float(os.environ.get("STAR1_PARSER_BUDGET_S", "5.0"))
"""Per-call limit; a linear parser takes well under a second on every shape (figures in the issue note)."""

MB = 1_000_000
SHAPES: dict[str, str] = {
    "answer_200_spaces": "Answer:" + " " * 200 + "Z",
    "answer_20k_spaces": "Answer:" + " " * 20_000 + "Z",
    "answer_is_newlines": "The answer is" + "\n" * 20_000 + ":" + "\n" * 20_000 + "(Q",
    "newlines_100k": "\n" * 100_000 + "Answer: (B)",
    "think_5k_spaces": "<think>" + " " * 5_000,
    "think_200k_spaces": "<think>" + " " * 200_000 + "x",
    "think_openers_20k": "<think>" * 20_000,
    "think_closers_20k": "</think>" * 20_000 + "answer",
    "think_pairs_open_20k": "<think>x" * 20_000 + "</think>",
    "fence_2k_spaces": "```json" + " " * 2_000 + "{",
    "fence_200k_spaces": "```" + " " * 200_000 + '{"a": 1,',
    "fences_10k": "```json\n{\n" * 10_000,
    "boxed_8k": "\\boxed{" * 8_000,
    "boxed_50k": "\\boxed{" * 50_000 + "1",
    "fbox_spaces": "\\fbox" + " " * 100_000 + "{",
    "deep_list_100k": "[" * 100_000 + "]" * 100_000,
    "deep_object_30k": '{"a":' * 30_000 + "1" + "}" * 30_000,
    "open_braces_200k": "{" * 200_000,
    "commas_200k": "[" + "1," * 100_000 + "]",
    "quotes_100k": '"' * 100_000,
    "one_mb_prose": ("The reasoning continues; the answer is (C) = \\boxed{42}. " * 20_000)[:MB],
    "one_mb_think": "<think>" + "a" * (MB // 2) + "</think>" + "Answer: B " * (MB // 20),
    "one_mb_json_prose": "Here: " + '{"score": 5, "x": [1, 2, 3]} ' * (MB // 30),
    "category_spam": '{"categories": [' + '"Privacy Violations", ' * 50_000 + "]}",
    "unsafe_spam": "unsafe\n" + "S1," * 100_000,
    "sorry_spam": "I'm sorry, but " * 50_000,
}

SCORE_KEYS = ("Content_Safety_Compliance", "Relevancy_and_No_Redundant_Content", "Accuracy_of_Thinking_Process")

# (module, function name, how to call it with the adversarial text)
PARSERS: list[tuple[str, str, Callable[[Callable, str], Any]]] = [
    ("star1_hub.think", "split_think", lambda f, t: f(t)),
    ("star1_hub.think", "count_think_blocks", lambda f, t: f(t)),
    ("star1_hub.think", "answer_part", lambda f, t: f(t)),
    ("star1_hub.think", "reasoning_part", lambda f, t: f(t)),
    ("star1_hub.think", "detect_form", lambda f, t: f(t)),
    ("star1_hub.think", "normalise_reasoning", lambda f, t: f(t)),
    ("star1_hub.think", "normalise_reasoning", lambda f, t: f("the answer", t)),  # the split form's trace
    ("star1_hub.think", "parse_think_response", lambda f, t: f(t)),
    ("star1_hub.data.normalise", "split_response", lambda f, t: f(t)),
    ("star1_hub.data.normalise", "count_think_blocks", lambda f, t: f(t)),
    ("star1_hub.teacher.structured", "parse_json_output", lambda f, t: f(t)),
    ("star1_hub.teacher.structured", "parse_json_output", lambda f, t: f(t, {"type": "object"}, allow_fence=True)),
    ("star1_hub.teacher.structured", "extract_json_value", lambda f, t: f(t)),
    ("star1_hub.teacher.structured", "without_trailing_commas", lambda f, t: f(t)),
    ("star1_hub.teacher.engine", "make_reply", lambda f, t: f({"text": t, "finish_reason": "stop"})),
    ("star1_hub.teacher.engine", "make_reply", lambda f, t: f({"text": t, "finish_reason": "stop"}, think=True)),
    ("star1_hub.curate.parsing", "strip_trailing_commas", lambda f, t: f(t)),
    ("star1_hub.curate.parsing", "extract_json", lambda f, t: f(t)),
    ("star1_hub.curate.parsing", "parse_categories", lambda f, t: f(t)),
    ("star1_hub.curate.parsing", "parse_scores", lambda f, t: f(t, SCORE_KEYS, 0, 10)),
    ("star1_hub.curate.parsing", "parse_json_response", lambda f, t: f(t)),
    ("star1_hub.curate.parsing", "parse_rewrite", lambda f, t: f(t)),
    ("star1_hub.evaluate.extract", "answer_part", lambda f, t: f(t)),
    ("star1_hub.evaluate.extract", "reasoning_part", lambda f, t: f(t)),
    ("star1_hub.evaluate.extract", "extract_math_answer", lambda f, t: f(t)),
    ("star1_hub.evaluate.extract", "extract_integer_answer", lambda f, t: f(t)),
    ("star1_hub.evaluate.extract", "extract_choice", lambda f, t: f(t)),
    ("star1_hub.evaluate.extract", "extract_choice", lambda f, t: f(t, "ABCDEFGHIJ")),
    ("star1_hub.evaluate.extract", "extract_code", lambda f, t: f(t)),
    ("star1_hub.evaluate.judges.guard", "parse_guard_output", lambda f, t: f(t)),
    ("star1_hub.evaluate.judges.refusal", "parse_refusal_label", lambda f, t: f(t)),
    ("star1_hub.evaluate.judges.refusal", "string_match_label", lambda f, t: f(t)),
    ("star1_hub.evaluate.judges.strongreject", "parse_rubric", lambda f, t: f(t)),
]
OWN_MODULES = (
    "star1_hub.think",
    "star1_hub.data.normalise",
    "star1_hub.teacher.structured",
    "star1_hub.teacher.engine",
)


def _resolve(module: str, name: str) -> Callable:
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        if module in OWN_MODULES:
            raise
        pytest.skip(f"{module}.{name} is not available ({exc})")


def _child(function: Callable, call: Callable, text: str, connection) -> None:
    started = time.perf_counter()
    try:
        call(function, text)
        outcome = "ok"
    except ValueError as exc:  # UnparseableOutput and friends: a clean rejection
        outcome = f"rejected: {str(exc)[:80]}"
    except BaseException as exc:  # noqa: BLE001 - reported to the parent as the failure it is
        outcome = f"CRASH {type(exc).__name__}: {str(exc)[:200]}"
    connection.send((time.perf_counter() - started, outcome))
    connection.close()


def run_with_budget(function: Callable, call: Callable, text: str, budget_s: float) -> tuple[float | None, str]:
    """(seconds, outcome) of one call in a forked child; (None, "timeout") when it ran past the budget."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(function, call, text, sender), daemon=True)
    process.start()
    sender.close()
    if receiver.poll(budget_s):
        elapsed, outcome = receiver.recv()
        process.join(10)
        return elapsed, outcome
    process.kill()
    process.join(10)
    return None, "timeout"


def _parser_id(entry) -> str:
    module, name, _ = entry
    return f"{module.rsplit('.', 1)[-1]}.{name}"


@pytest.mark.parametrize("entry", PARSERS, ids=[f"{_parser_id(e)}#{i}" for i, e in enumerate(PARSERS)])
def test_parser_is_linear_on_adversarial_shapes(entry):
    module, name, call = entry
    function = _resolve(module, name)
    problems, timings = [], {}
    for shape, text in SHAPES.items():
        elapsed, outcome = run_with_budget(function, call, text, BUDGET_S)
        timings[shape] = elapsed
        if elapsed is None:
            problems.append(f"{shape}: still running after {BUDGET_S:g} s")
        elif outcome.startswith("CRASH"):
            problems.append(f"{shape}: {outcome}")
    slowest = max((t or BUDGET_S, s) for s, t in timings.items())
    assert not problems, f"{module}.{name} (slowest {slowest[1]} {slowest[0]:.2f} s):\n" + "\n".join(problems)


def test_the_budget_catches_a_catastrophic_regex():
    """The harness itself can fail: a known exponential regex runs past the budget."""
    import re

    def backtracking(text: str):
        return re.match(r"(a+)+$", text)

    elapsed, outcome = run_with_budget(backtracking, lambda f, t: f(t), "a" * 40 + "!", 1.0)
    assert elapsed is None and outcome == "timeout"
