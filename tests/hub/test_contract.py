"""Contract tests: the unmodified `huggingface_hub` and `datasets` clients drive the local Hub.

Each test exercises one operation listed in ../shared/reference/hub-protocol.md against the session Hub, so a
client upgrade that changes the protocol fails here first.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    HfFileSystem,
    ModelCard,
    hf_hub_download,
    metadata_update,
    snapshot_download,
)
from huggingface_hub.errors import (
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

BIG_FILE_BYTES = 10 * 1024 * 1024 + 4096  # just over the 10 MiB LFS threshold
CARD = "---\nlicense: apache-2.0\ntags:\n- star1\n- safety\n---\n# Test model\n\nA card.\n"


def _add(path: str, content: bytes | str) -> CommitOperationAdd:
    return CommitOperationAdd(
        path_in_repo=path, path_or_fileobj=content.encode() if isinstance(content, str) else content
    )


def _read(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


@pytest.fixture
def model_repo(hub_api, make_repo_id) -> str:
    """A model repo with a card and a config on main."""
    repo_id = make_repo_id("model")
    hub_api.create_repo(repo_id)
    hub_api.create_commit(repo_id, [_add("README.md", CARD), _add("config.json", '{"v": 1}')], commit_message="v1")
    return repo_id


def test_whoami_reports_the_session_tokens_user_and_role(hub_api):
    me = hub_api.whoami()
    assert me["name"] == "star1-local" and me["auth"]["accessToken"]["role"] == "admin"


def test_create_repo_model_and_dataset_with_exist_ok(hub_api, make_repo_id, local_hub):
    repo_id = make_repo_id("create")
    model_url = hub_api.create_repo(repo_id)
    dataset_url = hub_api.create_repo(repo_id, repo_type="dataset")
    assert model_url == f"{local_hub.endpoint}/{repo_id}"
    assert dataset_url == f"{local_hub.endpoint}/datasets/{repo_id}"
    assert dataset_url.repo_type == "dataset"
    assert hub_api.create_repo(repo_id, exist_ok=True) == model_url
    with pytest.raises(HfHubHTTPError) as excinfo:
        hub_api.create_repo(repo_id, repo_type="dataset")
    assert excinfo.value.response.status_code == 409
    assert hub_api.repo_info(repo_id).id == repo_id
    assert hub_api.repo_info(repo_id, repo_type="dataset").private is False


def test_delete_repo_then_repo_info_raises_repository_not_found(hub_api, make_repo_id):
    repo_id = make_repo_id("delete")
    hub_api.create_repo(repo_id)
    hub_api.delete_repo(repo_id)
    with pytest.raises(RepositoryNotFoundError):
        hub_api.repo_info(repo_id)
    hub_api.delete_repo(repo_id, missing_ok=True)


def test_upload_folder_sends_big_safetensors_through_lfs_and_parses_card(hub_api, make_repo_id, tmp_path):
    repo_id = make_repo_id("upload")
    hub_api.create_repo(repo_id)
    folder = tmp_path / "model"
    folder.mkdir()
    big = os.urandom(BIG_FILE_BYTES)
    (folder / "model.safetensors").write_bytes(big)
    (folder / "README.md").write_text(CARD)
    (folder / "sub").mkdir()
    (folder / "sub" / "notes.txt").write_text("hello")

    first = hub_api.upload_folder(repo_id=repo_id, folder_path=folder)
    info = hub_api.repo_info(repo_id, files_metadata=True)
    siblings = {s.rfilename: s for s in info.siblings}
    assert info.sha == first.oid
    assert set(siblings) == {".gitattributes", "README.md", "model.safetensors", "sub/notes.txt"}
    assert siblings["model.safetensors"].lfs.sha256 == hashlib.sha256(big).hexdigest()
    assert siblings["model.safetensors"].size == BIG_FILE_BYTES
    assert siblings["README.md"].lfs is None
    assert info.card_data["license"] == "apache-2.0" and info.card_data["tags"] == ["star1", "safety"]

    downloaded = hf_hub_download(repo_id, "model.safetensors", cache_dir=tmp_path / "cache")
    assert hashlib.sha256(Path(downloaded).read_bytes()).digest() == hashlib.sha256(big).digest()

    # Same content again: the preupload oids let the client skip everything, so no new commit appears.
    again = hub_api.upload_folder(repo_id=repo_id, folder_path=folder)
    assert again.oid == first.oid
    assert len(hub_api.list_repo_commits(repo_id)) == 2


def test_create_commit_adds_and_deletes_files(hub_api, model_repo):
    hub_api.create_commit(
        model_repo,
        [_add("data/a.txt", "A"), _add("data/b.txt", "B"), CommitOperationDelete("config.json")],
        commit_message="add data, drop config",
    )
    assert hub_api.file_exists(model_repo, "data/a.txt")
    assert not hub_api.file_exists(model_repo, "config.json")
    hub_api.create_commit(model_repo, [CommitOperationDelete("data/")], commit_message="drop folder")
    assert hub_api.list_repo_files(model_repo) == [".gitattributes", "README.md"]


def test_create_commit_with_create_pr_opens_refs_pr_without_touching_main(hub_api, model_repo, tmp_path):
    main_sha = hub_api.repo_info(model_repo).sha
    commit = hub_api.create_commit(model_repo, [_add("config.json", '{"v": 2}')], commit_message="pr", create_pr=True)
    assert commit.pr_revision == "refs/pr/1" and commit.pr_num == 1
    assert hub_api.repo_info(model_repo).sha == main_sha
    refs = hub_api.list_repo_refs(model_repo, include_pull_requests=True)
    assert [(ref.ref, ref.target_commit) for ref in refs.pull_requests] == [("refs/pr/1", commit.oid)]
    assert hub_api.list_repo_refs(model_repo).pull_requests is None
    at_pr = hf_hub_download(model_repo, "config.json", revision="refs/pr/1", cache_dir=tmp_path)
    at_main = hf_hub_download(model_repo, "config.json", cache_dir=tmp_path)
    assert (_read(at_pr), _read(at_main)) == ('{"v": 2}', '{"v": 1}')


def test_commit_with_stale_parent_commit_is_rejected_with_412(hub_api, model_repo):
    stale = hub_api.repo_info(model_repo).sha
    hub_api.create_commit(model_repo, [_add("x.txt", "1")], commit_message="move main")
    with pytest.raises(HfHubHTTPError) as excinfo:
        hub_api.create_commit(model_repo, [_add("y.txt", "2")], commit_message="late", parent_commit=stale)
    assert excinfo.value.response.status_code == 412
    assert not hub_api.file_exists(model_repo, "y.txt")


def test_branches_and_tags_create_list_delete_and_conflict(hub_api, model_repo):
    v1 = hub_api.repo_info(model_repo).sha
    hub_api.create_branch(model_repo, branch="dev")
    hub_api.create_tag(model_repo, tag="v1", tag_message="first")
    hub_api.create_commit(model_repo, [_add("config.json", '{"v": 2}')], commit_message="v2")
    hub_api.create_branch(model_repo, branch="from-v1", revision="v1")

    refs = hub_api.list_repo_refs(model_repo)
    branches = {ref.name: ref.target_commit for ref in refs.branches}
    assert branches["dev"] == v1 and branches["from-v1"] == v1 and branches["main"] != v1
    assert [(ref.name, ref.ref, ref.target_commit) for ref in refs.tags] == [("v1", "refs/tags/v1", v1)]

    for create in (
        lambda: hub_api.create_branch(model_repo, branch="dev"),
        lambda: hub_api.create_tag(model_repo, tag="v1"),
    ):
        with pytest.raises(HfHubHTTPError) as excinfo:
            create()
        assert excinfo.value.response.status_code == 409
    hub_api.create_branch(model_repo, branch="dev", exist_ok=True)

    hub_api.delete_branch(model_repo, branch="dev")
    hub_api.delete_tag(model_repo, tag="v1")
    assert not hub_api.revision_exists(model_repo, "dev")
    assert not hub_api.revision_exists(model_repo, "v1")
    assert hub_api.revision_exists(model_repo, "from-v1")


def test_list_repo_commits_newest_first_with_authors(hub_api, model_repo):
    for n in range(3):
        hub_api.create_commit(model_repo, [_add("n.txt", str(n))], commit_message=f"step {n}")
    commits = hub_api.list_repo_commits(model_repo)
    assert [c.title for c in commits] == ["step 2", "step 1", "step 0", "v1", "initial commit"]
    assert all(c.authors == ["star1-local"] for c in commits)
    assert commits[0].commit_id == hub_api.repo_info(model_repo).sha
    assert commits[0].created_at >= commits[-1].created_at
    assert [c.title for c in hub_api.list_repo_commits(model_repo, revision=commits[2].commit_id)][0] == "step 0"


def test_list_repo_tree_recursive_prefix_and_expand(hub_api, model_repo):
    hub_api.create_commit(model_repo, [_add("data/a.txt", "A"), _add("data/deep/b.txt", "B")], commit_message="data")
    top = {e.path: type(e).__name__ for e in hub_api.list_repo_tree(model_repo)}
    assert top == {
        ".gitattributes": "RepoFile",
        "README.md": "RepoFile",
        "config.json": "RepoFile",
        "data": "RepoFolder",
    }
    assert sorted(e.path for e in hub_api.list_repo_tree(model_repo, path_in_repo="data")) == [
        "data/a.txt",
        "data/deep",
    ]
    recursive = sorted(e.path for e in hub_api.list_repo_tree(model_repo, path_in_repo="data", recursive=True))
    assert recursive == ["data/a.txt", "data/deep", "data/deep/b.txt"]
    expanded = {e.path: e for e in hub_api.list_repo_tree(model_repo, expand=True)}
    assert expanded["config.json"].last_commit.title == "v1"
    assert expanded["data"].last_commit.title == "data"
    with pytest.raises(RemoteEntryNotFoundError):
        list(hub_api.list_repo_tree(model_repo, path_in_repo="missing"))


def test_get_paths_info_returns_existing_files_and_folders(hub_api, model_repo):
    hub_api.create_commit(model_repo, [_add("data/a.txt", "A")], commit_message="data")
    infos = {i.path: i for i in hub_api.get_paths_info(model_repo, ["README.md", "data", "nope.txt"], expand=True)}
    assert set(infos) == {"README.md", "data"}
    assert infos["README.md"].size == len(CARD.encode()) and infos["README.md"].last_commit.title == "v1"
    assert type(infos["data"]).__name__ == "RepoFolder"


def test_download_and_snapshot_at_branch_tag_and_sha(hub_api, model_repo, tmp_path):
    v1 = hub_api.repo_info(model_repo).sha
    hub_api.create_tag(model_repo, tag="v1")
    hub_api.create_branch(model_repo, branch="old")
    hub_api.create_commit(model_repo, [_add("config.json", '{"v": 2}')], commit_message="v2")
    cache = tmp_path / "cache"
    for revision, expected in (("old", '{"v": 1}'), ("v1", '{"v": 1}'), (v1, '{"v": 1}'), ("main", '{"v": 2}')):
        assert _read(hf_hub_download(model_repo, "config.json", revision=revision, cache_dir=cache)) == expected
        snapshot = Path(snapshot_download(model_repo, revision=revision, cache_dir=cache))
        assert (snapshot / "config.json").read_text() == expected
        assert sorted(p.name for p in snapshot.iterdir()) == [".gitattributes", "README.md", "config.json"]
    assert snapshot_download(model_repo, revision="v1", cache_dir=cache).endswith(v1)


def test_model_card_load_push_and_metadata_update(hub_api, model_repo, repocard_validate_on_endpoint):
    card = ModelCard.load(model_repo)
    assert card.data.license == "apache-2.0"
    card.data.license = "mit"
    card.text = "\n# Updated\n"
    card.push_to_hub(model_repo, commit_message="card v2")
    assert ModelCard.load(model_repo).data.license == "mit"
    metadata_update(model_repo, {"tags": ["star1", "updated"]}, overwrite=True)
    info = hub_api.repo_info(model_repo)
    assert info.card_data["tags"] == ["star1", "updated"] and info.card_data["license"] == "mit"
    assert "star1" in info.tags


def test_validate_yaml_rejects_a_broken_card(local_hub, hub_api):
    import httpx

    ok = httpx.post(f"{local_hub.endpoint}/api/validate-yaml", json={"content": CARD, "repoType": "model"})
    assert ok.status_code == 200 and ok.json() == {"errors": [], "warnings": []}
    bad = httpx.post(
        f"{local_hub.endpoint}/api/validate-yaml", json={"content": "---\na: [\n---\n", "repoType": "model"}
    )
    assert bad.status_code == 400 and "YAML" in bad.json()["error"]


def test_dataset_push_to_hub_main_and_new_branch_then_load_at_each(hub_api, make_repo_id):
    import datasets

    repo_id = make_repo_id("ds")
    full = datasets.Dataset.from_dict({"id": [f"r{i}" for i in range(6)], "score": list(range(6))})
    full.push_to_hub(repo_id)
    full.select(range(2)).push_to_hub(repo_id, revision="small")
    assert {b.name for b in hub_api.list_repo_refs(repo_id, repo_type="dataset").branches} == {"main", "small"}
    assert datasets.load_dataset(repo_id, split="train")["id"] == full["id"]
    assert datasets.load_dataset(repo_id, split="train", revision="small")["id"] == ["r0", "r1"]
    files = hub_api.list_repo_files(repo_id, repo_type="dataset")
    assert "README.md" in files and any(f.startswith("data/train-") and f.endswith(".parquet") for f in files)


def test_dataset_dict_two_configs_load_by_name_at_branch_tag_and_sha(hub_api, make_repo_id):
    import datasets

    repo_id = make_repo_id("dsdict")
    first = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict({"q": ["a", "b", "c"]}),
            "test": datasets.Dataset.from_dict({"q": ["t"]}),
        }
    )
    second = datasets.DatasetDict({"train": datasets.Dataset.from_dict({"q": ["x", "y"]})})
    first.push_to_hub(repo_id, config_name="alpha")
    second.push_to_hub(repo_id, config_name="beta")
    sha = hub_api.dataset_info(repo_id).sha
    hub_api.create_tag(repo_id, tag="v1", repo_type="dataset")
    hub_api.create_branch(repo_id, branch="frozen", repo_type="dataset")
    datasets.DatasetDict({"train": datasets.Dataset.from_dict({"q": ["changed"]})}).push_to_hub(
        repo_id, config_name="beta"
    )

    for revision in ("frozen", "v1", sha):
        alpha = datasets.load_dataset(repo_id, name="alpha", revision=revision)
        assert alpha["train"]["q"] == ["a", "b", "c"] and alpha["test"]["q"] == ["t"]
        assert datasets.load_dataset(repo_id, name="beta", split="train", revision=revision)["q"] == ["x", "y"]
    assert datasets.load_dataset(repo_id, name="beta", split="train")["q"] == ["changed"]
    card = hub_api.dataset_info(repo_id).card_data
    assert {c["config_name"] for c in card["configs"]} == {"alpha", "beta"}


def test_load_dataset_streaming_reads_parquet_over_http(make_repo_id):
    import datasets

    repo_id = make_repo_id("stream")
    rows = {"n": list(range(50)), "text": [f"row {i}" for i in range(50)]}
    datasets.Dataset.from_dict(rows).push_to_hub(repo_id)
    streamed = datasets.load_dataset(repo_id, split="train", streaming=True)
    assert isinstance(streamed, datasets.IterableDataset)
    assert [row["n"] for row in streamed] == rows["n"]


def test_hf_file_system_ls_and_read(hub_api, model_repo):
    hub_api.create_commit(model_repo, [_add("data/a.txt", "0123456789")], commit_message="data")
    fs = HfFileSystem()
    assert sorted(fs.ls(model_repo, detail=False)) == sorted(
        f"{model_repo}/{name}" for name in (".gitattributes", "README.md", "config.json", "data")
    )
    assert fs.ls(f"{model_repo}/data", detail=True)[0]["size"] == 10
    assert fs.read_text(f"{model_repo}/config.json") == '{"v": 1}'
    with fs.open(f"{model_repo}/data/a.txt", "rb", block_size=4) as handle:
        handle.seek(3)
        assert handle.read(4) == b"3456"
    assert fs.exists(f"{model_repo}/README.md") and not fs.exists(f"{model_repo}/nope")
    assert fs.glob(f"{model_repo}/**/*.txt") == [f"{model_repo}/data/a.txt"]


def test_typed_errors_for_missing_repo_revision_and_entry(hub_api, model_repo, make_repo_id, tmp_path):
    missing_repo = make_repo_id("missing")
    with pytest.raises(RepositoryNotFoundError):
        hub_api.repo_info(missing_repo)
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(missing_repo, "README.md", cache_dir=tmp_path)
    with pytest.raises(RevisionNotFoundError):
        hub_api.repo_info(model_repo, revision="no-such-branch")
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(model_repo, "README.md", revision="no-such-branch", cache_dir=tmp_path)
    with pytest.raises(RemoteEntryNotFoundError):
        hf_hub_download(model_repo, "no-such-file.txt", cache_dir=tmp_path)
    with pytest.raises(RemoteEntryNotFoundError):
        hub_api.create_commit(model_repo, [CommitOperationDelete("no-such-file.txt")], commit_message="x")
    assert not hub_api.file_exists(model_repo, "no-such-file.txt")
    assert not hub_api.repo_exists(missing_repo)
    assert hub_api.revision_exists(model_repo, "main") and not hub_api.revision_exists(model_repo, "nope")


SPACE_CARD = "---\ntitle: Leaderboard\nsdk: gradio\napp_file: app.py\n---\n# Leaderboard\n"


def test_space_create_commit_info_and_download(hub_api, make_repo_id, tmp_path, local_hub):
    repo_id = make_repo_id("space")
    url = hub_api.create_repo(repo_id, repo_type="space", space_sdk="gradio")
    assert url == f"{local_hub.endpoint}/spaces/{repo_id}" and url.repo_type == "space"
    assert hub_api.create_repo(repo_id, repo_type="space", space_sdk="gradio", exist_ok=True) == url
    folder = tmp_path / "space"
    folder.mkdir()
    (folder / "README.md").write_text(SPACE_CARD)
    (folder / "app.py").write_text("import gradio as gr\n")
    (folder / "requirements.txt").write_text("gradio\n")
    shot = os.urandom(4096)
    (folder / "shot.png").write_bytes(shot)  # an LFS suffix: goes through the Space's LFS batch route
    commit = hub_api.upload_folder(repo_id=repo_id, repo_type="space", folder_path=folder)

    info = hub_api.space_info(repo_id)
    assert info.sha == commit.oid and info.sdk == "gradio"
    siblings = {s.rfilename: s for s in info.siblings}
    assert set(siblings) == {".gitattributes", "README.md", "app.py", "requirements.txt", "shot.png"}
    assert siblings["shot.png"].lfs is not None
    assert info.card_data.title == "Leaderboard"
    assert hub_api.get_space_runtime(repo_id).stage == "STOPPED"  # a local Hub runs no Space apps
    assert repo_id in {s.id for s in hub_api.list_spaces(author=repo_id.split("/")[0])}
    local = Path(snapshot_download(repo_id, repo_type="space", cache_dir=tmp_path / "cache"))
    assert (local / "app.py").read_text() == "import gradio as gr\n" and (local / "shot.png").read_bytes() == shot
    assert _read(hf_hub_download(repo_id, "README.md", repo_type="space", cache_dir=tmp_path / "c2")) == SPACE_CARD


def test_space_without_sdk_is_refused_like_the_hub(local_hub, make_repo_id):
    import httpx

    namespace, name = make_repo_id("nosdk").split("/")
    response = httpx.post(
        f"{local_hub.endpoint}/api/repos/create",
        json={"name": name, "organization": namespace, "type": "space"},
        headers={"Authorization": f"Bearer {local_hub.token}"},
    )
    assert response.status_code == 400 and "sdk" in response.json()["error"]
