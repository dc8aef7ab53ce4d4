"""The engine's live progress bar: done / failed / truncated / cached / in flight / req/s (rich, on stderr).

The bar counts results as the stage summary counts rows: one per request row (a request repeated by several rows
counts for each), answers served from the request cache included (`cached` says how many), so its last line
agrees with the summary's `ok` / `failed`. `done` and `failed` follow the result's error (a failed row of the
summary, whatever the reason); `truncated` counts outputs that hit the token limit (finish_reason `length`) among
them: failed where the request refuses a cut-off output (curation), done where it accepts one (evaluation,
`ChatRequest.accept_finish`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class LiveStats:
    """Counters the engine updates and the progress bar reads."""

    total: int = 0
    done: int = 0
    truncated: int = 0
    failed: int = 0
    cached: int = 0
    inflight: int = 0
    sent: int = 0
    started: float = field(default_factory=time.monotonic)

    def finish(self, error: str | None, finish_reason: str | None = None, rows: int = 1) -> None:
        """Count a finished request (for the `rows` rows that asked it) by its outcome."""
        if error is None:
            self.done += rows
        else:
            self.failed += rows
        if error == "length" or finish_reason == "length":
            self.truncated += rows

    @property
    def finished(self) -> int:
        """Rows with a final outcome (done or failed)."""
        return self.done + self.failed

    def line(self) -> str:
        """The bar's status text."""
        return (
            f"done {self.done} · failed {self.failed} · truncated {self.truncated} · cached {self.cached} · "
            f"in flight {self.inflight} · {self.rate():.1f} req/s"
        )

    def rate(self) -> float:
        """Requests sent per second since the start."""
        elapsed = time.monotonic() - self.started
        return self.sent / elapsed if elapsed > 0 else 0.0


class LiveProgress:
    """A rich progress bar over a LiveStats (a no-op when disabled).

    The bar's text is rendered from the counters by rich's refresh thread, so the engine only bumps integers
    on its hot path and calls `advance()` once per finished request.
    """

    def __init__(self, stats: LiveStats, description: str, enabled: bool):
        self.stats, self.description, self.enabled = stats, description, enabled
        self._progress = None
        self._task = None

    def __enter__(self) -> LiveProgress:
        if not self.enabled:
            return self
        from rich.console import Console
        from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
        from rich.text import Text

        stats = self.stats

        class _StatsColumn(ProgressColumn):
            def render(self, task) -> Text:  # noqa: ARG002 (rich API)
                return Text(stats.line())

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            _StatsColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            refresh_per_second=4,
            transient=False,
        )
        self._progress.__enter__()
        self._task = self._progress.add_task(self.description, total=stats.total)
        return self

    def advance(self) -> None:
        """Move the bar to the current count of finished requests."""
        if self._progress is not None:
            self._progress.update(self._task, completed=self.stats.finished)

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self.advance()
            self._progress.__exit__(*exc)
