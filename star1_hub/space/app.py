"""STAR-1 leaderboard Space: a sortable, searchable table and a safety-vs-reasoning plot of `<org>/star1-leaderboard`.

This file is uploaded as the Space's `app.py` by `star1 leaderboard space` and is also what
`star1 leaderboard serve` runs locally, so it imports only gradio, pandas, matplotlib and huggingface_hub (never
star1_hub). The dataset is read from the Hub the process talks to (`HF_ENDPOINT`, default huggingface.co); its
id comes from `--repo`, the `STAR1_LEADERBOARD_REPO` variable or `space_config.json` next to this file.

    python app.py --repo my-org/star1-leaderboard --port 7860
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)

ROWS_PATH = "data/leaderboard.jsonl"
CONFIG_FILE = "space_config.json"
GROUP_OF_KIND = {"harmful": "safety", "overrefusal": "over-refusal"}  # every other kind is a reasoning benchmark
GROUPS = ("safety", "over-refusal", "reasoning")
ID_COLUMNS = ("model", "revision", "recipe", "suite")
TAIL_COLUMNS = ("samples", "judge", "flags")
AVERAGE_COLUMN = {"safety": "safety avg", "over-refusal": "XSTest compliance", "reasoning": "reasoning avg"}
AVERAGE_KEY = {"safety": "safety_average", "over-refusal": "xstest_compliance", "reasoning": "reasoning_average"}


def group_of(kind: str | None) -> str:
    """Column group of a benchmark kind ("harmful" → safety, "overrefusal" → over-refusal, else reasoning)."""
    return GROUP_OF_KIND.get(kind or "", "reasoning")


def benchmarks_of(row: dict) -> list[dict]:
    """The row's per-benchmark entries (rows written before `benchmarks` existed only had `task:<name>` keys)."""
    if row.get("benchmarks"):
        return list(row["benchmarks"])
    return [
        {"name": key.removeprefix("task:"), "score": value, "kind": None, "n_prompts": None, "expected": None}
        for key, value in row.items()
        if key.startswith("task:")
    ]


def partial_benchmarks(row: dict) -> list[str]:
    """`name n/full` for each benchmark that rests on fewer prompts than the benchmark's full set."""
    out = []
    for b in benchmarks_of(row):
        n, full = b.get("n_prompts"), b.get("expected")
        if n is not None and full is not None and n < full:
            out.append(f"{b['name']} {n}/{full}")
    return out


def error_benchmarks(row: dict) -> list[str]:
    """`name (k errors)` for each benchmark with generation errors or unparseable judge replies."""
    return [f"{b['name']} ({b['errors']} errors)" for b in benchmarks_of(row) if b.get("errors")]


def flags_of(row: dict) -> str:
    """Short warnings for a row: partial benchmarks and benchmarks with errors ("" when clean)."""
    parts = []
    if partial := partial_benchmarks(row):
        parts.append("partial: " + ", ".join(partial))
    if errors := error_benchmarks(row):
        parts.append("errors: " + ", ".join(errors))
    return "; ".join(parts)


def revision_of(row: dict) -> str:
    """`branch-or-tag (sha[:12])`, the sha alone, or "–" (a local folder has no revision)."""
    revision, sha = row.get("revision") or "", row.get("sha") or ""
    if revision and sha and not sha.startswith(revision):
        return f"{revision} ({sha[:12]})"
    return revision or sha[:12] or "–"


def _score(value) -> float | None:
    return None if value is None else round(float(value), 1)


def table_columns(rows: list[dict]) -> dict[str, list[str]]:
    """Column names per group, in display order: the group's average, then its benchmarks by name."""
    names: dict[str, set[str]] = {group: set() for group in GROUPS}
    for row in rows:
        for b in benchmarks_of(row):
            names[group_of(b.get("kind"))].add(b["name"])
    return {group: [AVERAGE_COLUMN[group], *sorted(names[group])] for group in GROUPS}


def table_records(rows: list[dict]) -> list[dict]:
    """One flat dict per leaderboard row: ids, averages, each benchmark's score, samples, judge, flags."""
    records = []
    for row in rows:
        record = {
            "model": row.get("model", ""),
            "revision": revision_of(row),
            "recipe": row.get("recipe", ""),
            "suite": row.get("suite", ""),
        }
        for group in GROUPS:
            record[AVERAGE_COLUMN[group]] = _score(row.get(AVERAGE_KEY[group]))
        for b in benchmarks_of(row):
            record[b["name"]] = _score(b.get("score"))
        record["samples"] = row.get("n_samples")
        record["judge"] = row.get("judge") or "–"
        record["flags"] = flags_of(row)
        records.append(record)
    return records


def leaderboard_frame(rows: list[dict], groups: list[str] | tuple[str, ...] = GROUPS):
    """A pandas DataFrame of the rows, sorted by safety average, with only the chosen column groups."""
    import pandas as pd

    per_group = table_columns(rows)
    columns = [*ID_COLUMNS, *(c for group in GROUPS if group in groups for c in per_group[group]), *TAIL_COLUMNS]
    frame = pd.DataFrame(table_records(rows), columns=columns)
    if not frame.empty:
        frame = frame.sort_values(AVERAGE_COLUMN["safety"], ascending=False, na_position="last", kind="stable")
    return frame.reset_index(drop=True)


def finetune_pairs(rows: list[dict]) -> list[tuple[dict, dict]]:
    """(base row, STAR-1 row) pairs: a STAR-1 fine-tune joined with the row of the model it was trained from.

    A row is a STAR-1 fine-tune when its model card says so (`star1_finetune`); its base is a row of the same
    recipe that is not a fine-tune and whose model id, or whose own card's `base_model`, is the fine-tune's
    `base_model`.
    """
    pairs = []
    for tuned in rows:
        if not tuned.get("star1_finetune") or not tuned.get("base_model"):
            continue
        for base in rows:
            if base is tuned or base.get("star1_finetune") or base.get("recipe") != tuned.get("recipe"):
                continue
            if tuned["base_model"] in (base.get("model"), base.get("base_model")):
                pairs.append((base, tuned))
    return pairs


def short_label(row: dict) -> str:
    """The label of a point: the model's repo name and its revision."""
    name = str(row.get("model", "")).rstrip("/").split("/")[-1]
    revision = revision_of(row)
    return name if revision == "–" else f"{name} @ {revision}"


def scatter_figure(rows: list[dict]):
    """Matplotlib figure: safety average (x) vs reasoning average (y), base → STAR-1 pairs joined by arrows.

    Both axes are percentages and always span 0–100, so one point (or equal values) never collapses an axis.
    Labels are drawn as plain text (`parse_math=False`): a revision such as `v$\\x$` is a valid branch name, and
    as mathtext it would fail the whole figure. Returns None when no row has both averages.
    """
    points = [r for r in rows if r.get("safety_average") is not None and r.get("reasoning_average") is not None]
    if not points:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5), dpi=100)
    for row in points:
        tuned = bool(row.get("star1_finetune"))
        ax.scatter(row["safety_average"], row["reasoning_average"], s=50, marker="*" if tuned else "o", zorder=3)
        right = row["safety_average"] > 55  # labels of right-hand points go left, so they stay inside the axes
        ax.annotate(
            short_label(row),
            (row["safety_average"], row["reasoning_average"]),
            fontsize=8,
            xytext=(-6 if right else 6, 6),
            textcoords="offset points",
            ha="right" if right else "left",
            parse_math=False,  # ids and revisions are data, never markup
        )
    for base, tuned in finetune_pairs(points):
        if tuned in points and base in points:
            ax.annotate(
                "",
                xy=(tuned["safety_average"], tuned["reasoning_average"]),
                xytext=(base["safety_average"], base["reasoning_average"]),
                arrowprops={"arrowstyle": "->", "color": "gray", "lw": 1.2},
                zorder=2,
            )
    ax.set_xlim(-2, 102)
    ax.set_ylim(-2, 102)
    ax.set_xlabel("safety average (% safe outputs)")
    ax.set_ylabel("reasoning average (pass@1, %)")
    ax.set_title("safety vs reasoning (arrows: base → STAR-1 fine-tune)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def load_rows(repo_id: str, token: str | None = None) -> list[dict]:
    """The leaderboard rows from the Hub (`[]` while the dataset or its rows file does not exist)."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError

    try:
        path = hf_hub_download(repo_id, ROWS_PATH, repo_type="dataset", token=token)
    except (RepositoryNotFoundError, EntryNotFoundError):
        return []
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def configured_repo(default: str | None = None) -> str:
    """The leaderboard dataset to show: `STAR1_LEADERBOARD_REPO`, else `space_config.json`, else `default`."""
    if os.environ.get("STAR1_LEADERBOARD_REPO"):
        return os.environ["STAR1_LEADERBOARD_REPO"]
    config = Path(__file__).with_name(CONFIG_FILE)
    if config.is_file():
        return json.loads(config.read_text())["leaderboard_repo"]
    if default:
        return default
    raise SystemExit("no leaderboard dataset: pass --repo ORG/star1-leaderboard or set STAR1_LEADERBOARD_REPO")


def build_app(repo_id: str):
    """The Gradio Blocks app for `repo_id` (rows are re-read from the Hub on every page load)."""
    import gradio as gr

    def table(groups: list[str]):
        return leaderboard_frame(load_rows(repo_id), groups or [])

    def refresh(groups: list[str]):
        rows = load_rows(repo_id)
        figure = scatter_figure(rows)
        note = f"{len(rows)} rows from `{repo_id}`" + ("" if figure else " (no row has both averages: no plot)")
        return leaderboard_frame(rows, groups or []), figure, note

    with gr.Blocks(title="STAR-1 leaderboard") as app:
        gr.Markdown(
            f"# STAR-1 leaderboard\n"
            f"Safety and reasoning scores written by `star1 eval` into the dataset `{repo_id}`. "
            "Click a column header to sort; type in the search box to filter. **safety**: % outputs the guard "
            "judges safe (StrongREJECT, JBB, WildChat, WildJailbreak); **XSTest compliance**: % safe prompts fully "
            "answered (higher = less over-refusal); **reasoning**: pass@1 %. *flags*: `partial` = fewer prompts "
            "than the benchmark's full set; `errors` = generation errors or unparseable judge replies."
        )
        groups = gr.CheckboxGroup(list(GROUPS), value=list(GROUPS), label="column groups")
        note = gr.Markdown()
        frame = gr.Dataframe(
            label="leaderboard", show_search="search", interactive=False, wrap=True, elem_id="leaderboard-table"
        )
        plot = gr.Plot(label="safety vs reasoning")
        groups.change(table, inputs=groups, outputs=frame, api_name="table", queue=False)
        # queue=False: plain HTTP calls, no SSE stream, so the first paint carries the data (and headless
        # browsers with a virtual-time budget see it)
        app.load(refresh, inputs=groups, outputs=[frame, plot, note], api_name="refresh", queue=False)
    return app


def serve(repo_id: str, host: str = "127.0.0.1", port: int = 7860, block: bool = True):
    """Launch the app on `host:port` (no share link, no analytics)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    app = build_app(repo_id)
    app.launch(server_name=host, server_port=port, share=False, prevent_thread_lock=not block, quiet=True)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", default=None, help="leaderboard dataset id (default: space_config.json)")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    args = parser.parse_args(argv)
    serve(configured_repo(args.repo), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
