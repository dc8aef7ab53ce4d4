"""Hub versioning of stage outputs: 0-row outputs stay loadable, other configs of the repo are preserved."""

from __future__ import annotations

from star1_hub.curate.filter import final_features
from star1_hub.curate.pipeline import StageOptions, run_stage
from star1_hub.curate.versioning import load_stage_output, parse_repo_ref, push_stage

RECORD = {
    "stage": "filter",
    "input": {"repo": "x/y", "revision": None, "sha": "0" * 40, "config": "scored"},
    "counts": {
        "rows_in": 1,
        "sent": 0,
        "ok": 0,
        "failed": 0,
        "skipped": 0,
        "upstream_errors": 0,
        "dropped": 1,
        "note": "",
    },
    "policy_version": "v",
    "policy_set_sha256": "h",
    "accounting": None,
    "model": None,
}


def empty_final():
    from datasets import Dataset

    row = {
        "id": "1",
        "question": "q",
        "response": "r",
        "category": ["Self-Harm"],
        "source": "s",
        "score": None,
        "provenance": None,
    }
    return Dataset.from_list([row], features=final_features()).select([])


def test_empty_stage_output_is_typed_and_select_on_it_returns_nothing(curate_repo):
    repo = curate_repo("empty")
    sha = push_stage(empty_final(), repo, "filtered", RECORD)
    loaded = load_stage_output(repo, "filtered", sha)
    assert len(loaded) == 0 and loaded.features == final_features()
    _, counts, _ = run_stage("select", f"{repo}@{sha}", repo, options=StageOptions(n=5))
    assert counts.rows_out == 0 and "only 0 rows available" in counts.note


def test_configs_of_another_writer_stay_listed(curate_repo):
    from datasets import Dataset, load_dataset

    repo = curate_repo("shared")
    Dataset.from_list([{"id": "1", "question": "q", "source": "s"}]).push_to_hub(repo, config_name="collected")
    push_stage(empty_final(), repo, "filtered", RECORD)
    assert len(load_dataset(repo, "collected", split="train")) == 1


def test_repo_ref_parsing():
    assert parse_repo_ref("org/name@v1") == ("org/name", "v1")
    assert parse_repo_ref("org/name") == ("org/name", None)
