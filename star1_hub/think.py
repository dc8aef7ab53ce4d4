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
FORMS: tuple[str, ...] = ("inline", "prefilled", "split", "none")


def check_size(text: str, what: str = "output") -> None:
    """Raise `UnparseableOutput` when `text` is longer than `MAX_OUTPUT_CHARS`."""
    if len(text) > MAX_OUTPUT_CHARS:
        raise UnparseableOutput(f"{what} is {len(text):,} characters, above the {MAX_OUTPUT_CHARS:,} accepted")


def format_think(reasoning: str, answer: str) -> str:
    """The canonical layout `<think>\\n{reasoning}\\n</think>\\n\\n{answer}` (both parts stripped)."""
    return f"{THINK_OPEN}\n{reasoning.strip()}\n{THINK_CLOSE}\n\n{answer.strip()}"


def split_think(response: str) -> tuple[str, str]:
    """Split `<think>…</think> answer` into (reasoning, answer), both stripped.

    A response that does not start with `<think>` or whose trace never closes is all answer:
    `("", response.strip())`. JSON-escaped slashes (`\\/`) are unescaped first, as the original training code
    did. The first `</think>` after the opening tag ends the trace.
    """
    text = response.replace("\\/", "/").strip()
    if not text.startswith(THINK_OPEN):
        return "", text
    end = text.find(THINK_CLOSE, len(THINK_OPEN))
    if end < 0:
        return "", text
    return text[len(THINK_OPEN) : end].strip(), text[end + len(THINK_CLOSE) :].strip()


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


def answer_part(generation: str) -> str:
    """The text that may hold the final answer: after the last `</think>`; "" when a trace opened but never
    closed; the whole (stripped) generation when there are no think tags."""
    end = generation.rfind(THINK_CLOSE)
    if end >= 0:
        return generation[end + len(THINK_CLOSE) :].strip()
    if THINK_OPEN in generation:
        return ""
    return generation.strip()


def reasoning_part(generation: str) -> str:
    """The trace: the text between `<think>` and the last `</think>` (or up to the end when it never closed)."""
    end = generation.rfind(THINK_CLOSE)
    head = generation if end < 0 else generation[:end]
    start = head.find(THINK_OPEN)
    if start >= 0:
        return head[start + len(THINK_OPEN) :].strip()
    return "" if end < 0 else head.strip()


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


def parse_think_response(text: str | None) -> str:
    """Strict parser for a reply that must carry one closed trace then an answer; returns the canonical layout.

    Accepts the inline and the prefilled form (see `normalise_reasoning`).
    """
    return normalise_reasoning(text, None, require_think=True)[0]
