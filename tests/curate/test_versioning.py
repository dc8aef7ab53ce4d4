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


def test_a_stage_push_carries_its_tag_in_its_one_commit_and_refuses_a_taken_tag(curate_repo):
    import pytest
    from huggingface_hub import HfApi

    from star1_hub.hub.commit import TagExistsError

    api, repo = HfApi(), curate_repo("tagged")
    sha = push_stage(empty_final(), repo, "filtered", RECORD, tag="filtered-v1")
    commits = api.list_repo_commits(repo, repo_type="dataset")
    assert [t.target_commit for t in api.list_repo_refs(repo, repo_type="dataset").tags] == [sha]
    assert commits[0].commit_id == sha
    with pytest.raises(TagExistsError, match="filtered-v1"):
        push_stage(empty_final(), repo, "default", RECORD, tag="filtered-v1")
    assert len(api.list_repo_commits(repo, repo_type="dataset")) == len(commits)  # nothing committed


def test_a_build_with_a_taken_tag_stops_before_its_first_stage(questions_repo, curate_repo, tmp_path):
    import pytest
    from huggingface_hub import HfApi

    from star1_hub.curate.builds import PlanStep, run_plan
    from star1_hub.hub.commit import TagExistsError

    api, star41k, star1 = HfApi(), curate_repo("b41k"), curate_repo("b1")
    push_stage(empty_final(), star1, "filtered", RECORD, tag="v1")
    plan = [  # no model stage: the plan would run without an endpoint
        PlanStep("filter", None, star41k, questions_repo, "collected"),
        PlanStep("select", None, star1),
    ]
    with pytest.raises(TagExistsError, match=star1):
        run_plan(plan, {}, StageOptions(n=2), {"tag": "v1", "cache_dir": str(tmp_path)})
    assert not api.repo_exists(star41k, repo_type="dataset")  # the first stage never ran
