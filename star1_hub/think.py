"""The think layout: one place that knows how reasoning traces and answers are written and read.

The canonical layout of every stored response is

    <think>
    {reasoning}
    </think>

    {answer}

Real R1 servers return the reasoning in three forms (`normalise_reasoning` accepts all of them):

- `inline`: `content` is `<think>…</think>answer` (older chat templates, some hosted APIs);
- `prefilled`: the chat template already ended the prompt with `<think>\\n` (DeepSeek's current R1 and
  R1-Distill templates), so `content` starts inside the trace and only `</think>` appears;
- `split`: the server separates the trace (the DeepSeek API, vLLM/SGLang with `--reasoning-parser deepseek_r1`):
  `message.reasoning_content` (newer vLLM and some gateways: `message.reasoning`) holds the trace and
  `content` only the answer.

A reply whose trace never closes has no answer: it is rejected (`UnparseableOutput`), never stored as one.

One rule reads every response, stored or generated (`split_think`): **the trace ends at the LAST `</think>`; the
answer is the text after it** (STAR-1's graders read the answer after `</think>`; a trace that quotes or repeats
the tag never leaks into the answer). Its `reading` parameter only decides what the rule leaves open — a stored
row that is not in the layout is all answer, a generation whose trace never closed has no answer — and
`answer_part` / `reasoning_part` are its two halves for model output (the graders, judges and engine use them).

Every function here runs in time linear in its input (plain `str.find`/`count`, no backtracking regexes) and
rejects inputs longer than `MAX_OUTPUT_CHARS` with a reason, because model output is untrusted.
"""

from __future__ import annotations

from typing import Literal

from star1_hub.errors import UnparseableOutput

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
MAX_OUTPUT_CHARS = 2_000_000
"""Longest model output the parsers accept (≈ 500k tokens, far above any real completion)."""

ReasoningForm = Literal["inline", "prefilled", "split", "none"]
Reading = Literal["stored", "generation"]
READINGS: tuple[str, ...] = ("stored", "generation")
FORMS: tuple[str, ...] = ("inline", "prefilled", "split", "none")


def check_size(text: str, what: str = "output") -> None:
    """Raise `UnparseableOutput` when `text` is longer than `MAX_OUTPUT_CHARS`."""
    if len(text) > MAX_OUTPUT_CHARS:
        raise UnparseableOutput(f"{what} is {len(text):,} characters, above the {MAX_OUTPUT_CHARS:,} accepted")


def format_think(reasoning: str, answer: str) -> str:
    """The canonical layout `<think>\\n{reasoning}\\n</think>\\n\\n{answer}` (both parts stripped)."""
    return f"{THINK_OPEN}\n{reasoning.strip()}\n{THINK_CLOSE}\n\n{answer.strip()}"


def split_think(text: str, *, reading: Reading = "stored", reasoning: bool | None = None) -> tuple[str, str]:
    """Split a response into (reasoning, answer), both stripped, by THE rule: the trace ends at the LAST `</think>`
    and the answer is the text after it (see the module docstring).

    Args:
        text: the response.
        reading: what `text` is, which decides only the cases the rule leaves open:
            - "stored": a dataset row's response (written in the canonical layout). JSON-escaped slashes (`\\/`)
              are unescaped first, as the original training code did; a text that does not start with
              `<think>`, or whose trace never closes, is all answer: `("", text)`.
            - "generation": a model's raw output, which may be prefilled (only `</think>` appears), truncated
              (the trace never closed) or repeat `</think>`. The trace is the text before the last `</think>`,
              from after the first `<think>` before it; a trace that never closed has no answer: `(trace, "")`.
              A generation longer than `MAX_OUTPUT_CHARS` has neither: `("", "")`.
        reasoning: "generation" only: whether the run's model is a reasoning model, which decides a generation
            without `</think>`: True → all trace (its template opened the trace, the output never closed it),
            False → all answer, None → decided from the generation's own `<think>`.
    """
    if reading == "stored":
        text = text.replace("\\/", "/").strip()
        end = text.rfind(THINK_CLOSE)
        if not text.startswith(THINK_OPEN) or end < len(THINK_OPEN):
            return "", text
        return text[len(THINK_OPEN) : end].strip(), text[end + len(THINK_CLOSE) :].strip()
    if reading != "generation":
        raise ValueError(f"unknown reading {reading!r}; choose one of {READINGS}")
    if len(text) > MAX_OUTPUT_CHARS:
        return "", ""
    end = text.rfind(THINK_CLOSE)
    head = text if end < 0 else text[:end]
    start = head.find(THINK_OPEN)
    trace = head if start < 0 else head[start + len(THINK_OPEN) :]
    if end >= 0:
        return trace.strip(), text[end + len(THINK_CLOSE) :].strip()
    if reasoning is None:
        reasoning = start >= 0
    return (trace.strip(), "") if reasoning else ("", text.strip())


def count_think_blocks(response: str) -> int:
    """Number of complete, non-overlapping `<think>…</think>` blocks (each opener matched to the next closer)."""
    count, position = 0, 0
    while True:
        start = response.find(THINK_OPEN, position)
        if start < 0:
            return count
        end = response.find(THINK_CLOSE, start + len(THINK_OPEN))
        if end < 0:
            return count
        count += 1
        position = end + len(THINK_CLOSE)


def answer_part(generation: str, reasoning: bool | None = None) -> str:
    """The part of a model's output that may hold the final answer: `split_think(reading="generation")`'s answer
    (after the last `</think>`; "" when a trace opened but never closed or `reasoning` says the model thinks)."""
    return split_think(generation, reading="generation", reasoning=reasoning)[1]


def reasoning_part(generation: str) -> str:
    """The trace of a model's output: `split_think(reading="generation")`'s reasoning (between `<think>` and the
    last `</think>`, or up to the end when it never closed)."""
    return split_think(generation, reading="generation")[0]


def detect_form(content: str | None, reasoning: str | None = None) -> ReasoningForm:
    """Which of the forms a reply arrived in (without validating it)."""
    if reasoning and reasoning.strip():
        return "split"
    text = (content or "").lstrip()
    if text.startswith(THINK_OPEN):
        return "inline"
    if THINK_CLOSE in text:
        return "prefilled"
    return "none"


def _strict_parts(content: str, form: ReasoningForm) -> tuple[str, str]:
    """(reasoning, answer) of an inline or prefilled reply with exactly one trace, else UnparseableOutput."""
    opens, closes = content.count(THINK_OPEN), content.count(THINK_CLOSE)
    if form == "inline" and (opens != 1 or closes != 1):
        raise UnparseableOutput(f"expected exactly one <think>…</think> block, found {opens} open / {closes} close")
    if form == "prefilled" and opens == 1 and closes == 1:
        raise UnparseableOutput("text before <think>")
    if form == "prefilled" and (opens != 0 or closes != 1):
        raise UnparseableOutput(
            f"a prefilled trace must close exactly once and not reopen, found {opens} open / {closes} close"
        )
    body = content.strip()
    if form == "inline":
        body = body[len(THINK_OPEN) :]
    end = body.find(THINK_CLOSE)
    return body[:end], body[end + len(THINK_CLOSE) :]


def normalise_reasoning(
    content: str | None, reasoning_content: str | None = None, *, require_think: bool = True
) -> tuple[str, ReasoningForm]:
    """Turn a reply in any of the three R1 forms into the canonical layout; returns (canonical_text, form).

    Args:
        content: `message.content`.
        reasoning_content: `message.reasoning_content` (or `message.reasoning`), None when the server sent none.
        require_think: True for teachers whose reply must carry a trace (the reason stage): a reply without one
            is unparseable. False for free text (e.g. an evaluated model that may not think): a reply with no
            think tags and no separate trace comes back unchanged with form "none".

    Raises:
        UnparseableOutput: empty output; a trace that never closes (content with `<think>` but no `</think>`);
            several traces; text before `<think>`; an empty trace or an empty answer; think tags in the answer of
            a split reply; an input longer than `MAX_OUTPUT_CHARS`.
    """
    content = content or ""
    check_size(content)
    if reasoning_content:
        check_size(reasoning_content, "reasoning_content")
    form = detect_form(content, reasoning_content)
    if form == "split":
        if THINK_OPEN in content or THINK_CLOSE in content:
            raise UnparseableOutput("think tags in `content` although the trace came separately in reasoning_content")
        reasoning, answer = reasoning_content or "", content
    elif form == "none":
        if not content.strip():
            raise UnparseableOutput("empty output")
        if THINK_OPEN in content:
            raise UnparseableOutput("text before <think>" if content.count(THINK_OPEN) == 1 else "several <think>")
        if require_think:
            raise UnparseableOutput(
                "no reasoning trace: no </think> in the content and no reasoning_content (a trace that never "
                "closed is not an answer)"
            )
        return content, "none"
    else:
        if form == "inline" and THINK_CLOSE not in content:
            raise UnparseableOutput("the reasoning trace never closed (no </think>): there is no answer")
        reasoning, answer = _strict_parts(content, form)
    if not reasoning.strip():
        raise UnparseableOutput("empty reasoning trace")
    if not answer.strip():
        raise UnparseableOutput("empty answer after the reasoning trace")
    return format_think(reasoning, answer), form
