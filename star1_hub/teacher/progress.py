"""The engine's live progress bar: done / failed / in flight / req/s (rich, drawn on stderr)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class LiveStats:
    """Counters the engine updates and the progress bar reads."""

    total: int = 0
    done: int = 0
    failed: int = 0
    inflight: int = 0
    sent: int = 0
    started: float = field(default_factory=time.monotonic)

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
                return Text(
                    f"done {stats.done} · failed {stats.failed} · in flight {stats.inflight} · {stats.rate():.1f} req/s"
                )

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
        """Move the bar to the current done + failed count."""
        if self._progress is not None:
            self._progress.update(self._task, completed=self.stats.done + self.stats.failed)

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self.advance()
            self._progress.__exit__(*exc)
