"""The `--dry-run` data line names the dataset's columns as `datasets` shows them (`category`, `score`), never the
leaf names of nested parquet fields (`element`, `Content_Safety_Compliance`)."""

from __future__ import annotations

import uuid
from pathlib import Path

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
R1_7B = "recipes/DeepSeek-R1-Distill-Qwen-7B/sft/config_star1.yaml"
COLUMNS = "id, question, response, category, source, score, provenance"
RECORD = {  # a select push's manifest entry, as `curate.pipeline.stage_record` writes it
    "stage": "select",
    "input": {"repo": "org/STAR-41K", "revision": None, "sha": "0" * 40, "config": "filtered"},
    "counts": {
        "rows_in": 12,
        "sent": 0,
        "ok": 12,
        "failed": 0,
        "skipped": 0,
        "upstream_errors": 0,
        "dropped": 0,
        "note": "",
    },
    "policy_version": "v",
    "policy_set_sha256": "h",
    "accounting": None,
    "model": None,
}


def _star1(*args: str):
    from typer.testing import CliRunner

    from star1_hub.cli import app

    return CliRunner().invoke(app, list(args))


def _final_rows(star1_rows):
    from datasets import Dataset

    from star1_hub.curate.filter import final_features

    columns = ("id", "question", "response", "category", "source", "score")
    rows = [{**{k: r[k] for k in columns}, "provenance": None} for r in star1_rows[:12]]
    return Dataset.from_list(rows, features=final_features())


def test_curated_repo_dry_run_lists_top_level_columns(local_hub, star1_rows, monkeypatch):
    """A STAR-1 pushed by the curation publisher (no card `dataset_info`): the columns come from the parquet
    footer of its default config, top level only."""
    from star1_hub.curate.versioning import push_stage

    repo = f"star1-test/dry-run-curated-{uuid.uuid4().hex[:8]}"
    push_stage(_final_rows(star1_rows), repo, "default", RECORD)
    monkeypatch.chdir(RECIPES.parent)
    result = _star1("train", R1_7B, "--dry-run", "--dataset_name", repo)
    assert result.exit_code == 0, result.output
    data = next(line for line in result.output.splitlines() if line.startswith("data: "))
    assert f"12 rows; {COLUMNS} (from the footers of 1 parquet file(s), no rows read)" in data
    assert "element" not in data and "Content_Safety_Compliance" not in data


def test_local_parquet_dry_run_lists_top_level_columns(star1_rows, tmp_path, monkeypatch):
    from star1_hub.curate.versioning import _write_parquet

    path = tmp_path / "star1.parquet"
    _write_parquet(_final_rows(star1_rows), path)
    monkeypatch.chdir(RECIPES.parent)
    result = _star1("train", R1_7B, "--dry-run", "--dataset_name", str(path))
    assert result.exit_code == 0, result.output
    data = next(line for line in result.output.splitlines() if line.startswith("data: "))
    assert f"12 rows; {COLUMNS} (read from the local file)" in data
