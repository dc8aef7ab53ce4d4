"""Escaping of untrusted values (model ids, revisions, judge and dataset names, file paths) in the markdown we render.

Every value written into a card or a table cell goes through one of these (the templates use them as the Jinja
filters `cell`, `code_cell` and `link`; python-built tables call them directly), so that a value can neither add
HTML (`<img src=x onerror=…>`), forge table cells (`|`), start a link or an image (`](`), close a code
span (`` ` ``), nor break a row (newlines). The rendered text reads as the value itself: entities and backslash
escapes are what markdown renderers (the Hub's included) display as the original characters.

    md_cell("main|<b>x</b>")   -> 'main\\|&lt;b&gt;x&lt;/b&gt;'
    md_code_cell("a`b|c")      -> '`` a`b\\|c ``'
    md_link("details", url)    -> '[details](https://…)', or the escaped text alone for a non-http(s) URL
"""

from __future__ import annotations

import re
from urllib.parse import quote

_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
# Markdown punctuation that can add structure inside a line: cells (|), code (`), math ($), escapes (\), and the
# `](` / `][` that makes a link or an image (a lone `[label]` stays readable: a cell cannot hold the line-leading
# definition a reference link needs). Emphasis characters (* _) stay: at worst they change a style, and ids are
# full of `_`.
_CELL = re.compile(r"[&<>\"]|[\\|`$]|\](?=[(\[])|\r\n|[\r\n]")
_NEWLINE = ("\r\n", "\r", "\n")


def _cell_char(match: re.Match[str]) -> str:
    char = match.group()
    if char in _HTML:
        return _HTML[char]
    if char in _NEWLINE:
        return " "
    return "\\" + char


def md_cell(value: object) -> str:
    """`value` as the text of a markdown table cell (or any inline markdown): no HTML, no markdown syntax, one line.

    None renders as "–". HTML-significant characters become entities; markdown punctuation is backslash-escaped;
    line breaks become spaces.
    """
    if value is None:
        return "–"
    return _CELL.sub(_cell_char, str(value))


def md_code_cell(value: object) -> str:
    """`value` as a code span in a markdown table cell, backticks included (a fence longer than any backtick run
    inside, `|` escaped as GFM tables require, one line). None renders as "–"."""
    if value is None:
        return "–"
    text = re.sub(r"\r\n|[\r\n]", " ", str(value)).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    if longest or text.startswith(" ") or text.endswith(" "):
        return f"{fence} {text} {fence}"
    return f"{fence}{text}{fence}"


def md_url(url: object) -> str | None:
    """`url` safe as a markdown link destination (http/https only; spaces, parentheses, quotes and markup
    percent-encoded), or None when it is not an http(s) URL."""
    text = str(url or "").strip()
    if not re.match(r"https?://", text, flags=re.IGNORECASE):
        return None
    return quote(text, safe=":/?#@!$&'*+,;=%~-._[]").replace("'", "%27")


def md_link(text: object, url: object) -> str:
    """A markdown link `[text](url)` with both parts escaped; just the escaped text when `url` is not http(s)."""
    safe_url = md_url(url)
    label = md_cell(text)
    return f"[{label}]({safe_url})" if safe_url else label
