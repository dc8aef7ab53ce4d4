"""Answer extraction from model generations, restricted to the answer part after the reasoning trace.

The original STAR-1 graders took the *first* regex match or code block anywhere in the generation, which often
came from a draft inside the reasoning trace (see docs/deviations.md). Every extractor here first cuts the
generation down to its answer part, then takes the *last* well-formed answer in it.

Which part is the answer depends on whether the evaluated model is a reasoning model, decided once per run
(`star1_hub.evaluate.reasoning`), so a base R1-Distill model served with its own template (which pre-fills
`<think>\\n`, its output only closes the trace) and a STAR-1 model that writes `<think>` itself are scored alike:

- reasoning model: the text after the last `</think>`; no `</think>` → no answer (a truncated trace);
- non-reasoning model: the whole generation (after a stray `</think>` if one appears);
- unknown (`reasoning=None`, a single generation looked at alone): decided from the generation's own tags.

Every function runs in time linear in its input (no nested unbounded quantifiers, `str.find` scans) and gives
no answer for a generation longer than `star1_hub.think.MAX_OUTPUT_CHARS`.
"""

from __future__ import annotations

import re

from star1_hub.think import MAX_OUTPUT_CHARS, THINK_CLOSE, THINK_OPEN
from star1_hub.think import reasoning_part as reasoning_part  # re-exported: one trace rule for every caller


def answer_part(generation: str, reasoning: bool | None = None) -> str:
    """The part of `generation` that may contain the final answer (see the module docstring).

    Args:
        generation: the model's output.
        reasoning: whether the run's model is a reasoning model; None decides from this generation's tags.
    """
    if len(generation) > MAX_OUTPUT_CHARS:
        return ""
    end = generation.rfind(THINK_CLOSE)
    if end >= 0:
        return generation[end + len(THINK_CLOSE) :].strip()
    if reasoning is None:
        reasoning = THINK_OPEN in generation
    return "" if reasoning else generation.strip()


def trace_closed(generation: str) -> bool:
    """True when the generation contains `</think>` (a reasoning model's trace ended and an answer may follow)."""
    return THINK_CLOSE in generation


_BOXED_OPEN = re.compile(r"\\(?:boxed|fbox)[ \t\n]*+\{")


def _boxed_contents(text: str) -> list[str]:
    """All `\\boxed{...}` / `\\fbox{...}` contents in order of their opening, with balanced braces of any depth.

    One pass over the text with a stack of open braces: linear however many openers never close.
    """
    starts = {m.end() - 1: m.end() for m in _BOXED_OPEN.finditer(text)}  # position of "{" → content start
    found: list[tuple[int, str]] = []
    stack: list[int] = []
    for pos, char in enumerate(text):
        if char == "{":
            stack.append(pos)
        elif char == "}" and stack:
            opened = stack.pop()
            if opened in starts:
                found.append((opened, text[starts[opened] : pos].strip()))
    return [content for _, content in sorted(found)]


# possessive quantifiers (`*+`, `?+`): whitespace runs are consumed once, never re-split by backtracking
_ANSWER_LINE = re.compile(r"(?i)\banswer\s*+(?:is)?+\s*+[:：]\s*+(.+)")
_ANSWER_IS = re.compile(r"(?i)\b(?:final answer|answer) is\s*+[:：]?+\s*+(.+)")


def _clean_inline(value: str) -> str:
    value = value.strip()
    value = value.strip("*").strip()
    if value.startswith("$") and value.endswith("$") and len(value) > 1:
        value = value.strip("$").strip()
    value = value.removeprefix("\\(").removesuffix("\\)").strip()
    return value.rstrip(".").strip()


def extract_math_answer(generation: str, reasoning: bool | None = None) -> str | None:
    """Final math answer of a generation: last `\\boxed{}`, else last `Answer: X` line, else last "answer is X".

    Returns None when the answer part has none of them (never a guess from the reasoning trace).
    """
    text = answer_part(generation, reasoning)
    if not text:
        return None
    boxed = _boxed_contents(text)
    if boxed:
        return boxed[-1]
    for pattern in (_ANSWER_LINE, _ANSWER_IS):
        matches = [m.group(1) for line in text.splitlines() if (m := pattern.search(line))]
        if matches:
            value = _clean_inline(matches[-1])
            boxed_inner = _boxed_contents(value)
            return boxed_inner[-1] if boxed_inner else (value or None)
    return None


def _trailing_digits(text: str) -> str:
    end = len(text)
    start = end
    while start > 0 and text[start - 1].isdigit():
        start -= 1
    return text[start:end]


def extract_integer_answer(generation: str, reasoning: bool | None = None) -> str | None:
    """AIME-style answer: the math answer reduced to an integer string without leading zeros, if it is one.

    `"\\boxed{033}"` → `"33"`; `"\\boxed{x = 204}"` → `"204"` (trailing integer); non-numeric → the raw string.
    """
    raw = extract_math_answer(generation, reasoning)
    if raw is None:
        return None
    compact = raw.replace(",", "").replace(" ", "").replace("{", "").replace("}", "")
    if compact.isdigit():
        return str(int(compact))
    trailing = _trailing_digits(compact)
    return str(int(trailing)) if trailing else raw


_ANSWER_WORD = re.compile(r"(?i)\banswer")
_SPACE = " \t\n\r"


def _choice_after(text: str, pos: int, letters: str, needs_is: bool) -> str | None:
    """The letter right after the word "answer" ending at `pos` (`: X`, `:** $X$`, `: (X)`, ` is (X)`), or None.

    Index-based scanning over whitespace and a few fixed tokens only: the characters it passes over can never
    start another "answer", so all calls together read the text about once.
    """
    n = len(text)

    def skip(chars: str) -> None:
        nonlocal pos
        while pos < n and text[pos] in chars:
            pos += 1

    def take(*tokens: str) -> bool:
        nonlocal pos
        for token in tokens:
            if text.startswith(token, pos):
                pos += len(token)
                return True
        return False

    if needs_is:
        if not take(" is", " IS", " Is"):
            return None
        skip(_SPACE)
        take(":", "：")
    else:
        skip("*")
        skip(_SPACE)
        if not take(":", "："):
            return None
    for _ in range(3):  # `**`, `$`, `\text{`, `\boxed{`, `(` in any order, with spaces between
        skip(_SPACE + "*$")
        if not take("\\text{", "\\boxed{", "("):
            break
    skip(_SPACE)
    if pos < n and text[pos] in letters and (pos + 1 >= n or not text[pos + 1].isalnum()):
        return text[pos]
    return None


def extract_choice(generation: str, letters: str = "ABCD", reasoning: bool | None = None) -> str | None:
    """Multiple-choice letter from the answer part: last `Answer: X` (also `ANSWER: (X)`, `**Answer:** $X$`),
    else last "the answer is (X)", else the last line that is a lone letter. Letters outside `letters` never count;
    lower-case letters never count ("Answer: a cat" is not a choice).
    """
    text = answer_part(generation, reasoning)
    if not text:
        return None
    letters = letters.upper()
    for needs_is in (False, True):
        found = None
        for match in _ANSWER_WORD.finditer(text):
            found = _choice_after(text, match.end(), letters, needs_is) or found
        if found:
            return found
    for line in reversed(text.splitlines()):
        stripped = line.strip().strip("*$().:").strip()
        if len(stripped) == 1 and stripped.upper() in letters:
            return stripped.upper()
    return None


def _fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every ``` fenced block, pairing each opening fence with the next one (linear)."""
    blocks = []
    pos = 0
    while True:
        open_at = text.find("```", pos)
        if open_at < 0:
            return blocks
        newline = text.find("\n", open_at + 3)
        close_at = text.find("```", open_at + 3)
        if newline < 0 or close_at < 0:
            return blocks
        if close_at < newline:  # "``` ```" on one line: no block, the second fence may open one
            pos = close_at
            continue
        language = text[open_at + 3 : newline].strip()
        close_at = text.find("```", newline + 1)
        if close_at < 0:
            return blocks
        if all(c.isalnum() or c in "_+-" for c in language):
            blocks.append((language, text[newline + 1 : close_at]))
        pos = close_at + 3


def extract_code(generation: str, reasoning: bool | None = None) -> str | None:
    """Code from the answer part: the last ```python block, else the last fenced block, else the whole answer part.

    Returns None when the answer part is empty.
    """
    text = answer_part(generation, reasoning)
    if not text:
        return None
    blocks = _fenced_blocks(text)
    python_blocks = [body for lang, body in blocks if lang.lower() in {"python", "py", "python3"}]
    if python_blocks:
        return python_blocks[-1].rstrip() + "\n"
    if blocks:
        return blocks[-1][1].rstrip() + "\n"
    return text + "\n"
