"""Per-stage accounting: requests, cache hits, failures by reason, tokens, cost and wall time."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

# USD per 1M tokens (prompt, completion), list prices as published by the providers in 2025. Override per
# run with `EngineConfig.prices` (Python) or `--price-in/--price-out` (a curate dry run); a model not listed costs 0
# (local servers) and is logged.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-2024-11-20": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "deepseek-reasoner": (0.55, 2.19),
    "deepseek-chat": (0.27, 1.10),
    "deepseek-ai/deepseek-r1": (0.55, 2.19),
    "deepseek-ai/DeepSeek-R1": (0.55, 2.19),
}
BATCH_DISCOUNT = 0.5


def price_for(model: str, overrides: dict[str, tuple[float, float]] | None = None) -> tuple[float, float]:
    """(prompt, completion) USD per 1M tokens for a model; (0, 0) when unknown."""
    table = {**DEFAULT_PRICES, **(overrides or {})}
    if model in table:
        return table[model]
    logger.info(
        "no list price for model %r: its cost counts as 0 (a dry-run estimate takes --price-in/--price-out)", model
    )
    return (0.0, 0.0)


@dataclass
class StageAccounting:
    """Totals of one engine (stage) over all its runs.

    `requests` counts logical requests handed to the engine; `requests_sent` counts HTTP requests (or batch
    lines) actually sent, retries included; `cached_hits` were answered from the cache without sending.
    """

    stage: str
    model: str
    prices: tuple[float, float] = (0.0, 0.0)
    requests: int = 0
    requests_sent: int = 0
    cached_hits: int = 0
    succeeded: int = 0
    failed_by_reason: Counter = field(default_factory=Counter)
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    wall_s: float = 0.0
    batch_api: bool = False

    @property
    def failed(self) -> int:
        """Number of failed requests."""
        return sum(self.failed_by_reason.values())

    def add_usage(self, usage: dict[str, int] | None, batch: bool = False) -> None:
        """Count the tokens of one paid response and its cost (half price for Batch API lines)."""
        if not usage:
            return
        prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        cost = (prompt * self.prices[0] + completion * self.prices[1]) / 1e6
        self.cost_usd += cost * (BATCH_DISCOUNT if batch else 1.0)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON summary for dataset cards and logs (contains no endpoint credentials)."""
        return {
            "stage": self.stage,
            "model": self.model,
            "requests": self.requests,
            "requests_sent": self.requests_sent,
            "cached_hits": self.cached_hits,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "failed_by_reason": dict(sorted(self.failed_by_reason.items())),
            "retries": self.retries,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": round(self.cost_usd, 6),
            "wall_s": round(self.wall_s, 3),
            "batch_api": self.batch_api,
        }

    def summary_table(self):
        """A rich Table of the totals."""
        from rich.table import Table

        data = self.to_dict()
        table = Table(title=f"teacher stage {self.stage!r} · model {self.model!r}", show_header=False)
        table.add_column("metric", style="bold")
        table.add_column("value", justify="right")
        for name in (
            "requests",
            "requests_sent",
            "cached_hits",
            "succeeded",
            "failed",
            "retries",
            "prompt_tokens",
            "completion_tokens",
        ):
            table.add_row(name, f"{data[name]:,}")
        for reason, count in data["failed_by_reason"].items():
            table.add_row(f"  failed: {reason}", f"{count:,}")
        table.add_row("cost_usd" + (" (batch, 50 %)" if self.batch_api else ""), f"{data['cost_usd']:.4f}")
        table.add_row("wall_s", f"{data['wall_s']:.2f}")
        return table

    def print_summary(self, console=None) -> None:
        """Print the rich summary table (to stderr by default)."""
        from rich.console import Console

        (console or Console(stderr=True)).print(self.summary_table())
