"""Distribution plots committed next to the data (category and source counts)."""

from __future__ import annotations

import io
from collections import Counter


def category_source_counts(records: list[dict]) -> tuple[Counter, Counter]:
    """Return (label counts — multi-label rows count once per label, source counts)."""
    categories: Counter = Counter()
    sources: Counter = Counter()
    for record in records:
        categories.update(record.get("category") or [])
        sources[record.get("source", "")] += 1
    return categories, sources


def distribution_png(categories: Counter, sources: Counter, title: str) -> bytes:
    """Render two horizontal bar charts (categories, sources) into PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, max(3.5, 0.32 * max(len(categories), len(sources), 1) + 1.5)))
    for ax, counter, label in ((axes[0], categories, "category (multi-label)"), (axes[1], sources, "source")):
        items = sorted(counter.items(), key=lambda kv: (kv[1], kv[0]))
        ax.barh([k or "(none)" for k, _ in items], [v for _, v in items], color="#4C72B0")
        ax.set_xlabel("rows")
        ax.set_title(label)
        for y, (_, value) in enumerate(items):
            ax.text(value, y, f" {value}", va="center", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()
