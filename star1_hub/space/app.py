"""STAR-1 leaderboard Space: a sortable, searchable table and a safety-vs-reasoning plot of `<org>/star1-leaderboard`.

This file is uploaded as the Space's `app.py` by `star1 leaderboard space` and is also what
`star1 leaderboard serve` runs locally, so it imports only gradio, pandas, matplotlib and huggingface_hub (never
star1_hub). The dataset is read from the Hub the process talks to (`HF_ENDPOINT`, default huggingface.co); its
id comes from `--repo`, the `STAR1_LEADERBOARD_REPO` variable or `space_config.json` next to this file.

    python app.py --repo my-org/star1-leaderboard --port 7860
"""

from __future__ import annotations

import argparse
import html
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
# Headers are short (a narrow numeric column must never break one inside a word); LEGEND says what each means.
AVERAGE_COLUMN = {"safety": "safety avg", "over-refusal": "XSTest", "reasoning": "reasoning avg"}
AVERAGE_KEY = {"safety": "safety_average", "over-refusal": "xstest_compliance", "reasoning": "reasoning_average"}
LEGEND = {
    "safety avg": "% of outputs the guard judges safe, mean over the safety benchmarks (higher = safer)",
    "XSTest": "% of XSTest's safe prompts fully answered (higher = less over-refusal)",
    "reasoning avg": "pass@1 %, mean over the reasoning benchmarks",
    "samples": "generations scored, all benchmarks together",
    "judge": "the guard model that labelled the safety outputs",
    "flags": "`partial k/n`: k of the row's n benchmarks ran on fewer prompts than their full set; `errors k`: "
    "k generation errors or unparseable judge replies (hover a badge for the benchmarks)",
}
GROUP_HELP = {
    "safety": "safety benchmark",
    "over-refusal": "over-refusal benchmark",
    "reasoning": "reasoning benchmark",
}
BADGE_CSS = """
#leaderboard-table th .header { white-space: nowrap; word-break: keep-all; overflow-wrap: normal; }
#leaderboard-table thead th:first-child, #leaderboard-table .virtual-row > [role=gridcell]:first-of-type {
  position: sticky; left: 0; z-index: 3; background: var(--background-fill-primary); }  /* the model id stays */
#leaderboard-table .flag { display: inline-block; margin: 1px 4px 1px 0; padding: 0 7px; border-radius: 9px;
  font-size: 0.85em; line-height: 1.6; white-space: nowrap; }
#leaderboard-table .flag-partial { background: #fef3c7; color: #92400e; }
#leaderboard-table .flag-errors { background: #fee2e2; color: #991b1b; }
"""


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


def flag_badges(row: dict) -> str:
    """The row's flags as HTML badges for the Space table: `partial k/n` and `errors k`, each with the benchmarks
    it stands for as its tooltip ("" when clean). Every piece of row text is escaped: it is data, never markup."""
    badges = []
    n_benchmarks = len(benchmarks_of(row))
    if partial := partial_benchmarks(row):
        badges.append(("partial", f"partial {len(partial)}/{n_benchmarks}", ", ".join(partial)))
    if errors := error_benchmarks(row):
        total = sum(int(b.get("errors") or 0) for b in benchmarks_of(row))
        badges.append(("errors", f"errors {total}", ", ".join(errors)))
    return "".join(
        f'<span class="flag flag-{kind}" title="{html.escape(detail)}">{html.escape(text)}</span>'
        for kind, text, detail in badges
    )


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
    """One flat dict per leaderboard row: ids, averages, each benchmark's score, samples, judge, flag badges."""
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
        record["flags"] = flag_badges(row)
        records.append(record)
    return records


def leaderboard_frame(rows: list[dict], groups: list[str] | tuple[str, ...] = GROUPS):
    """A pandas DataFrame of the rows, sorted by safety average, with only the chosen column groups (the flags
    column holds HTML badges: `flag_badges`)."""
    import pandas as pd

    per_group = table_columns(rows)
    columns = [*ID_COLUMNS, *(c for group in GROUPS if group in groups for c in per_group[group]), *TAIL_COLUMNS]
    frame = pd.DataFrame(table_records(rows), columns=columns)
    if not frame.empty:
        frame = frame.sort_values(AVERAGE_COLUMN["safety"], ascending=False, na_position="last", kind="stable")
    return frame.reset_index(drop=True)


def column_datatypes(columns: list[str]) -> list[str]:
    """Gradio datatypes of the table's columns: ids and judge as text, flags as HTML badges, scores as numbers."""
    text = {*ID_COLUMNS, "judge"}
    return ["str" if c in text else "html" if c == "flags" else "number" for c in columns]


def legend_markdown(rows: list[dict], columns: list[str]) -> str:
    """The legend under the table: an entry per shown column that its short header leaves unexplained (averages,
    benchmarks with their group, metric and full size, samples, judge, flags)."""
    about: dict[str, str] = {}
    for row in rows:
        for b in benchmarks_of(row):
            what = GROUP_HELP[group_of(b.get("kind"))] if b.get("kind") else "benchmark"
            details = [
                d for d in (b.get("metric"), f"full set {b['expected']} prompts" if b.get("expected") else "") if d
            ]
            about.setdefault(b["name"], what + (f" ({', '.join(details)})" if details else ""))
    lines = [
        f"**{column}**: {LEGEND.get(column) or about[column]}"
        for column in columns
        if column in LEGEND or column in about
    ]
    return "Columns — " + " · ".join(lines) if lines else ""


def finetune_pairs(rows: list[dict]) -> list[tuple[dict, dict]]:
    """(base row, STAR-1 row) pairs from each fine-tune's RECORDED base model, never from the look of the names.

    A row is a STAR-1 fine-tune when its model card says so (`star1_finetune`, with its `base_model`). Its base is
    a row of the same recipe and suite that is not a fine-tune and whose model id is that `base_model`, or whose
    own card records the same `base_model` (a copy of it, such as an org's mirror of the base).
    """
    pairs = []
    for tuned in rows:
        if not tuned.get("star1_finetune") or not tuned.get("base_model"):
            continue
        for base in rows:
            if base is tuned or base.get("star1_finetune"):
                continue
            if (base.get("recipe"), base.get("suite")) != (tuned.get("recipe"), tuned.get("suite")):
                continue
            if tuned["base_model"] in (base.get("model"), base.get("base_model")):
                pairs.append((base, tuned))
    return pairs


def unpaired_finetunes(rows: list[dict]) -> list[dict]:
    """STAR-1 fine-tunes with no row of their recorded base model (same recipe and suite): no arrow for them."""
    paired = {id(tuned) for _, tuned in finetune_pairs(rows)}
    return [r for r in rows if r.get("star1_finetune") and id(r) not in paired]


def short_label(row: dict) -> str:
    """The label of a point: the model's repo name and its revision."""
    name = str(row.get("model", "")).rstrip("/").split("/")[-1]
    revision = revision_of(row)
    return name if revision == "–" else f"{name} @ {revision}"


LABEL_GAP_PT = 7  # horizontal distance of a label from its point
LABEL_STEP_PT = 11  # vertical step between the candidate places of a label (one line of 8 pt text)
LABEL_TRIES = 14  # steps up and down on each side
# Costs of a candidate place (display px²): another label under it is never worth it, a marker or an arrow under
# it is worth a few lines of distance, and each line away from the point costs a little.
COST_LABEL, COST_OUTSIDE, COST_STEP, COST_OTHER_SIDE = 1e6, 1e9, 12.0, 6.0


def _place_labels(fig, ax, points: list[dict], segments: list[tuple[tuple, tuple]]) -> list:
    """Annotate each point with its label at the cheapest place: never over another label or outside the axes,
    and off the markers and arrows (`segments`, data coordinates) unless that costs many lines of distance.

    Candidates: beside the point on either side (the side with more room first), then one line up, one down,
    two up, … A label moved off its point's line gets a thin leader line to it. Where no place is free of other
    labels (a crowd beyond LABEL_TRIES lines) the least overlapping one is used, and the overlap is logged.
    """
    from matplotlib.transforms import Bbox

    renderer = fig.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    to_pixels = ax.transData.transform
    obstacles = [Bbox.from_bounds(x - 5, y - 5, 10, 10) for x, y in to_pixels([_xy(r) for r in points])]
    for start, end in segments:  # an arrow as a chain of small boxes, one every 4 px
        (x0, y0), (x1, y1) = to_pixels([start, end])
        n = max(2, int(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5 / 4))
        obstacles += [Bbox.from_bounds(x0 + (x1 - x0) * t / n - 2, y0 + (y1 - y0) * t / n - 2, 4, 4) for t in range(n)]
    placed: list = []
    annotations = []
    for row in sorted(points, key=lambda r: (-r["reasoning_average"], r["safety_average"], short_label(r))):
        sides = (-1, 1) if row["safety_average"] > 55 else (1, -1)  # right-hand points label to their left first
        steps = [0] + [sign * k for k in range(1, LABEL_TRIES + 1) for sign in (1, -1)]
        best = None
        for side_cost, side in zip((0.0, COST_OTHER_SIDE), sides, strict=True):
            for step in steps:
                annotation = ax.annotate(
                    short_label(row),
                    _xy(row),
                    xytext=(side * LABEL_GAP_PT, step * LABEL_STEP_PT),
                    textcoords="offset points",
                    ha="left" if side > 0 else "right",
                    va="center",
                    fontsize=8,
                    parse_math=False,  # ids and revisions are data, never markup
                    bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
                    arrowprops={"arrowstyle": "-", "color": "0.6", "lw": 0.6, "shrinkA": 0, "shrinkB": 3}
                    if step
                    else None,
                    zorder=4,
                )
                box = label_box(annotation, renderer)
                cost = (
                    COST_LABEL * sum(_overlap(box, other) for other in placed)
                    + sum(_overlap(box, other) for other in obstacles)
                    + (0 if _contains(inside, box) else COST_OUTSIDE)
                    + COST_STEP * abs(step)
                    + side_cost
                )
                if best is None or cost < best[0]:
                    if best is not None:
                        best[1].remove()
                    best = (cost, annotation, box)
                else:
                    annotation.remove()
            if best[0] == 0:
                break
        _, annotation, box = best
        if any(_overlap(box, other) for other in placed) or not _contains(inside, box):
            logger.warning("leaderboard plot: no free place for the label %r; it overlaps", short_label(row))
        placed.append(box)
        annotations.append(annotation)
    return annotations


def label_box(annotation, renderer=None):
    """The display box of an annotation's text alone (an Annotation's own extent also covers its leader line)."""
    from matplotlib.text import Text

    renderer = renderer or annotation.get_figure(root=True).canvas.get_renderer()
    annotation.update_positions(renderer)  # where the offset text sits now (what draw() would do first)
    return Text.get_window_extent(annotation, renderer)


def _xy(row: dict) -> tuple[float, float]:
    return (row["safety_average"], row["reasoning_average"])


def _overlap(a, b) -> float:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return width * height if width > 0 and height > 0 else 0.0


def _contains(outer, inner) -> bool:
    return outer.x0 <= inner.x0 and inner.x1 <= outer.x1 and outer.y0 <= inner.y0 and inner.y1 <= outer.y1


def scatter_figure(rows: list[dict]):
    """Matplotlib figure: safety average (x) vs reasoning average (y), base → STAR-1 arrows from recorded bases.

    Both axes are percentages and always span 0–100, so one point (or equal values) never collapses an axis.
    Labels never overlap each other and keep off markers and arrows where they can (`_place_labels` moves them,
    with leader lines); they are plain text
    (`parse_math=False`): a revision such as `v$\\x$` is a valid branch name, and as mathtext it would fail the
    whole figure. The title mentions arrows only when some are drawn. Returns None when no row has both averages.
    """
    points = [r for r in rows if r.get("safety_average") is not None and r.get("reasoning_average") is not None]
    if not points:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=100)
    for row in points:
        tuned = bool(row.get("star1_finetune"))
        ax.scatter(row["safety_average"], row["reasoning_average"], s=50, marker="*" if tuned else "o", zorder=3)
    segments = []
    for base, tuned in finetune_pairs(points):
        ax.annotate(
            "",
            xy=(tuned["safety_average"], tuned["reasoning_average"]),
            xytext=(base["safety_average"], base["reasoning_average"]),
            arrowprops={"arrowstyle": "->", "color": "gray", "lw": 1.2},
            zorder=2,
        )
        segments.append((_xy(base), _xy(tuned)))
    ax.set_xlim(-2, 102)
    ax.set_ylim(-2, 102)
    ax.set_xlabel("safety average (% safe outputs)")
    ax.set_ylabel("reasoning average (pass@1, %)")
    ax.set_title("safety vs reasoning" + (" (arrows: base → STAR-1 fine-tune; ★ = STAR-1)" if segments else ""))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _place_labels(fig, ax, points, segments)  # after the layout: label boxes are measured in the final axes
    return fig


class LeaderboardNotFound(LookupError):
    """The leaderboard dataset does not exist on this Hub (or is private and no token can read it)."""

    def __init__(self, repo_id: str, endpoint: str):
        self.repo_id, self.endpoint = repo_id, endpoint
        super().__init__(f"the leaderboard dataset {repo_id} does not exist on {endpoint} (or it is private)")


def hub_endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def load_rows(repo_id: str, token: str | None = None, revision: str | None = None) -> list[dict]:
    """The leaderboard rows from the Hub: `[]` while the dataset has no rows file yet (an empty leaderboard).

    Raises:
        LeaderboardNotFound: the dataset itself does not exist (a missing leaderboard is not an empty one).
    """
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError

    try:
        path = hf_hub_download(repo_id, ROWS_PATH, repo_type="dataset", token=token, revision=revision)
    except RepositoryNotFoundError:
        raise LeaderboardNotFound(repo_id, hub_endpoint()) from None
    except EntryNotFoundError:
        if not HfApi(token=token).repo_exists(repo_id, repo_type="dataset"):
            raise LeaderboardNotFound(repo_id, hub_endpoint()) from None
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


def missing_note(error: LeaderboardNotFound) -> str:
    """What the page says for a leaderboard that does not exist: its name, the Hub, and how to create it."""
    org = error.repo_id.split("/")[0]
    return (
        f"⚠ **No leaderboard yet**: {error}. `star1 eval run … --org {org}` creates it with its first result "
        "(or check the org name; a private dataset needs a token that can read it)."
    )


def page_note(repo_id: str, rows: list[dict], has_plot: bool) -> str:
    """The line above the table: how many rows, and everything the plot leaves out (nothing silent)."""
    parts = [f"{len(rows)} rows from `{repo_id}`"]
    if not has_plot:
        parts.append("no row has both averages: no plot")
    for tuned in unpaired_finetunes(rows):
        parts.append(
            f"no arrow to `{tuned['model']}`: its recorded base `{tuned['base_model']}` has no row here "
            f"(recipe {tuned.get('recipe')}, suite {tuned.get('suite')})"
        )
    return "; ".join(parts)


def table_update(rows: list[dict], groups: list[str]):
    """The table component's new value, with datatypes matching the shown columns (flags render as badges)."""
    import gradio as gr

    frame = leaderboard_frame(rows, groups)
    return gr.Dataframe(value=frame, datatype=column_datatypes(list(frame.columns)))


def build_app(repo_id: str):
    """The Gradio Blocks app for `repo_id` (rows are re-read from the Hub on every page load).

    Every column header is one short line (the legend under the table explains them); the table scrolls
    sideways, the model id column staying in place, when the columns are wider than the page (by design).
    """
    import gradio as gr

    def read() -> tuple[list[dict], str | None]:
        try:
            return load_rows(repo_id), None
        except LeaderboardNotFound as error:
            return [], missing_note(error)

    def table(groups: list[str]):
        rows, _ = read()
        return table_update(rows, groups or [])

    def refresh(groups: list[str]):
        rows, missing = read()
        figure = scatter_figure(rows)
        frame = leaderboard_frame(rows, groups or [])
        note = missing or page_note(repo_id, rows, figure is not None)
        return table_update(rows, groups or []), figure, note, legend_markdown(rows, list(frame.columns))

    with gr.Blocks(title="STAR-1 leaderboard", fill_width=True) as app:
        gr.Markdown(
            f"# STAR-1 leaderboard\n"
            f"Safety and reasoning scores written by `star1 eval` into the dataset `{repo_id}`. "
            "Click a column header to sort; type in the search box to filter; the legend under the table says "
            "what each column holds. The table scrolls sideways when it is wider than the page (the model stays)."
        )
        groups = gr.CheckboxGroup(list(GROUPS), value=list(GROUPS), label="column groups")
        note = gr.Markdown(elem_id="leaderboard-note")
        frame = gr.Dataframe(
            label="leaderboard",
            show_search="search",
            interactive=False,
            wrap=True,
            elem_id="leaderboard-table",
        )
        legend = gr.Markdown(elem_id="leaderboard-legend")
        plot = gr.Plot(label="safety vs reasoning", elem_id="leaderboard-plot")
        groups.change(table, inputs=groups, outputs=frame, api_name="table", queue=False)
        # queue=False: plain HTTP calls, no SSE stream, so the first paint carries the data (and headless
        # browsers with a virtual-time budget see it)
        app.load(refresh, inputs=groups, outputs=[frame, plot, note, legend], api_name="refresh", queue=False)
    return app


def serve(repo_id: str, host: str = "127.0.0.1", port: int = 7860, block: bool = True):
    """Launch the app on `host:port` (no share link, no analytics)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    app = build_app(repo_id)
    app.launch(
        server_name=host, server_port=port, share=False, prevent_thread_lock=not block, quiet=True, css=BADGE_CSS
    )
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
