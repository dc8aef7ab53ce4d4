"""Publishing to the (local) Hub: one commit with data + card + plot, a tag, and an exact round trip."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from pathlib import Path

import pytest

from star1_hub.data import DataValidationError, features_for, load_records, load_star1
from star1_hub.data.publish import DATA_FILE, TagExistsError, publish_dataset

SAMPLE = Path(__file__).resolve().parents[2] / "star1_hub" / "data" / "samples" / "star1_sample.json"


def _repo() -> str:
    return f"demo/star1-{uuid.uuid4().hex[:8]}"


def test_publish_then_load_at_tag_and_sha_round_trips(local_hub):
    from huggingface_hub import HfApi

    repo = _repo()
    result = publish_dataset(SAMPLE, repo, "star1", tag="v1")
    expected = load_records(SAMPLE, "star1")
    api = HfApi()
    commits = api.list_repo_commits(repo, repo_type="dataset")
    assert commits[0].commit_id == result.commit_sha
    assert {f for f in api.list_repo_files(repo, repo_type="dataset")} >= {DATA_FILE, "README.md", "distribution.png"}
    for revision in ("v1", result.commit_sha):
        dataset = load_star1(repo, revision=revision)
        assert dataset.features == features_for("star1")
        assert dataset.to_list() == expected


def test_card_counts_match_the_data(local_hub):
    from huggingface_hub import DatasetCard

    repo = _repo()
    publish_dataset(SAMPLE, repo, "star1", tag="v1")
    card = DatasetCard.load(repo, repo_type="dataset")
    records = load_records(SAMPLE, "star1")
    categories = Counter(c for r in records for c in r["category"])
    sources = Counter(r["source"] for r in records)
    for name, count in list(categories.items()) + list(sources.items()):
        assert f"| {name} | {count} |" in card.text
    assert f"{len(records)} rows." in card.text
    assert card.data.license == "apache-2.0"
    assert card.data.configs[0]["config_name"] == "default"


def test_bad_file_pushes_nothing(local_hub, tmp_path):
    from huggingface_hub import HfApi

    rows = json.loads(SAMPLE.read_text())
    rows[3]["category"] = ["Not A Category"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(rows))
    repo = _repo()
    with pytest.raises(DataValidationError, match=r"row id=104 field='category'"):
        publish_dataset(bad, repo, "star1", tag="v1")
    assert not HfApi().repo_exists(repo, repo_type="dataset")


def test_taken_tag_is_refused_before_any_commit(local_hub):
    from huggingface_hub import HfApi

    repo = _repo()
    publish_dataset(SAMPLE, repo, "star1", tag="v1")
    before = HfApi().list_repo_commits(repo, repo_type="dataset")
    with pytest.raises(TagExistsError, match="v1"):
        publish_dataset(SAMPLE, repo, "star1", tag="v1")
    assert HfApi().list_repo_commits(repo, repo_type="dataset") == before


def test_cli_publishes_the_released_star1_file(local_hub, reference_data):
    from typer.testing import CliRunner

    from star1_hub.cli import app

    repo, source = _repo(), str(reference_data / "STAR-1.slice.json")
    result = CliRunner().invoke(app, ["data", "publish", source, "--repo", repo, "--kind", "star1", "--tag", "v1"])
    assert result.exit_code == 0, result.output
    from datasets import load_dataset

    dataset = load_dataset(repo, revision="v1", split="train")
    assert dataset.num_rows == 62
    assert dataset.features == features_for("star1")


def test_cli_show_summarises_the_published_dataset(local_hub):
    from typer.testing import CliRunner

    from star1_hub.cli import app

    repo = _repo()
    publish_dataset(SAMPLE, repo, "star1", tag="v1")
    result = CliRunner().invoke(app, ["data", "show", f"{repo}@v1"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    records = load_records(SAMPLE, "star1")
    top_category, top_count = Counter(c for r in records for c in r["category"]).most_common(1)[0]
    assert "│ rows" in result.output and "│ 20" in result.output
    assert f"{top_category} {top_count}" in result.output
    assert "Content_Safety_Compliance 10.00" in result.output
