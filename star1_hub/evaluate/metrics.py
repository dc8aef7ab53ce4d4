"""Aggregate metrics with sample counts and confidence intervals.

Rates use the Wilson score interval (95 %); means of bounded scores (StrongREJECT) use a seeded percentile
bootstrap. Every metric carries `n` (samples that entered it) and, where relevant, `n_excluded` (unparseable
judge outputs, which never count towards either side).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (0, 0 when n == 0)."""
    if n == 0:
        return (0.0, 0.0)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def rate(flags: Sequence[bool | None], scale: float = 100.0) -> dict:
    """Percentage of True among the non-None flags, with its Wilson 95 % CI; None entries are excluded."""
    kept = [bool(f) for f in flags if f is not None]
    successes, n = sum(kept), len(kept)
    low, high = wilson_interval(successes, n)
    return {
        "value": scale * successes / n if n else None,
        "ci95": [scale * low, scale * high] if n else None,
        "n": n,
        "n_excluded": len(flags) - n,
        "successes": successes,
    }


def bootstrap_mean(values: Sequence[float | None], scale: float = 1.0, resamples: int = 2000, seed: int = 0) -> dict:
    """Mean of the non-None values with a seeded percentile-bootstrap 95 % CI."""
    import numpy as np

    kept = np.array([v for v in values if v is not None], dtype=float)
    n = int(kept.size)
    if n == 0:
        return {"value": None, "ci95": None, "n": 0, "n_excluded": len(values)}
    rng = np.random.default_rng(seed)
    means = kept[rng.integers(0, n, size=(resamples, n))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return {
        "value": scale * float(kept.mean()),
        "ci95": [scale * float(low), scale * float(high)],
        "n": n,
        "n_excluded": len(values) - n,
    }


def pass_at_1(per_prompt_samples: Sequence[Sequence[float]]) -> dict:
    """pass@1 averaged over k samples per prompt (k = 1 for greedy), in percent, with a Wilson CI over prompts
    when k == 1 and a bootstrap CI over prompts otherwise."""
    per_prompt = [sum(s) / len(s) for s in per_prompt_samples if len(s)]
    if all(len(s) == 1 for s in per_prompt_samples):
        return rate([bool(s[0]) for s in per_prompt_samples])
    result = bootstrap_mean(per_prompt, scale=100.0)
    result["samples_per_prompt"] = max(len(s) for s in per_prompt_samples)
    return result


def average(values: Sequence[float | None]) -> float | None:
    """Plain mean of the available values (None if any is missing: an average over fewer tasks is not the same number)."""
    if not values or any(v is None for v in values):
        return None
    return sum(values) / len(values)
