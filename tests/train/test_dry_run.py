"""`star1 train RECIPE --dry-run` on a CPU machine: parses every recipe (bf16 GPU recipes included), checks the
dataset's revision, rows and columns through the Hub API of the local Hub without downloading data or model, and
prints the batch arithmetic and the launch line. Runs through the real `star1` CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
R1_7B = "recipes/DeepSeek-R1-Distill-Qwen-7B/sft/config_star1.yaml"
INSTRUCT_RECIPES = sorted(p.relative_to(RECIPES.parent).as_posix() for p in RECIPES.glob("*-Instruct/sft/*.yaml"))


def _star1(*args: str):
    from typer.testing import CliRunner

    from star1_hub.cli import app

    return CliRunner().invoke(app, list(args))


def _rows(star1_rows, n=12):
    return [{k: r[k] for k in ("id", "question", "response", "source")} for r in star1_rows[:n]]


@pytest.fixture(scope="module")
def hub_star1(local_hub, star1_rows):
    """A STAR-1-shaped dataset pushed with `datasets` (parquet + card metadata) and tagged `v1`."""
    from datasets import Dataset
    from huggingface_hub import HfApi

    repo = "star1-test/dry-run-star1"
    Dataset.from_list(_rows(star1_rows)).push_to_hub(repo)
    HfApi().create_tag(repo, tag="v1", repo_type="dataset", exist_ok=True)
    return repo


def _cached_repos() -> list[str]:
    from huggingface_hub import constants

    cache = Path(constants.HF_HUB_CACHE)
    return sorted(p.name for p in cache.iterdir()) if cache.is_dir() else []


def test_paper_recipe_dry_run_on_cpu_downloads_nothing(hub_star1, monkeypatch):
    from huggingface_hub import HfApi

    monkeypatch.chdir(RECIPES.parent)
    sha = HfApi().dataset_info(hub_star1, revision="v1").sha
    before = _cached_repos()
    result = _star1("train", R1_7B, "--dry-run", "--dataset_name", hub_star1, "--dataset_revision", "v1")
    assert result.exit_code == 0, result.output
    out = result.output
    launch = next(line for line in out.splitlines() if line.startswith("launch: "))
    assert "-m accelerate.commands.launch --config_file " in launch and "accelerate_configs/zero3.yaml" in launch
    assert "--num_processes 8 --num_machines 1 --machine_rank 0" in launch
    assert launch.endswith(f"-m star1_hub.train.sft --config {R1_7B} --dataset_name {hub_star1} --dataset_revision v1")
    assert f"data: {hub_star1}@v1 -> {sha[:12]}: 12 rows; id, question, response, source" in out
    assert "batch: 1 per device x 16 accumulation x 8 process(es) = 128 samples per optimizer step" in out
    # 12 rows over 8 processes: 2 micro-batches each, one short step per epoch, 4 rows repeated.
    assert (
        "2 micro-batches per process per epoch, 1 optimizer steps per epoch (last one 16 samples), 5 in total" in out
    )
    assert "duplicated samples per epoch (accelerate even_batches): 4" in out
    assert "bf16" not in out and "gpu" not in out.lower().replace("gpus", "")
    # Neither the model nor the data was downloaded: the Hub cache gained nothing for them.
    new = set(_cached_repos()) - set(before)
    assert not [name for name in new if "DeepSeek" in name or "dry-run-star1" in name], new


@pytest.mark.parametrize("recipe", INSTRUCT_RECIPES)
def test_instruct_recipe_dry_run_prints_its_launch_line(hub_star1, monkeypatch, recipe):
    monkeypatch.chdir(RECIPES.parent)
    result = _star1("train", recipe, "--dry-run", "--dataset_name", hub_star1)
    assert result.exit_code == 0, result.output
    think_flag = 0 if recipe.endswith("config_nothink.yaml") else 1  # the original's instruct default: trace kept
    assert "base_flag 1" in result.output and f"think_flag {think_flag}" in result.output
    template = "llama-3.1-instruct" if "Llama" in recipe else "qwen2.5-instruct"
    assert f"chat template {template}" in result.output
    launch = [line for line in result.output.splitlines() if line.startswith("launch: ")]
    assert len(launch) == 1 and f"-m star1_hub.train.sft --config {recipe} --dataset_name {hub_star1}" in launch[0]


def test_parquet_without_card_metadata_is_checked_from_the_footer(local_hub, star1_rows, tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq
    from huggingface_hub import HfApi

    repo = "star1-test/dry-run-bare-parquet"
    api = HfApi()
    api.create_repo(repo, repo_type="dataset", exist_ok=True)
    buffer = io.BytesIO()
    rows = _rows(star1_rows, 9)
    pq.write_table(pa.Table.from_pylist([{k: r[k] for k in ("question", "source")} for r in rows]), buffer)
    api.upload_file(
        path_or_fileobj=buffer.getvalue(), path_in_repo="data/train-00000.parquet", repo_id=repo, repo_type="dataset"
    )
    monkeypatch.chdir(RECIPES.parent)
    result = _star1("train", R1_7B, "--dry-run", "--dataset_name", repo)
    assert result.exit_code == 2
    assert f"dataset '{repo}' has no column 'response'" in result.output
    # With the columns present, the footer gives rows and columns without reading the rows.
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    api.upload_file(
        path_or_fileobj=buffer.getvalue(), path_in_repo="data/train-00000.parquet", repo_id=repo, repo_type="dataset"
    )
    result = _star1("train", R1_7B, "--dry-run", "--dataset_name", repo)
    assert result.exit_code == 0, result.output
    assert (
        "9 rows; id, question, response, source (from the footers of 1 parquet file(s), no rows read)" in result.output
    )


def test_json_data_file_is_reported_as_not_checked(local_hub, star1_rows, monkeypatch):
    """The released STAR-1 is one JSON file without card metadata: the dry run says what it could not check."""
    from huggingface_hub import HfApi

    repo = "star1-test/dry-run-json"
    api = HfApi()
    api.create_repo(repo, repo_type="dataset", exist_ok=True)
    api.upload_file(
        path_or_fileobj=json.dumps(_rows(star1_rows, 3)).encode(),
        path_in_repo="STAR-1.json",
        repo_id=repo,
        repo_type="dataset",
    )
    monkeypatch.chdir(RECIPES.parent)
    result = _star1("train", R1_7B, "--dry-run", "--dataset_name", repo)
    assert result.exit_code == 0, result.output
    assert "columns not checked (not checked: STAR-1.json carry no schema" in result.output
    assert "steps: not computed" in result.output and "launch: " in result.output


def test_missing_revision_is_one_clear_error(hub_star1, monkeypatch):
    monkeypatch.chdir(RECIPES.parent)
    result = _star1("train", R1_7B, "--dry-run", "--dataset_name", hub_star1, "--dataset_revision", "v9")
    assert result.exit_code == 2
    assert "v9" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) <= 3


def test_every_recipe_parses_for_a_dry_run_without_a_gpu():
    """The bf16 GPU recipes parse on this CPU machine (the dry-run path) and the embedded model is not needed."""
    from star1_hub.train.config import parse_recipe

    for path in sorted(RECIPES.glob("*/sft/*.yaml")) + sorted((RECIPES / "smoke").glob("sft_*.yaml")):
        script, training, model = parse_recipe(path, [], resolve_model=False, for_dry_run=True)
        assert training.per_device_train_batch_size >= 1 and model.model_name_or_path, path


def test_real_run_checks_json_columns_before_training(local_hub, star1_rows, tmp_path):
    """What a dry run can only report (a JSON file's columns), a real run loads and checks before training."""
    from huggingface_hub import HfApi

    from star1_hub.train.data import DatasetColumnError
    from star1_hub.train.launch import train_recipe

    repo = "star1-test/dry-run-json-no-response"
    api = HfApi()
    api.create_repo(repo, repo_type="dataset", exist_ok=True)
    rows = [{"id": r["id"], "question": r["question"]} for r in star1_rows[:3]]
    api.upload_file(
        path_or_fileobj=json.dumps(rows).encode(), path_in_repo="data.json", repo_id=repo, repo_type="dataset"
    )
    out = tmp_path / "out"
    with pytest.raises(DatasetColumnError, match=f"dataset '{repo}' has no column 'response'"):
        train_recipe(RECIPES / "smoke/sft_full.yaml", ["--dataset_name", repo, "--output_dir", str(out)])
    assert not out.exists()
