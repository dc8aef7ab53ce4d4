"""Every parser of model output runs in time linear in its input on adversarial shapes (no catastrophic backtracking,
no recursion blow-up): long whitespace runs, thousands of repeated openers, deep nesting, a megabyte of text.

The calls run in a helper process with a generous per-call time budget, so a quadratic (or worse) parser fails
this test instead of hanging the suite. Parsers may return a value or reject the input with a `ValueError`
(`UnparseableOutput` is one); any other exception (e.g. `RecursionError`) fails the test too.

One helper process serves all the calls of a test worker (a fresh interpreter started once, fed (parser, shape)
pairs over a pipe); one that runs past the budget is killed and the next call starts a new one. Forking the test
process per call would copy a worker that already holds torch and a model: that alone cost about two minutes of
CPU over the 33 x 26 calls.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import re
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

# (module, function name, how to call it with the adversarial text)
PARSERS: list[tuple[str, str, Callable[[Callable, str], Any]]] = [
    ("star1_hub.think", "split_think", lambda f, t: f(t)),
    ("star1_hub.think", "count_think_blocks", lambda f, t: f(t)),
    ("star1_hub.think", "answer_part", lambda f, t: f(t)),
    ("star1_hub.think", "reasoning_part", lambda f, t: f(t)),
    ("star1_hub.think", "detect_form", lambda f, t: f(t)),
    ("star1_hub.think", "normalise_reasoning", lambda f, t: f(t)),
    ("star1_hub.think", "normalise_reasoning", lambda f, t: f("the answer", t)),  # the split form's trace
    ("star1_hub.data.normalise", "split_response", lambda f, t: f(t)),
    ("star1_hub.data.normalise", "count_think_blocks", lambda f, t: f(t)),
    ("star1_hub.teacher.structured", "extract_json_value", lambda f, t: f(t)),
    ("star1_hub.teacher.structured", "without_trailing_commas", lambda f, t: f(t)),
    ("star1_hub.teacher.engine", "make_reply", lambda f, t: f({"text": t, "finish_reason": "stop"})),
    ("star1_hub.teacher.engine", "make_reply", lambda f, t: f({"text": t, "finish_reason": "stop"}, think=True)),
    ("star1_hub.curate.parsing", "extract_json", lambda f, t: f(t)),
    # the curation stages and the rubric judge read replies through their LLMTask (the production path)
    ("tests.curate.stage_replies", "read_reply", lambda f, t: f("classify", t)),
    ("tests.curate.stage_replies", "read_reply", lambda f, t: f("score", t)),
    ("tests.curate.stage_replies", "read_reply", lambda f, t: f("reason_json", t)),
    ("tests.curate.stage_replies", "read_reply", lambda f, t: f("classify", t, True)),
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
    ("tests.evaluate.judge_replies", "read_rubric", lambda f, t: f(t)),
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


def _catastrophic_regex(text: str):
    """A known exponential regex (nested quantifiers): the harness must stop it."""
    return re.match(r"(a+)+$", text)


HARNESS_CALLS = {"catastrophic_regex": (__name__, "_catastrophic_regex", lambda f, t: f(t))}
HARNESS_TEXTS = {"a40_bang": "a" * 40 + "!"}


def _entry(key: int | str) -> tuple[str, str, Callable[[Callable, str], Any]]:
    return PARSERS[key] if isinstance(key, int) else HARNESS_CALLS[key]


def _serve(connection) -> None:
    """The helper process: for each (key, shape) request, import the parser (and call it once on a short text,
    the first time), say "started", call it on the shape's text and send (seconds, outcome); ends when the pipe
    closes."""
    connection.send("ready")
    warm = set()
    while True:
        try:
            key, shape = connection.recv()
        except EOFError:
            return
        module, name, call = _entry(key)
        try:
            function = getattr(importlib.import_module(module), name)
            text = SHAPES[shape] if shape in SHAPES else HARNESS_TEXTS[shape]
            if key not in warm:  # a first call on a short text: what the parser imports lazily is not timed
                warm.add(key)
                try:
                    call(function, "Answer: (B)")
                except Exception:  # noqa: BLE001, S110 - only the warm-up; the timed call reports
                    pass
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            connection.send("started")
            connection.send((0.0, f"CRASH {type(exc).__name__}: {str(exc)[:200]}"))
            continue
        connection.send("started")
        started = time.perf_counter()
        try:
            call(function, text)
            outcome = "ok"
        except ValueError as exc:  # UnparseableOutput and friends: a clean rejection
            outcome = f"rejected: {str(exc)[:80]}"
        except BaseException as exc:  # noqa: BLE001 - reported to the parent as the failure it is
            outcome = f"CRASH {type(exc).__name__}: {str(exc)[:200]}"
        connection.send((time.perf_counter() - started, outcome))


class ParserHelper:
    """A fresh interpreter (multiprocessing "spawn") that runs parser calls one at a time, each within a budget.

    A call still running after its budget is reported as "timeout" and its process killed; the next call starts a
    new one. The budget counts from the moment the helper has imported the parser (and warmed it up) and begins
    the call, so the start of the interpreter and the parser's imports are not part of it."""

    STARTUP_S = 300.0  # generous: an interpreter start and an import on a loaded machine, not a parser's time

    def __init__(self) -> None:
        self._process = None
        self._connection = None
        self.starts = 0

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")
        parent_end, child_end = context.Pipe(duplex=True)
        process = context.Process(target=_serve, args=(child_end,), daemon=True, name="parser-fuzz-helper")
        process.start()
        child_end.close()
        self._process, self._connection = process, parent_end
        self.starts += 1
        if not parent_end.poll(self.STARTUP_S) or parent_end.recv() != "ready":
            self.stop()
            raise RuntimeError(f"the parser helper process did not start within {self.STARTUP_S:g} s")

    def run(self, key: int | str, shape: str, budget_s: float) -> tuple[float | None, str]:
        """(seconds, outcome) of one call; (None, "timeout") when it ran past the budget."""
        if self._process is None:
            self._start()
        connection = self._connection
        try:
            connection.send((key, shape))
            if not connection.poll(self.STARTUP_S) or connection.recv() != "started":
                raise EOFError
            if connection.poll(budget_s):
                return connection.recv()
        except (EOFError, OSError):  # the helper died under the call (a crash of the interpreter itself)
            code = self._process.exitcode if self._process.join(10) is None else None
            self.stop()
            return 0.0, f"CRASH the helper process died (exit code {code})"
        self.stop()
        return None, "timeout"

    def stop(self) -> None:
        """Kill the helper if it runs (idempotent); its CPU is then counted for the test that stops it."""
        if self._process is None:
            return
        self._connection.close()
        if self._process.is_alive():
            self._process.kill()
        self._process.join(10)
        self._process = self._connection = None


@pytest.fixture(scope="module")
def helper():
    running = ParserHelper()
    yield running
    running.stop()


def _parser_id(entry) -> str:
    module, name, _ = entry
    return f"{module.rsplit('.', 1)[-1]}.{name}"


@pytest.mark.parametrize("index", range(len(PARSERS)), ids=[f"{_parser_id(e)}#{i}" for i, e in enumerate(PARSERS)])
def test_parser_is_linear_on_adversarial_shapes(index, helper):
    module, name, _ = PARSERS[index]
    _resolve(module, name)  # an own module must import; another one that is absent skips the test
    problems, timings = [], {}
    for shape in SHAPES:
        elapsed, outcome = helper.run(index, shape, BUDGET_S)
        timings[shape] = elapsed
        if elapsed is None:
            problems.append(f"{shape}: still running after {BUDGET_S:g} s")
        elif outcome.startswith("CRASH"):
            problems.append(f"{shape}: {outcome}")
    slowest = max((t or BUDGET_S, s) for s, t in timings.items())
    assert not problems, f"{module}.{name} (slowest {slowest[1]} {slowest[0]:.2f} s):\n" + "\n".join(problems)


def test_the_budget_catches_a_catastrophic_regex(helper):
    """The harness itself can fail: a known exponential regex runs past the budget, and the helper that was
    killed for it is replaced for the next call."""
    elapsed, outcome = helper.run("catastrophic_regex", "a40_bang", 1.0)
    assert elapsed is None and outcome == "timeout"
    starts = helper.starts
    elapsed, outcome = helper.run(0, "answer_200_spaces", BUDGET_S)
    assert outcome == "ok" and elapsed is not None and helper.starts == starts + 1
