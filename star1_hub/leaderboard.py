"""The STAR-1 leaderboard: a Hub dataset `<org>/star1-leaderboard` with one row per (model, revision, recipe, suite).

Files in the dataset repo: `data/leaderboard.jsonl` (the rows), `README.md` (rendered table, from the
`leaderboard_readme.md.jinja` card template) and `safety_vs_reasoning.png`. Appending a row for a (model,
revision, recipe, suite) that is already there replaces it. Each append is one commit built on the head it read
(`star1_hub.hub.commit`), so concurrent `star1 eval` runs never drop each other's rows. The interactive view is
the Gradio Space (`star1 leaderboard space` / `serve`, `star1_hub.space`).

    star1 leaderboard show --org ORG [--json]
"""

from __future__ import annotations

import io
import json
import logging
import sys
from pathlib import Path

from star1_hub.errors import Star1Error
from star1_hub.space.app import (
    ROWS_PATH,
    LeaderboardNotFound,
    benchmarks_of,
    flags_of,
    partial_benchmarks,
    revision_of,
    scatter_figure,
)
from star1_hub.space.app import (
    load_rows as load_repo_rows,
)

logger = logging.getLogger(__name__)

LEADERBOARD_NAME = "star1-leaderboard"
PLOT_PATH = "safety_vs_reasoning.png"
KEY = ("model", "revision", "recipe", "suite")
ERROR_LABELS = ("unparseable", "error")  # judge labels counted as errors of a benchmark


def leaderboard_repo(org: str) -> str:
    return f"{org}/{LEADERBOARD_NAME}"


class LeaderboardNotFoundError(Star1Error, LookupError):
    """`<org>/star1-leaderboard` does not exist on the Hub: a missing leaderboard, which is not an empty one."""

    def __init__(self, org: str, endpoint: str):
        self.org, self.repo_id = org, leaderboard_repo(org)
        super().__init__(
            f"the leaderboard dataset {self.repo_id} does not exist on {endpoint} (or it is private)\n"
            f"`star1 eval run … --org {org}` creates it with its first result; otherwise check --org, or log in "
            "(`hf auth login` / HF_TOKEN) for a private one"
        )


def require_leaderboard(org: str, token: str | None = None) -> str:
    """The leaderboard's repo id, once the Hub confirms it exists.

    Raises:
        LeaderboardNotFoundError: it does not exist (or is private and `token` cannot read it).
    """
    from huggingface_hub import HfApi, constants

    repo_id = leaderboard_repo(org)
    if not HfApi(token=token).repo_exists(repo_id, repo_type="dataset", token=token):
        raise LeaderboardNotFoundError(org, constants.ENDPOINT)
    return repo_id


def _judge_errors(metrics: dict) -> int:
    return sum(
        count
        for key, labels in metrics.items()
        if key.endswith("_labels") and isinstance(labels, dict)
        for label, count in labels.items()
        if any(marker in label for marker in ERROR_LABELS)
    )


def row_from_results(results: dict, suite: str) -> dict:
    """A leaderboard row from a `results.json` dict: ids, suite averages and one entry per benchmark
    (`benchmarks`: name, kind, metric, score, prompts, samples, the benchmark's full size, errors, truncated)."""
    summary = results["summary"]
    judge = results.get("judge") or {}
    model = results["model"]
    benchmarks = []
    for name, metrics in sorted(results["tasks"].items()):
        benchmarks.append(
            {
                "name": name,
                "kind": metrics.get("kind"),
                "metric": metrics.get("headline_metric"),
                "score": metrics.get("headline"),
                "n_prompts": metrics.get("n_prompts"),
                "n_samples": metrics.get("n", metrics.get("n_samples")),
                "expected": metrics.get("expected_size"),  # recorded by the run (results.json)
                "errors": int(metrics.get("n_errors", metrics.get("generation_errors")) or 0) + _judge_errors(metrics),
                "truncated": metrics.get("n_truncated", metrics.get("truncated")),
            }
        )
    row = {
        "model": model["ref"],  # the repo id or the resolved local folder, without @revision
        "revision": model.get("revision") or "",
        "sha": model.get("revision_sha") or "",
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
        "benchmarks": benchmarks,
    }
    for b in benchmarks:  # flat headline columns for the dataset viewer and scripts
        row[f"task:{b['name']}"] = b["score"]
    return row


def folder_provenance(folder: Path) -> dict:
    """`base_model` and `star1_finetune` of a local model folder: from the training record `star1 train` wrote,
    else from the folder's card (`base_model`, with the `star1-hub` tag for a STAR-1 fine-tune); {} without
    either. An unreadable record is logged and skipped (the row just gets no arrow)."""
    from star1_hub.train.record import TRAINING_RECORD

    record = folder / TRAINING_RECORD
    if record.is_file():
        try:
            base = json.loads(record.read_text()).get("base_model")
        except (json.JSONDecodeError, AttributeError, OSError) as exc:
            logger.warning("leaderboard: %s is not a training record (%s); no base model for this row", record, exc)
            base = None
        if base:
            return {"base_model": str(base), "star1_finetune": True}
    card = folder / "README.md"
    if not card.is_file():
        return {}
    from huggingface_hub import ModelCard

    data = ModelCard.load(card).data.to_dict()
    base = data.get("base_model")
    base = (base[0] if len(base) == 1 else "") if isinstance(base, list) else base or ""
    return {"base_model": str(base), "star1_finetune": "star1-hub" in (data.get("tags") or []) and bool(base)}


def with_provenance(row: dict, token: str | None = None) -> dict:
    """`row` plus what the model says about itself: for a Hub repo the resolved commit `sha`, the card's
    `base_model` and whether the card marks a STAR-1 fine-tune (tag `star1-hub`); for a local folder the same
    from its training record or card (`folder_provenance`). An unknown repo adds empty values."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    out = {**row, "sha": row.get("sha") or "", "base_model": row.get("base_model") or "", "star1_finetune": False}
    model = row["model"]
    if Path(model).is_dir():
        return out | folder_provenance(Path(model))
    if Path(model).exists() or model.count("/") != 1:
        return out
    try:
        info = HfApi(token=token).model_info(model, revision=row.get("revision") or None)
    except (HfHubHTTPError, ValueError) as exc:
        logger.info("leaderboard: no Hub provenance for %s (%s)", model, exc)
        return out
    card = info.card_data or {}
    base = card.get("base_model") if hasattr(card, "get") else None
    out["sha"] = out["sha"] or info.sha or ""
    out["base_model"] = out["base_model"] or (base[0] if isinstance(base, list) and base else base or "")
    out["star1_finetune"] = "star1-hub" in (info.tags or []) and bool(out["base_model"])
    return out


def merge_rows(rows: list[dict], new: dict) -> list[dict]:
    """`rows` with `new` replacing any row of the same model, revision, recipe and suite (appended otherwise)."""
    kept = [r for r in rows if tuple(r.get(k) for k in KEY) != tuple(new.get(k) for k in KEY)]
    return kept + [new]


def _fmt(value, scale: float = 1.0) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value * scale:.1f}"
    return str(value)


def render_readme(rows: list[dict], org: str, has_plot: bool) -> str:
    """The dataset README: YAML config for the rows file, the summary table, per-benchmark counts, the plot."""
    from star1_hub.cards import render_card

    ordered = sorted(rows, key=lambda r: (-(r.get("safety_average") or -1), r.get("model", "")))
    table_rows = [
        {
            "model": r["model"],
            "revision": revision_of(r),
            "recipe": r["recipe"],
            "suite": r["suite"],
            "safety": _fmt(r.get("safety_average")),
            "safety_answer": _fmt(r.get("safety_average_answer_only")),
            "xstest": _fmt(r.get("xstest_compliance")),
            "strongreject": _fmt(r.get("strongreject_score"), 100),
            "reasoning": _fmt(r.get("reasoning_average")),
            "samples": _fmt(r.get("n_samples")),
            "partial": bool(partial_benchmarks(r)),
            "flags": flags_of(r) or "–",
            "judge": r.get("judge") or "–",
            "date": r.get("date", ""),
            "benchmarks": [
                {
                    "name": b["name"],
                    "score": _fmt(b.get("score")),
                    "prompts": _fmt(b.get("n_prompts")),
                    "samples": _fmt(b.get("n_samples")),
                    "full": _fmt(b.get("expected")),
                    "partial": b.get("n_prompts") is not None
                    and b.get("expected") is not None
                    and b["n_prompts"] < b["expected"],
                    "errors": _fmt(b.get("errors")),
                }
                for b in benchmarks_of(r)
            ],
        }
        for r in ordered
    ]
    return render_card(
        "leaderboard_readme.md.jinja",
        org=org,
        rows=table_rows,
        any_partial=any(r["partial"] for r in table_rows),
        rows_path=ROWS_PATH,
        plot_path=PLOT_PATH if has_plot else None,
    )


def render_plot(rows: list[dict]) -> bytes | None:
    """PNG of the Space's scatter (safety vs reasoning, 0–100 axes, base → STAR-1 arrows); None without points.

    A figure that cannot be drawn is logged and left out (None), so one odd row never blocks every later append.
    """
    import matplotlib.pyplot as plt

    figure = None
    try:
        figure = scatter_figure(rows)
        if figure is None:
            return None
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    except (ValueError, RuntimeError, OverflowError) as exc:  # matplotlib's layout and text errors
        logger.warning(
            "leaderboard: the plot could not be drawn (%s: %s); README and rows are pushed without it",
            type(exc).__name__,
            str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else "",
        )
        return None
    finally:
        if figure is not None:
            plt.close(figure)


def load_rows(org: str, token: str | None = None, revision: str | None = None) -> list[dict]:
    """Current leaderboard rows ([] when the dataset exists but has no rows file yet: an empty leaderboard).

    Raises:
        LeaderboardNotFoundError: the dataset does not exist (nothing was ever published under `org`).
    """
    try:
        return load_repo_rows(leaderboard_repo(org), token=token, revision=revision)
    except LeaderboardNotFound as exc:
        raise LeaderboardNotFoundError(org, exc.endpoint) from None


def append_row(org: str, row: dict, token: str | None = None) -> str:
    """Add or replace `row` on the leaderboard, re-render README and plot, push in one commit; returns the repo id.

    The row gets the model's Hub provenance (`with_provenance`) first. Concurrent appends are safe: the commit is
    built on the head it read and rebuilt when another append landed first.
    """
    from huggingface_hub import HfApi

    from star1_hub.hub.commit import Changes, commit_to_hub

    repo_id = leaderboard_repo(org)
    row = with_provenance(row, token) if "base_model" not in row else row

    counts: list[int] = []

    def build(head: str) -> Changes:
        rows = merge_rows(load_rows(org, token, revision=head), row)
        plot = render_plot(rows)
        files: dict[str, bytes] = {ROWS_PATH: ("\n".join(json.dumps(r, sort_keys=True) for r in rows) + "\n").encode()}
        if plot is not None:
            files[PLOT_PATH] = plot
        counts.append(len(rows))
        return Changes(files=files, card=render_readme(rows, org, plot is not None))

    commit_to_hub(
        repo_id,
        build,
        message=f"leaderboard: {row['model']} ({row['recipe']})",
        repo_type="dataset",
        api=HfApi(token=token),
    )
    logger.info("leaderboard %s now has %d rows", repo_id, counts[-1])
    return repo_id


TERMINAL_COLUMNS = ("model", "revision", "recipe", "suite", "safety", "XSTest", "reasoning", "samples", "flags")


def terminal_table(rows: list[dict], width: int, title: str | None = None):
    """A rich renderable of the rows that fits `width` columns: full model ids are never cut (a table when they
    fit beside the numbers, else one block per row with the id on its own line; `star1_hub.console_tables`)."""
    from star1_hub.console_tables import fit_table

    ordered = sorted(rows, key=lambda r: (-(r.get("safety_average") or -1), r.get("model", "")))
    display = [
        {
            "model": r["model"],
            "revision": revision_of(r),
            "recipe": r.get("recipe", ""),
            "suite": r.get("suite", ""),
            "safety": _fmt(r.get("safety_average")),
            "XSTest": _fmt(r.get("xstest_compliance")),
            "reasoning": _fmt(r.get("reasoning_average")),
            "samples": _fmt(r.get("n_samples")),
            "flags": flags_of(r),
        }
        for r in ordered
    ]
    return fit_table(
        display,
        TERMINAL_COLUMNS,
        key_columns=["model"],  # on its own line in the narrow layout, so a long id is never broken
        title=title or f"{len(rows)} rows",
        width=width,
    )


def show(org: str, token: str | None = None, as_json: bool = False) -> list[dict]:
    """Print the leaderboard (a table that fits the terminal, or a JSON list for scripts) and return its rows.

    Raises:
        LeaderboardNotFoundError: the leaderboard does not exist (an existing empty one prints "0 rows").
    """
    from star1_hub.console_tables import table_console

    rows = load_rows(org, token)
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2, sort_keys=True) + "\n")
        return rows
    console = table_console()  # the terminal's width; into a pipe or a log, wide enough that no id is cut
    console.print(terminal_table(rows, console.width, title=f"{leaderboard_repo(org)} ({len(rows)} rows)"))
    return rows
