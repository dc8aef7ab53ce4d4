"""Tables that fit the terminal without cutting the names a user must type.

`fit_table(rows, columns, key_columns=...)` returns a rich renderable: a normal table whose key columns (task
names, model ids, repo ids, config names) are never wrapped or cut and whose other columns wrap; when even that
does not fit the width, a narrow layout with one block per row (the key on its own line, then `field  value`
lines). `star1 eval tasks`, `star1 eval graders` and `star1 leaderboard show` use it; pair it with a `--json`
flag for scripts.

Print it with `table_console()`: on a terminal (or with `COLUMNS` set) it is as wide as the terminal; into a pipe
or a log file, which have no edge, it is wide enough that a table takes its natural width and nothing is cut
(rich's own default there is 80 columns).

    console = table_console()
    console.print(fit_table(rows, ["name", "suite", "source", "samples"], key_columns=["name"], title="tasks"))
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

MIN_WRAPPED_WIDTH = 10  # narrowest useful width of a wrapping column
_CELL_PADDING = 3  # rich's default: one space each side plus the vertical rule
NON_TTY_WIDTH = 1000  # a pipe or a log file has no edge: tables take their natural width there


def table_console(stderr: bool = False) -> Console:
    """A rich Console for tables: the terminal's width (or `COLUMNS`), else `NON_TTY_WIDTH` (output not a terminal)."""
    console = Console(stderr=stderr)
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        return Console(stderr=stderr, width=NON_TTY_WIDTH)
    return console


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _fits(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], key_columns: Sequence[str], width: int) -> bool:
    needed = 1
    for column in columns:
        longest = max([len(column), *(len(_cell(row.get(column))) for row in rows)])
        needed += _CELL_PADDING + (longest if column in key_columns else min(longest, MIN_WRAPPED_WIDTH))
    return needed <= width


def fit_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    *,
    key_columns: Sequence[str] = (),
    headers: Mapping[str, str] | None = None,
    title: str | None = None,
    width: int | None = None,
) -> RenderableType:
    """Lay out `rows` (dicts) as a table that fits `width` (default: the width it is printed at) with key columns
    whole.

    Args:
        rows: one mapping per row; missing keys render empty.
        columns: the keys to show, in order.
        key_columns: columns never wrapped or cut (names the user types); they come first in the narrow layout.
        headers: display names per column (default: the key itself; keep them readable, not 3-letter codes).
        title: table title.
        width: layout width; None: the width of the console that prints it (see `table_console()`).
    """
    return _FittedTable(rows, columns, key_columns, dict(headers or {}), title, width)


class _FittedTable:
    """The table or the narrow layout, chosen when printed, for the width it is printed at."""

    def __init__(self, rows, columns, key_columns, headers, title, width):
        self.rows, self.columns, self.key_columns = rows, columns, key_columns
        self.headers, self.title, self.width = headers, title, width

    def __rich_console__(self, console, options):
        width = self.width or options.max_width
        if _fits(self.rows, self.columns, self.key_columns, width):
            yield _table(self.rows, self.columns, self.key_columns, self.headers, self.title)
        else:
            yield _narrow(self.rows, self.columns, self.key_columns, self.headers, self.title)


def _table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    key_columns: Sequence[str],
    headers: Mapping[str, str],
    title: str | None,
) -> Table:
    table = Table(title=Text(title) if title else None, title_justify="left")
    for column in columns:
        if column in key_columns:
            table.add_column(headers.get(column, column), no_wrap=True, overflow="fold")
        else:
            table.add_column(headers.get(column, column), overflow="fold")
    for row in rows:
        table.add_row(*(Text(_cell(row.get(column))) for column in columns))
    return table


def _narrow(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    key_columns: Sequence[str],
    headers: Mapping[str, str],
    title: str | None,
) -> RenderableType:
    """One block per row: the key values on one bold line (wrapped only at the terminal edge), then fields."""
    parts: list[RenderableType] = [Text(title, style="bold")] if title else []  # Text: no markup parsing
    others = [column for column in columns if column not in key_columns]
    for row in rows:
        key = " · ".join(_cell(row.get(column)) for column in key_columns) or "(row)"
        parts.append(Text(key, style="bold", overflow="fold"))
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True, style="dim")
        grid.add_column(overflow="fold")
        for column in others:
            grid.add_row(Text("  " + headers.get(column, column)), Text(_cell(row.get(column))))
        parts.append(grid)
    return Group(*parts)
