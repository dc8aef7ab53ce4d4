"""Answer extraction from model generations, restricted to the answer part after the reasoning trace.

The original STAR-1 graders took the *first* regex match or code block anywhere in the generation, which often
came from a draft inside the reasoning trace (see docs/deviations.md). Every extractor here first cuts the
generation down to its answer part, then takes the *last* well-formed answer in it.

The answer part is `star1_hub.think.answer_part` (the project's one think rule, `split_think` reading a
generation). Which part is the answer depends on whether the evaluated model is a reasoning model, decided once
per run (`star1_hub.evaluate.reasoning`), so a base R1-Distill model served with its own template (which pre-fills
`<think>\\n`, its output only closes the trace) and a STAR-1 model that writes `<think>` itself are scored alike:

- reasoning model: the text after the last `</think>`; no `</think>` → no answer (a truncated trace);
- non-reasoning model: the whole generation (after a stray `</think>` if one appears);
- unknown (`reasoning=None`, a single generation looked at alone): decided from the generation's own tags.

Every function runs in time linear in its input (no nested unbounded quantifiers, `str.find` scans) and gives
no answer for a generation longer than `star1_hub.think.MAX_OUTPUT_CHARS`.
"""

from __future__ import annotations

import re

from star1_hub.think import THINK_CLOSE
from star1_hub.think import answer_part as answer_part  # re-exported: one think rule (star1_hub.think.split_think)
from star1_hub.think import reasoning_part as reasoning_part


def trace_closed(generation: str) -> bool:
    """True when the generation contains `</think>` (a reasoning model's trace ended and an answer may follow)."""
    return THINK_CLOSE in generation


def _box_start(text: str, brace: int) -> int:
    """Start of the `\\boxed` / `\\fbox` (spaces allowed before the brace) that opens at `brace`, else -1.

    Looks back over the whitespace right before this brace only, so all calls together read the text about once.
    """
    end = brace
    while end > 0 and text[end - 1] in " \t\n":
        end -= 1
    for command in ("\\boxed", "\\fbox"):
        if text.startswith(command, end - len(command), end):
            return end - len(command)
    return -1


MAX_BOX_UNWRAP = 3
"""How many boxes directly around a boxed answer are taken off (`\\boxed{\\boxed{5}}` -> `5`)."""
MAX_BOX_GAP = 40
"""Longest text between two boxes of one multi-box answer (`\\boxed{1},\\boxed{2}`, `\\boxed{a} \\text{ and } ...`)."""
# what may stand between the boxes of one answer: spaces, `$`, commas, "and"/"or" (bare or in \text{}), \quad
_BOX_GAP = re.compile(r"(?:\s|\$|,|;|\\[,;!]|\\q?quad|\band\b|\bor\b|\\text\{\s*+(?:and|or|,)?+\s*+\})*+")


def _top_level_boxes(text: str) -> list[tuple[int, int, int]]:
    """(box start, content start, content end) of every closed `\\boxed{...}` / `\\fbox{...}` not inside another.

    One pass over the text with a stack of brace positions (ints only: no copy of any nested content), so time
    and memory are linear however deep the nesting or however many openers never close.
    """
    if "\\boxed" not in text and "\\fbox" not in text:
        return []
    closed: list[tuple[int, int, int]] = []
    stack: list[int] = []
    # jump from brace to brace (the text between them never matters); each find resumes after the brace it used
    next_open, next_close = text.find("{"), text.find("}")
    while next_close >= 0:
        if 0 <= next_open < next_close:
            stack.append(next_open)
            next_open = text.find("{", next_open + 1)
            continue
        if stack:
            opened = stack.pop()
            start = _box_start(text, opened)
            if start >= 0:
                # a box closing after every box it contains: drop the inner ones it swallows
                while closed and closed[-1][0] > opened:
                    closed.pop()
                closed.append((start, opened + 1, next_close))
        next_close = text.find("}", next_close + 1)
    return closed


def last_box_group(text: str) -> tuple[int, list[str]] | None:
    """(start of its first box, contents) of the final answer's boxes: the last top-level box and the boxes right
    before it joined to it only by separators (`\\boxed{(2, 2)} \\text{ and } \\boxed{(6, 2)}`,
    `\\boxed{1},\\boxed{2}`); None without a closed box.
    """
    boxes = _top_level_boxes(text)
    if not boxes:
        return None
    group = [boxes[-1]]
    for box in reversed(boxes[:-1]):
        gap = text[box[2] + 1 : group[-1][0]]
        if len(gap) > MAX_BOX_GAP or not _BOX_GAP.fullmatch(gap):
            break
        group.append(box)
    return group[-1][0], [text[start:end].strip() for _, start, end in reversed(group)]


def final_boxed(text: str) -> str | None:
    """The final boxed answer of `text` (not cut to its answer part): the last box, or the boxes of a multi-box
    answer joined by ", " (graded as one set); None when no box closes."""
    found = last_box_group(text)
    if found is None:
        return None
    answer = ", ".join(found[1])
    for _ in range(MAX_BOX_UNWRAP):  # `\\boxed{\\boxed{5}}` -> "5": a few passes, each linear
        if not answer.startswith(("\\boxed", "\\fbox")) or not answer.endswith("}"):
            break
        boxes = _top_level_boxes(answer)
        if len(boxes) != 1 or boxes[0][0] != 0 or boxes[0][2] != len(answer) - 1:
            break
        answer = answer[boxes[0][1] : boxes[0][2]].strip()
    return answer


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
    """Final math answer of a generation: the last `\\boxed{}` (a multi-box answer joined by ", "), else the last
    `Answer: X` line, else the last "answer is X".

    Returns None when the answer part has none of them (never a guess from the reasoning trace).
    """
    text = answer_part(generation, reasoning)
    if not text:
        return None
    boxed = final_boxed(text)
    if boxed is not None:
        return boxed
    for pattern in (_ANSWER_LINE, _ANSWER_IS):
        last = None
        for line in text.splitlines():
            if match := pattern.search(line):
                last = match.group(1)
        if last is not None:
            value = _clean_inline(last)
            inner = final_boxed(value)
            return inner if inner is not None else (value or None)
    return None


MAX_INTEGER_DIGITS = 100
"""Longer digit strings are kept as text (int() of a huge digit string is slow and limited by Python)."""


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
    group = last_box_group(answer_part(generation, reasoning))
    if group is not None and len(group[1]) > 1:
        return raw  # several boxed values ("1, 2, 3") are not one integer, never "123"
    compact = raw.replace(",", "").replace(" ", "").replace("{", "").replace("}", "")
    if compact.isdigit():
        return str(int(compact)) if len(compact) <= MAX_INTEGER_DIGITS else raw
    trailing = _trailing_digits(compact)
    return str(int(trailing)) if trailing and len(trailing) <= MAX_INTEGER_DIGITS else raw


# "answer" then `: X`, `:** $X$`, `: (X)`, `: \\boxed{X}` (first form) or ` is (X)` (second form); possessive runs
# only, and a run can never contain another "answer", so all matches together read the text about once
_CHOICE_TAIL = r"(?:[\s*$]*+(?:\\text\{|\\boxed\{|\())?+(?:[\s*$]*+(?:\\text\{|\\boxed\{|\())?+(?:[\s*$]*+(?:\\text\{|\\boxed\{|\())?+[\s*$]*+([A-Za-z])(?![^\W_])"
_CHOICE_COLON = re.compile(r"\b(?i:answer)\**+\s*+[:：]" + _CHOICE_TAIL)
_CHOICE_IS = re.compile(r"\b(?i:answer)(?: is| IS| Is)\s*+[:：]?+" + _CHOICE_TAIL)


def extract_choice(generation: str, letters: str = "ABCD", reasoning: bool | None = None) -> str | None:
    """Multiple-choice letter from the answer part: last `Answer: X` (also `ANSWER: (X)`, `**Answer:** $X$`),
    else last "the answer is (X)", else the last line that is a lone letter. Letters outside `letters` never count;
    lower-case letters never count ("Answer: a cat" is not a choice).
    """
    text = answer_part(generation, reasoning)
    if not text:
        return None
    letters = letters.upper()
    for pattern in (_CHOICE_COLON, _CHOICE_IS):
        found = None
        for match in pattern.finditer(text):
            if match.group(1) in letters:
                found = match.group(1)
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
