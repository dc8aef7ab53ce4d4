"""Training data: mixtures with weights, Hub datasets at a revision, and clear errors before any training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from star1_hub.train.data import (
    DatasetColumnError,
    DatasetSource,
    DatasetSourceError,
    load_mixture,
    resolve_provenance,
)

RECIPES = Path(__file__).resolve().parents[2] / "recipes"


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_mixture_weights_scale_row_counts(short_star1_jsonl, tmp_path):
    rows = [json.loads(line) for line in short_star1_jsonl.read_text().splitlines()]
    other = _write_jsonl(tmp_path / "other.jsonl", rows[:8])
    mixed = load_mixture(
        [DatasetSource(path=str(short_star1_jsonl), weight=2.0), DatasetSource(path=str(other), weight=0.5)]
    )
    assert len(mixed) == 2 * len(rows) + 4
    assert mixed.column_names == ["messages"]
    first = mixed[0]["messages"]
    assert [m["role"] for m in first] == ["user", "assistant"] and first[1]["content"].startswith("<think>\n")


def test_hub_dataset_is_loaded_at_the_requested_revision(local_hub, short_star1_jsonl):
    from datasets import Dataset
    from huggingface_hub import HfApi

    rows = [json.loads(line) for line in short_star1_jsonl.read_text().splitlines()]
    repo = "star1-test/train-data-revisions"
    Dataset.from_list(rows[:3]).push_to_hub(repo)
    HfApi().create_branch(repo, repo_type="dataset", branch="v2", exist_ok=True)
    Dataset.from_list(rows).push_to_hub(repo, revision="v2")
    assert len(load_mixture([DatasetSource(name=repo)])) == 3
    assert len(load_mixture([DatasetSource(name=repo, revision="v2")])) == len(rows)
    provenance = resolve_provenance(DatasetSource(name=repo, revision="v2"))
    assert provenance["revision"] == "v2" and len(provenance["sha"]) == 40


def test_missing_column_is_reported_before_training(tmp_path, short_star1_jsonl):
    from star1_hub.train.launch import train_recipe

    rows = [json.loads(line) for line in short_star1_jsonl.read_text().splitlines()]
    bad = _write_jsonl(tmp_path / "no_response.jsonl", [{"id": r["id"], "question": r["question"]} for r in rows])
    out = tmp_path / "out"
    with pytest.raises(DatasetColumnError, match=r"no_response.jsonl' has no column 'response'"):
        train_recipe(RECIPES / "smoke/sft_full.yaml", ["--dataset_name", str(bad), "--output_dir", str(out)])
    assert not out.exists()  # nothing was trained or written


def test_bad_mixture_entry_names_index():
    with pytest.raises(DatasetSourceError, match=r"dataset_mixture\[1\].weight must be a number > 0"):
        DatasetSource.from_dict({"name": "a/b", "weight": 0}, 1)
    with pytest.raises(DatasetSourceError, match=r"dataset_mixture\[0\] has unknown keys \['revison'\]"):
        DatasetSource.from_dict({"name": "a/b", "revison": "v1"}, 0)


def test_cli_reports_recipe_errors_with_exit_code_2(tmp_path):
    import typer
    from typer.testing import CliRunner

    from star1_hub.train.cli import register

    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:  # keeps `train` a sub-command
        pass

    bad = tmp_path / "typo.yaml"
    bad.write_text((RECIPES / "smoke/sft_full.yaml").read_text().replace("max_steps:", "max_step:"))
    result = CliRunner().invoke(app, ["train", str(bad)])
    assert result.exit_code == 2
    assert "unknown key 'max_step'" in result.output and "max_steps" in result.output


def test_overlong_rows_are_dropped_for_padding_free(embedded_model, short_star1_jsonl):
    from transformers import AutoTokenizer

    from star1_hub.train.sft import _drop_overlong
    from star1_hub.train.templates import apply_training_template

    tok = AutoTokenizer.from_pretrained(embedded_model)
    apply_training_template(tok, "embedded")
    dataset = load_mixture([DatasetSource(path=str(short_star1_jsonl))])
    lengths = sorted(
        len(tok.apply_chat_template(m, tokenize=True, return_dict=True)["input_ids"]) for m in dataset["messages"]
    )
    limit = lengths[len(lengths) // 2]
    kept = _drop_overlong(dataset, tok, limit)
    assert len(kept) == sum(n <= limit for n in lengths) < len(dataset)
