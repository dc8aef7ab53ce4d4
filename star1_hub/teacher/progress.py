"""The engine's live progress bar: done / truncated / failed / cached / in flight / req/s (rich, on stderr).

`truncated` counts outputs that hit the token limit (finish_reason `length`): they are kept (and, in evaluation,
judged), so they are not shown as failed; `cached` counts answers served from the request cache this run.
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

    def finish(self, error: str | None) -> None:
        """Count one finished request by its outcome."""
        if error is None:
            self.done += 1
        elif error == "length":
            self.truncated += 1
        else:
            self.failed += 1

    @property
    def finished(self) -> int:
        """Requests with a final outcome (done, truncated or failed)."""
        return self.done + self.truncated + self.failed

    def line(self) -> str:
        """The bar's status text."""
        return (
            f"done {self.done} · truncated {self.truncated} · failed {self.failed} · cached {self.cached} · "
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
