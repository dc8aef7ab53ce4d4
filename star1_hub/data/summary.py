"""Summaries of a loaded STAR-* dataset or curation-stage config (used by `star1 data show` and the demo).

`summarise` works on any config as stored: typed STAR-1 rows, and stage outputs whose rows may carry an `error`
reason, no response yet (`classified`), a `None` response or score (failed rows of `reasoned` / `scored`), or no
rows at all. `summary_table` / `print_summary` render it to fit an 80-column terminal without cutting names.
"""

from __future__ import annotations

from collections import Counter
from statistics import median
from typing import Any

from rich.table import Table
from rich.text import Text

from star1_hub.data.plots import category_source_counts
from star1_hub.think import split_think

EXAMPLE_ROWS = 3


def _short_type(feature) -> str:
    if isinstance(feature, dict):
        return "struct{" + ", ".join(f"{k}: {_short_type(v)}" for k, v in feature.items()) + "}"
    inner = getattr(feature, "feature", None)
    if inner is not None:
        return f"list<{_short_type(inner)}>"
    return str(getattr(feature, "dtype", feature))


def summarise(dataset, stage_record: dict[str, Any] | None = None, examples: int = EXAMPLE_ROWS) -> dict[str, Any]:
    """Counts, failure reasons, distributions and the first rows of `dataset`, as a JSON-ready dict.

    Args:
        dataset: a `datasets.Dataset` (any columns).
        stage_record: the config's curation-manifest entry; its `counts` are reported as `stage_counts`.
        examples: how many rows to include whole.
    """
    rows = dataset.to_list()
    columns = list(dataset.column_names)
    summary: dict[str, Any] = {
        "rows": len(rows),
        "columns": {name: _short_type(feature) for name, feature in dataset.features.items()},
    }
    if "error" in columns:
        errors = Counter(row["error"] for row in rows if row.get("error"))
        summary["ok"] = len(rows) - sum(errors.values())
        summary["failed"] = sum(errors.values())
        summary["failed_by_reason"] = dict(errors.most_common())
    counts = (stage_record or {}).get("counts")
    if isinstance(counts, dict):
        summary["stage"] = stage_record.get("stage")
        summary["stage_counts"] = counts
    if "category" in columns or "source" in columns:
        categories, sources = category_source_counts(rows)
        if "category" in columns:
            summary["categories"] = dict(categories.most_common())
        if "source" in columns:
            summary["sources"] = dict(sources.most_common())
    responses = [row["response"] for row in rows if isinstance(row.get("response"), str)]
    if "response" in columns:
        summary["responses"] = len(responses)  # rows with a response (failed rows have none)
        if responses:
            parts = [split_think(response) for response in responses]
            summary["median_reasoning_chars"] = int(median(len(reasoning) for reasoning, _ in parts))
            summary["median_answer_chars"] = int(median(len(answer) for _, answer in parts))
    if "score" in columns:
        scores = [row["score"] for row in rows if isinstance(row.get("score"), dict)]
        keys = sorted({key for score in scores for key, value in score.items() if value is not None})
        summary["scored_rows"] = len(scores)
        summary["mean_scores"] = {
            key: round(sum(values) / len(values), 2)
            for key in keys
            if (values := [score[key] for score in scores if score.get(key) is not None])
        }
    summary["examples"] = rows[:examples]
    return summary


def _compact(kind: str) -> str:
    """`struct{a: int32, b: int32}` → `struct{a, b}` (the JSON output keeps the field types)."""
    if not kind.startswith("struct{"):
        return kind
    fields = [part.split(":", 1)[0].strip() for part in kind[len("struct{") : -1].split(", ")]
    return "struct{" + ", ".join(fields) + "}"


def _counts(counter: dict[str, Any]) -> str:
    return ", ".join(f"{key} {value}" for key, value in counter.items()) or "none"


def summary_table(dataset, title: str, stage_record: dict[str, Any] | None = None) -> Table:
    """A two-column table of `summarise(dataset)`; the value column wraps (names are never cut)."""
    return summary_table_of(summarise(dataset, stage_record), title)


def summary_table_of(summary: dict[str, Any], title: str | None) -> Table:
    """Render a `summarise` result as a table that wraps to the terminal width."""
    table = Table(title=Text(title) if title else None, title_justify="left", show_header=False)
    table.add_column("what", no_wrap=True, style="bold")
    table.add_column("value", overflow="fold")
    table.add_row("rows", str(summary["rows"]))
    if "failed" in summary:
        table.add_row("ok / failed", f"{summary['ok']} / {summary['failed']}")
        table.add_row("failed by reason", _counts(summary["failed_by_reason"]))
    if "stage_counts" in summary:
        counts = summary["stage_counts"]
        scalars = {k: v for k, v in counts.items() if isinstance(v, int | float) and not isinstance(v, bool)}
        table.add_row("stage", f"{summary.get('stage') or '?'} (counts from curation.json)")
        table.add_row("stage counts", _counts(scalars))
        if counts.get("failed_by_reason"):
            table.add_row("stage reasons", _counts(counts["failed_by_reason"]))
        if counts.get("note"):
            table.add_row("stage note", str(counts["note"]))
    table.add_row("columns", ", ".join(f"{name}: {_compact(kind)}" for name, kind in summary["columns"].items()))
    if "categories" in summary:
        table.add_row("categories", _counts(summary["categories"]))
    if "sources" in summary:
        table.add_row("sources", _counts(summary["sources"]))
    if "median_answer_chars" in summary:
        table.add_row(
            "median chars",
            f"reasoning {summary['median_reasoning_chars']}, answer {summary['median_answer_chars']}"
            f" ({summary['responses']} responses)",
        )
    if summary.get("mean_scores"):
        table.add_row("mean scores", _counts({k: f"{v:.2f}" for k, v in summary["mean_scores"].items()}))
    return table


def _one_line(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return " ".join(value.split()) or "(empty)"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "(empty list)"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)


def examples_table(summary: dict[str, Any]) -> Table | None:
    """The first rows, one field per line: field names whole, each value cut to one line."""
    if not summary["examples"]:
        return None
    fields = [key for row in summary["examples"] for key in row] + ["reasoning", "answer"]
    table = Table(show_header=False)
    table.add_column("field", no_wrap=True, style="bold", min_width=max(len(key) for key in fields))
    table.add_column("value")  # wrappable, so this column gives way; each cell is cut to one line
    for index, row in enumerate(summary["examples"]):
        if index:
            table.add_section()
        for key, value in row.items():
            if key == "response" and isinstance(value, str):
                reasoning, answer = split_think(value)
                pairs = [("reasoning", reasoning), ("answer", answer)]
            else:
                pairs = [(key, value)]
            for name, text in pairs:
                table.add_row(Text(name), Text(_one_line(text), no_wrap=True, overflow="ellipsis"))
    return table


def print_summary(summary: dict[str, Any], title: str, console=None) -> None:
    """Print the title line, the summary table and the first rows."""
    from rich.console import Console

    console = console or Console()
    console.print(Text(title, style="bold", overflow="fold"))
    console.print(summary_table_of(summary, None))
    table = examples_table(summary)
    if table is None:
        console.print("no rows in this config")
        return
    console.print(Text(f"first {len(summary['examples'])} row(s)", style="bold"))
    console.print(table)
