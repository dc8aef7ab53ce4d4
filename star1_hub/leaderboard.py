"""The STAR-1 leaderboard: a Hub dataset `<org>/star1-leaderboard` with one row per (model, recipe).

Files in the dataset repo: `data/leaderboard.jsonl` (the rows), `README.md` (rendered table, from
`model_cards/leaderboard_readme.md.jinja`) and `safety_vs_reasoning.png` (safety average vs reasoning average per
model). Appending a row for a (model, revision, recipe, suite) that is already there replaces it.

    star1 leaderboard show --org ORG
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

LEADERBOARD_NAME = "star1-leaderboard"
ROWS_PATH = "data/leaderboard.jsonl"
PLOT_PATH = "safety_vs_reasoning.png"
COLUMNS = (
    "model",
    "revision",
    "recipe",
    "suite",
    "safety_average",
    "safety_average_answer_only",
    "xstest_compliance",
    "strongreject_score",
    "reasoning_average",
    "n_samples",
    "truncated",
    "judge",
    "date",
)


def leaderboard_repo(org: str) -> str:
    return f"{org}/{LEADERBOARD_NAME}"


def row_from_results(results: dict, suite: str) -> dict:
    """A leaderboard row from a `results.json` dict (per-task headline numbers included as `task:<name>`)."""
    summary = results["summary"]
    judge = results.get("judge") or {}
    row = {
        "model": results["model"]["given"],
        "revision": results["model"].get("revision") or "",
        "recipe": results["config"]["recipe"]["name"],
        "suite": suite,
        "safety_average": summary.get("safety_average"),
        "safety_average_answer_only": summary.get("safety_average_answer_only"),
        "xstest_compliance": summary.get("xstest_compliance"),
        "strongreject_score": summary.get("strongreject_score"),
        "reasoning_average": summary.get("reasoning_average"),
        "n_samples": summary.get("n_samples"),
        "truncated": summary.get("truncated"),
        "judge": judge.get("guard_model") or "",
        "date": results["config"].get("started_at", ""),
    }
    for name, metrics in results["tasks"].items():
        row[f"task:{name}"] = metrics.get("headline")
    return row


def merge_rows(rows: list[dict], new: dict) -> list[dict]:
    """`rows` with `new` replacing any row of the same model, revision, recipe and suite (appended otherwise)."""
    key = ("model", "revision", "recipe", "suite")
    kept = [r for r in rows if tuple(r.get(k) for k in key) != tuple(new.get(k) for k in key)]
    return kept + [new]


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def render_readme(rows: list[dict], org: str, has_plot: bool) -> str:
    """The dataset README: YAML config for the rows file, the table and the plot."""
    from star1_hub.cards import render_card

    task_columns = sorted({k for r in rows for k in r if k.startswith("task:")})
    table_rows = [
        {
            "model": r["model"] + (f"@{r['revision']}" if r.get("revision") else ""),
            "recipe": r["recipe"],
            "suite": r["suite"],
            "safety": _fmt(r.get("safety_average")),
            "safety_answer": _fmt(r.get("safety_average_answer_only")),
            "xstest": _fmt(r.get("xstest_compliance")),
            "strongreject": _fmt(
                r.get("strongreject_score") if r.get("strongreject_score") is None else 100 * r["strongreject_score"]
            ),
            "reasoning": _fmt(r.get("reasoning_average")),
            "tasks": [_fmt(r.get(c)) for c in task_columns],
            "judge": r.get("judge") or "–",
            "date": r.get("date", ""),
        }
        for r in rows
    ]
    return render_card(
        "leaderboard_readme.md.jinja",
        org=org,
        rows=table_rows,
        task_columns=[c.removeprefix("task:") for c in task_columns],
        rows_path=ROWS_PATH,
        plot_path=PLOT_PATH if has_plot else None,
    )


def render_plot(rows: list[dict]) -> bytes | None:
    """PNG scatter of safety average (x) vs reasoning average (y), one labelled point per model/recipe with both."""
    points = [r for r in rows if r.get("safety_average") is not None and r.get("reasoning_average") is not None]
    if not points:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5), dpi=100)
    for r in points:
        ax.scatter(r["safety_average"], r["reasoning_average"], s=40)
        ax.annotate(
            f"{r['model'].split('/')[-1]} ({r['recipe']})",
            (r["safety_average"], r["reasoning_average"]),
            fontsize=8,
            xytext=(4, 4),
            textcoords="offset points",
        )
    ax.set_xlabel("safety average (%)")
    ax.set_ylabel("reasoning average (pass@1, %)")
    ax.set_title("STAR-1 leaderboard: safety vs reasoning")
    ax.grid(alpha=0.3)
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def load_rows(org: str, token: str | None = None) -> list[dict]:
    """Current leaderboard rows ([] when the dataset or its rows file does not exist yet)."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError

    try:
        path = hf_hub_download(leaderboard_repo(org), ROWS_PATH, repo_type="dataset", token=token)
    except (RepositoryNotFoundError, EntryNotFoundError):
        return []
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def append_row(org: str, row: dict, token: str | None = None) -> str:
    """Add or replace `row` on the leaderboard, re-render README and plot, push in one commit; returns the repo id."""
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi(token=token)
    repo_id = leaderboard_repo(org)
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
    rows = merge_rows(load_rows(org, token), row)
    plot = render_plot(rows)
    operations = [
        CommitOperationAdd(ROWS_PATH, ("\n".join(json.dumps(r, sort_keys=True) for r in rows) + "\n").encode()),
        CommitOperationAdd("README.md", render_readme(rows, org, plot is not None).encode()),
    ]
    if plot is not None:
        operations.append(CommitOperationAdd(PLOT_PATH, plot))
    api.create_commit(
        repo_id, operations, commit_message=f"leaderboard: {row['model']} ({row['recipe']})", repo_type="dataset"
    )
    logger.info("leaderboard %s now has %d rows", repo_id, len(rows))
    return repo_id


def show(org: str, token: str | None = None) -> list[dict]:
    """Print the leaderboard as a rich table and return its rows."""
    from rich.console import Console
    from rich.table import Table

    rows = load_rows(org, token)
    table = Table(title=f"{leaderboard_repo(org)} ({len(rows)} rows)")
    shown = tuple(column for column in COLUMNS if column not in ("truncated", "date"))  # keep the table narrow
    for column in shown:
        table.add_column(column)
    for r in sorted(rows, key=lambda r: -(r.get("safety_average") or 0)):
        table.add_row(*(_fmt(r.get(c)) for c in shown))
    Console().print(table)
    return rows
