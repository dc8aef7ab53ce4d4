"""Rate limits and retry timing: async token buckets (requests and tokens per minute) and back-off."""

from __future__ import annotations

import asyncio
import random
import time

# The RPM bucket holds at most half a second of requests: providers enforce per-minute limits over shorter
# windows, so a full minute's burst at start-up would draw 429s.
_BURST_SECONDS = 0.5


class TokenBucket:
    """An asyncio token bucket refilled continuously at `per_minute / 60` tokens per second.

    Args:
        per_minute: Refill rate in tokens per minute.
        capacity: Largest burst (defaults to half a second of refill, at least 1 token).
    """

    def __init__(self, per_minute: float, capacity: float | None = None):
        self.rate = per_minute / 60.0
        self.capacity = capacity if capacity is not None else max(1.0, self.rate * _BURST_SECONDS)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    async def acquire(self, amount: float = 1.0) -> float:
        """Wait until `amount` tokens are available and take them; returns the amount taken.

        An amount above the capacity waits for a full bucket and takes all of it; `adjust()` settles the rest
        once the true cost is known (the bucket may go negative, delaying later requests).
        """
        amount = min(amount, self.capacity)
        async with self._lock:  # FIFO: waiters are served in arrival order
            while True:
                self._refill()
                if self.tokens >= amount:
                    self.tokens -= amount
                    return amount
                await asyncio.sleep((amount - self.tokens) / self.rate)

    def adjust(self, delta: float) -> None:
        """Return (positive) or charge (negative) tokens after the true cost of a request is known."""
        self._refill()
        self.tokens = min(self.capacity, self.tokens + delta)


def backoff_delay(attempt: int, base_s: float, max_s: float, retry_after_s: float | None = None) -> float:
    """Delay before retry number `attempt` (1-based): the server's Retry-After if given, else full jitter.

    Full jitter draws uniformly from [0, base * 2^(attempt-1)], capped at `max_s`; a Retry-After is honoured
    as a lower bound (plus up to 10 % jitter so that many clients do not return in lockstep).
    """
    if retry_after_s is not None:
        return min(max_s, retry_after_s * (1.0 + 0.1 * random.random()))
    return random.uniform(0.0, min(max_s, base_s * 2 ** (attempt - 1)))


def parse_retry_after(headers) -> float | None:
    """Seconds to wait from `retry-after-ms` / `Retry-After` (seconds) headers, None if absent or unparseable."""
    if headers is None:
        return None
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return float(value) / 1000.0
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is not None:
        try:
            return max(0.0, float(value))
        except ValueError:
            return None  # HTTP-date form: fall back to exponential back-off
    return None
