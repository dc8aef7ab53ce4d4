"""A rich summary table of a loaded STAR-* dataset (used by `star1 data show` and the demo)."""

from __future__ import annotations

from collections import Counter

from rich.table import Table

from star1_hub.data.normalise import split_response
from star1_hub.data.plots import category_source_counts


def _short_type(feature) -> str:
    if isinstance(feature, dict):
        return "struct{" + ", ".join(f"{k}: {_short_type(v)}" for k, v in feature.items()) + "}"
    inner = getattr(feature, "feature", None)
    if inner is not None:
        return f"list<{_short_type(inner)}>"
    return str(getattr(feature, "dtype", feature))


def summary_table(dataset, title: str) -> Table:
    """Build a table: rows, labels per category, sources, think-trace and answer lengths, score means."""
    rows = dataset.to_list()
    categories, sources = category_source_counts(rows)
    reasoning_chars: list[int] = []
    answer_chars: list[int] = []
    score_sums: Counter = Counter()
    for row in rows:
        reasoning, answer = split_response(row["response"])
        reasoning_chars.append(len(reasoning))
        answer_chars.append(len(answer))
        score_sums.update(row["score"])
    n = len(dataset)
    table = Table(title=title)
    table.add_column("what")
    table.add_column("value", overflow="fold")
    table.add_row("rows", str(n))
    table.add_row("features", ", ".join(f"{k}: {_short_type(v)}" for k, v in dataset.features.items()))
    table.add_row("categories", ", ".join(f"{k} {v}" for k, v in categories.most_common()))
    table.add_row("sources", ", ".join(f"{k} {v}" for k, v in sources.most_common()))
    if n:
        table.add_row(
            "median reasoning / answer chars", f"{sorted(reasoning_chars)[n // 2]} / {sorted(answer_chars)[n // 2]}"
        )
        table.add_row("mean scores", ", ".join(f"{k} {v / n:.2f}" for k, v in score_sums.items()))
    return table
