"""What a Ctrl-C leaves behind: one line the command line prints when a command is interrupted.

The `star1` command line turns a `KeyboardInterrupt` into exit code 130 and one line on stderr. By default that
line only says the command was interrupted; a piece of code that keeps something useful when it is cut short
(the teacher engine's request cache, a training run's checkpoints) says so by running inside `kept_on_interrupt`:

    with kept_on_interrupt(f"finished requests are in the cache {cache_dir}; re-run the same command to resume"):
        ...

The innermost note wins (it knows the most). Nothing is printed here: the note travels on the exception and
`interrupt_line()` reads it, so library use (no command line) is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

INTERRUPT_EXIT_CODE = 130  # 128 + SIGINT, what shells report for a Ctrl-C
_NOTE_ATTRIBUTE = "star1_kept"


@contextmanager
def kept_on_interrupt(note: str | None) -> Iterator[None]:
    """Attach `note` (what was kept, how to resume) to a KeyboardInterrupt raised inside the block.

    A None note adds nothing (e.g. an engine without a cache keeps nothing). An inner block's note is not replaced.
    """
    try:
        yield
    except KeyboardInterrupt as exc:
        if note and not getattr(exc, _NOTE_ATTRIBUTE, None):
            setattr(exc, _NOTE_ATTRIBUTE, note)
        raise


def interrupt_line(exc: BaseException) -> str:
    """The line to print for an interrupted command: `interrupted: <what was kept>` or a plain `interrupted`."""
    note = getattr(exc, _NOTE_ATTRIBUTE, None)
    return f"interrupted: {note}" if note else "interrupted (Ctrl-C)"


__all__ = ["INTERRUPT_EXIT_CODE", "interrupt_line", "kept_on_interrupt"]
