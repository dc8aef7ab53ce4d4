"""`commit_to_hub` (one commit with files + card + tag, parent_commit compare-and-swap) and `parse_ref`."""

from __future__ import annotations

import json
import threading

import pytest
from huggingface_hub import hf_hub_download

from star1_hub.hub.card_validation import CardValidationError
from star1_hub.hub.commit import (
    Changes,
    CommitConflictError,
    RefError,
    RepoRef,
    TagExistsError,
    commit_to_hub,
    parse_ref,
)

CARD = "---\nlicense: apache-2.0\n---\n# Card\n"


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("my-org/STAR-1", RepoRef("my-org/STAR-1", None)),
        ("my-org/STAR-1@v1", RepoRef("my-org/STAR-1", "v1")),
        ("my-org/STAR-1@refs/pr/2", RepoRef("my-org/STAR-1", "refs/pr/2")),
        (" my-org/x.y_z@0123abcd ", RepoRef("my-org/x.y_z", "0123abcd")),
    ],
)
def test_parse_ref_splits_repo_and_revision(ref, expected):
    assert parse_ref(ref) == expected


@pytest.mark.parametrize("ref", ["STAR-1", "my-org/", "/STAR-1", "a/b/c", "my-org/STAR-1@", "my org/x", "o/..x", ""])
def test_parse_ref_rejects_what_the_hub_cannot_name(ref):
    with pytest.raises(RefError, match="expected"):
        parse_ref(ref)


def test_parse_ref_without_namespace_when_allowed_and_names_the_field():
    assert parse_ref("gpt2@main", require_namespace=False) == RepoRef("gpt2", "main")
    with pytest.raises(RefError, match="--input 'nope'"):
        parse_ref("nope", what="--input")


def test_one_commit_holds_files_card_and_tag(hub_api, make_repo_id):
    repo_id = make_repo_id("commit")
    result = commit_to_hub(
        repo_id,
        Changes(files={"data/a.txt": "alpha", "b.bin": b"\x00\x01"}, card=CARD),
        message="first",
        tag="v1",
        tag_message="why",
    )
    assert result.attempts == 1 and result.tag == "v1"
    history = hub_api.list_repo_commits(repo_id, repo_type="dataset")
    assert history[0].commit_id == result.sha and history[0].title == "first"
    assert len(history) == 2  # the repo's initial commit + ours
    assert set(hub_api.list_repo_files(repo_id, repo_type="dataset", revision="v1")) >= {
        "data/a.txt",
        "b.bin",
        "README.md",
    }
    assert hub_api.dataset_info(repo_id, revision="v1").sha == result.sha


def test_taken_tag_and_bad_card_commit_nothing(hub_api, make_repo_id):
    repo_id = make_repo_id("commit-refused")
    commit_to_hub(repo_id, Changes(files={"x.txt": "1"}), message="one", tag="v1")
    head = hub_api.dataset_info(repo_id).sha
    with pytest.raises(TagExistsError, match="'v1' already exists"):
        commit_to_hub(repo_id, Changes(files={"x.txt": "2"}), message="two", tag="v1")
    with pytest.raises(CardValidationError, match="nothing committed"):
        commit_to_hub(repo_id, Changes(files={"x.txt": "3"}, card="---\nlicense: [x\n---\n"), message="three")
    assert hub_api.dataset_info(repo_id).sha == head


def test_deletes_only_paths_present_and_a_folder(hub_api, make_repo_id):
    repo_id = make_repo_id("commit-delete")
    commit_to_hub(
        repo_id, Changes(files={"data/old-1.parquet": b"1", "data/old-2.parquet": b"2", "k": "k"}), message="a"
    )
    commit_to_hub(repo_id, Changes(files={"new": "n"}, delete=["data/", "never-there.txt"]), message="b")
    assert set(hub_api.list_repo_files(repo_id, repo_type="dataset")) == {".gitattributes", "k", "new"}
    commit_to_hub(repo_id, Changes(files={"data/a": "1", "data/b": "2"}), message="c")
    commit_to_hub(repo_id, Changes(files={"data/b": "3"}, delete=["data/", "k"]), message="d")  # replace the folder
    assert set(hub_api.list_repo_files(repo_id, repo_type="dataset")) == {".gitattributes", "new", "data/b"}


def test_stale_parent_is_rebuilt_on_the_new_head(hub_api, make_repo_id):
    """A writer that commits between our read and our commit makes the Hub answer 412; we rebuild on its head."""
    repo_id = make_repo_id("commit-cas")
    commit_to_hub(repo_id, Changes(files={"log.txt": "a\n"}), message="seed")
    heads: list[str] = []

    def build(head: str) -> Changes:
        heads.append(head)
        text = open(hf_hub_download(repo_id, "log.txt", repo_type="dataset", revision=head)).read()
        if len(heads) == 1:  # another writer sneaks in after our read
            hub_api.upload_file(
                path_or_fileobj=b"a\nintruder\n", path_in_repo="log.txt", repo_id=repo_id, repo_type="dataset"
            )
        return Changes(files={"log.txt": text + "ours\n"})

    result = commit_to_hub(repo_id, build, message="append")
    assert result.attempts == 2 and heads[0] != heads[1]
    text = open(hf_hub_download(repo_id, "log.txt", repo_type="dataset")).read()
    assert text == "a\nintruder\nours\n"


def test_gives_up_after_max_attempts_with_a_clear_error(hub_api, make_repo_id):
    repo_id = make_repo_id("commit-busy")
    commit_to_hub(repo_id, Changes(files={"n": "0"}), message="seed")
    calls = []

    def build(head: str) -> Changes:
        calls.append(head)
        hub_api.upload_file(
            path_or_fileobj=str(len(calls)).encode(), path_in_repo="other", repo_id=repo_id, repo_type="dataset"
        )
        return Changes(files={"n": "mine"})

    with pytest.raises(CommitConflictError, match="3 attempts"):
        commit_to_hub(repo_id, build, message="never", max_attempts=3)
    assert len(calls) == 3
    assert open(hf_hub_download(repo_id, "n", repo_type="dataset")).read() == "0"


def test_concurrent_read_modify_write_appends_lose_nothing(make_repo_id):
    """Six writers append to the same JSON-lines file at once: every line survives."""
    repo_id = make_repo_id("commit-race")
    commit_to_hub(repo_id, Changes(files={"rows.jsonl": json.dumps({"n": 0}) + "\n"}), message="seed")
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def append(n: int) -> None:
        def build(head: str) -> Changes:
            text = open(hf_hub_download(repo_id, "rows.jsonl", repo_type="dataset", revision=head)).read()
            return Changes(files={"rows.jsonl": text + json.dumps({"n": n}) + "\n"})

        try:
            barrier.wait(timeout=60)
            commit_to_hub(repo_id, build, message=f"row {n}")
        except BaseException as exc:  # reported below with the thread's number
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(n,)) for n in range(1, 7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    lines = open(hf_hub_download(repo_id, "rows.jsonl", repo_type="dataset")).read().splitlines()
    assert sorted(json.loads(line)["n"] for line in lines) == list(range(7))


def test_bad_card_for_a_new_repo_creates_nothing(hub_api, make_repo_id):
    repo_id = make_repo_id("commit-new-bad")
    with pytest.raises(CardValidationError, match=repo_id):
        commit_to_hub(repo_id, Changes(card="---\nlicense: [x\n---\n"), message="never", repo_type="model")
    assert not hub_api.repo_exists(repo_id)


def test_create_pr_leaves_the_branch_alone(hub_api, make_repo_id):
    repo_id = make_repo_id("commit-pr")
    first = commit_to_hub(repo_id, Changes(files={"a": "1"}), message="a")
    result = commit_to_hub(repo_id, Changes(files={"a": "2"}), message="proposal", create_pr=True)
    assert result.pr_revision == "refs/pr/1"
    assert hub_api.dataset_info(repo_id).sha == first.sha


def test_tag_revision_refuses_a_taken_tag(hub_api, make_repo_id):
    from star1_hub.hub.commit import tag_revision

    repo_id = make_repo_id("commit-tag")
    first = commit_to_hub(repo_id, Changes(files={"a": "1"}), message="a")
    tag_revision(repo_id, "build-1", first.sha, message="finished build")
    with pytest.raises(TagExistsError, match="'build-1' already exists"):
        tag_revision(repo_id, "build-1", first.sha)
    assert hub_api.dataset_info(repo_id, revision="build-1").sha == first.sha
