"""Answer extraction from model generations, restricted to the text after `</think>`.

The original STAR-1 graders took the *first* regex match or code block anywhere in the generation, which often
came from the draft inside the reasoning trace (spec §13.1 item 8). Every extractor here first cuts the
generation down to its answer part, then takes the *last* well-formed answer in it:

- `</think>` present  → the text after the last `</think>`;
- `<think>` opened but never closed (a truncated trace) → no answer part at all (empty string);
- no think tags (a non-reasoning model) → the whole generation.
"""

from __future__ import annotations

import re

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"


def answer_part(generation: str) -> str:
    """Return the part of `generation` that may contain the final answer (see the module docstring)."""
    if THINK_CLOSE in generation:
        return generation.rsplit(THINK_CLOSE, 1)[1].strip()
    if THINK_OPEN in generation:
        return ""
    return generation.strip()


def reasoning_part(generation: str) -> str:
    """Return the reasoning trace (text between `<think>` and the last `</think>`), or "" when there is none."""
    if THINK_CLOSE not in generation:
        return generation.split(THINK_OPEN, 1)[1].strip() if THINK_OPEN in generation else ""
    head = generation.rsplit(THINK_CLOSE, 1)[0]
    return head.split(THINK_OPEN, 1)[1].strip() if THINK_OPEN in head else head.strip()


def _boxed_contents(text: str) -> list[str]:
    """All `\\boxed{...}` / `\\fbox{...}` contents in order, with balanced braces of any depth."""
    found = []
    for match in re.finditer(r"\\(?:boxed|fbox)\s*\{", text):
        depth, start = 1, match.end()
        for pos in range(start, len(text)):
            if text[pos] == "{":
                depth += 1
            elif text[pos] == "}":
                depth -= 1
                if depth == 0:
                    found.append(text[start:pos].strip())
                    break
    return found


_ANSWER_LINE = re.compile(r"(?i)\banswer\s*(?:is)?\s*[:：]\s*(.+)")
_ANSWER_IS = re.compile(r"(?i)\b(?:final answer|answer) is\s*[:：]?\s*(.+)")


def _clean_inline(value: str) -> str:
    value = value.strip()
    value = value.strip("*").strip()
    if value.startswith("$") and value.endswith("$") and len(value) > 1:
        value = value.strip("$").strip()
    value = re.sub(r"^\\\(|\\\)$", "", value).strip()
    return value.rstrip(".").strip()


def extract_math_answer(generation: str) -> str | None:
    """Final math answer of a generation: last `\\boxed{}`, else last `Answer: X` line, else last "answer is X".

    Returns None when the answer part has none of them (never a guess from the reasoning trace).
    """
    text = answer_part(generation)
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


def extract_integer_answer(generation: str) -> str | None:
    """AIME-style answer: the math answer reduced to an integer string without leading zeros, if it is one.

    `"\\boxed{033}"` → `"33"`; `"\\boxed{x = 204}"` → `"204"` (trailing integer); non-numeric → the raw string.
    """
    raw = extract_math_answer(generation)
    if raw is None:
        return None
    compact = raw.replace(",", "").replace(" ", "").replace("{", "").replace("}", "")
    if compact.isdigit():
        return str(int(compact))
    trailing = re.search(r"(\d+)$", compact)
    return str(int(trailing.group(1))) if trailing else raw


def extract_choice(generation: str, letters: str = "ABCD") -> str | None:
    """Multiple-choice letter from the answer part: last `Answer: X` (also `ANSWER: (X)`, `**Answer:** $X$`),
    else last "the answer is (X)", else the last line that is a lone letter. Letters outside `letters` never count.
    """
    text = answer_part(generation)
    if not text:
        return None
    cls = f"([{letters.upper()}])"  # upper-case only: "Answer: a cat" is not a choice
    patterns = [
        rf"\b(?i:answer)\**\s*[:：]\s*\**\s*\$?\s*(?:\\text\{{|\\boxed\{{)?\s*\(?\s*{cls}(?![A-Za-z0-9])",
        rf"\b(?i:answer is)\s*:?\s*\**\s*\$?\s*(?:\\boxed\{{)?\(?\s*{cls}(?![A-Za-z0-9])",
    ]
    for pattern in patterns:
        matches = re.findall(pattern, text)
        if matches:
            return matches[-1]
    for line in reversed(text.splitlines()):
        stripped = line.strip().strip("*$().:").strip()
        if len(stripped) == 1 and stripped.upper() in letters.upper():
            return stripped.upper()
    return None


_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)```", re.S)


def extract_code(generation: str) -> str | None:
    """Code from the answer part: the last ```python block, else the last fenced block, else the whole answer part.

    Returns None when the answer part is empty.
    """
    text = answer_part(generation)
    if not text:
        return None
    blocks = _FENCE.findall(text)
    python_blocks = [body for lang, body in blocks if lang.lower() in {"python", "py", "python3"}]
    if python_blocks:
        return python_blocks[-1].rstrip() + "\n"
    if blocks:
        return blocks[-1][1].rstrip() + "\n"
    return text + "\n"
