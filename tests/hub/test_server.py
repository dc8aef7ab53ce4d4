"""Local Hub server properties the contract tests do not reach: persistence, path safety, concurrency and the
raw HTTP details (headers, ranges, LFS checks) behind the client calls."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download

from star1_hub.hubserver.testing import LocalHub, client_env


def _add(path: str, content: str | bytes) -> CommitOperationAdd:
    return CommitOperationAdd(
        path_in_repo=path, path_or_fileobj=content.encode() if isinstance(content, str) else content
    )


def _ndjson(*items: dict) -> bytes:
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


def _commit_body(path: str, content: bytes = b"x") -> bytes:
    header = {"key": "header", "value": {"summary": "raw", "description": ""}}
    file = {
        "key": "file",
        "value": {"path": path, "content": base64.b64encode(content).decode(), "encoding": "base64"},
    }
    return _ndjson(header, file)


@pytest.fixture
def model_repo(hub_api, make_repo_id) -> str:
    repo_id = make_repo_id("server")
    hub_api.create_repo(repo_id)
    hub_api.create_commit(repo_id, [_add("config.json", '{"v": 1}')], commit_message="v1")
    return repo_id


def test_restart_on_same_data_dir_keeps_repos_commits_branches_and_tags(tmp_path):
    data_dir = tmp_path / "hub-data"
    big = os.urandom(11 * 1024 * 1024)
    with LocalHub(data_dir=data_dir) as first:
        api = HfApi(endpoint=first.endpoint, token=first.token)
        api.create_repo("org/persist")
        api.create_repo("org/persist", repo_type="dataset")
        api.create_commit("org/persist", [_add("a.txt", "one"), _add("w.safetensors", big)], commit_message="one")
        api.create_tag("org/persist", tag="v1")
        api.create_branch("org/persist", branch="dev")
        api.create_commit("org/persist", [_add("a.txt", "two")], commit_message="two")
        before_refs = api.list_repo_refs("org/persist")
        before_commits = [c.commit_id for c in api.list_repo_commits("org/persist")]
    assert data_dir.is_dir(), "a caller-provided data dir must survive stop()"

    with LocalHub(data_dir=data_dir, in_thread=True) as second:
        api = HfApi(endpoint=second.endpoint, token=second.token)
        assert api.list_repo_refs("org/persist") == before_refs
        assert [c.commit_id for c in api.list_repo_commits("org/persist")] == before_commits
        assert api.repo_exists("org/persist", repo_type="dataset")
        cache = tmp_path / "cache"
        kwargs = {"endpoint": second.endpoint, "cache_dir": cache, "token": second.token}
        at_tag = hf_hub_download("org/persist", "a.txt", revision="v1", **kwargs)
        at_main = hf_hub_download("org/persist", "a.txt", **kwargs)
        weights = hf_hub_download("org/persist", "w.safetensors", revision="dev", **kwargs)
        assert Path(at_tag).read_text() == "one" and Path(at_main).read_text() == "two"
        assert Path(weights).read_bytes() == big


def test_client_env_points_the_clients_at_the_server(local_hub, tmp_path):
    env = client_env(local_hub.endpoint, local_hub.token, tmp_path)
    assert env["HF_ENDPOINT"] == local_hub.endpoint and env["HF_HUB_DISABLE_XET"] == "1"
    assert env["HF_HOME"] == str(tmp_path) and env["HF_HUB_OFFLINE"] == "0" and env["HF_DATASETS_OFFLINE"] == "0"
    assert env["HF_HUB_CACHE"] == str(tmp_path / "hub") and env["HF_DATASETS_CACHE"] == str(tmp_path / "datasets")
    exported = ("HF_ENDPOINT", "HF_TOKEN", "HF_HUB_DISABLE_XET", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    assert all(os.environ[key] == env[key] for key in exported)
    assert os.environ["HF_HUB_CACHE"].startswith(os.environ["HF_HOME"])


# (method, url path relative to the endpoint, json body) — every one must answer 400 and change nothing.
TRAVERSAL_REQUESTS = [
    ("POST", "/api/repos/create", {"name": "..", "organization": "evil"}),
    ("POST", "/api/repos/create", {"name": "x", "organization": "../../etc"}),
    ("POST", "/api/repos/create", {"name": "a\\b", "organization": "evil"}),
    ("GET", "/api/models/evil/..%2F..%2Fetc", None),
    ("GET", "/api/models/evil/%2E%2E/revision/main", None),
    ("GET", "/{repo}/resolve/main/..%2F..%2F..%2Frefs.json", None),
    ("GET", "/{repo}/resolve/main/%2Fetc%2Fpasswd", None),
    ("GET", "/{repo}/resolve/main/a%5C..%5Cb", None),
    ("GET", "/{repo}/resolve/main/a%00b", None),
    ("GET", "/api/models/{repo}/tree/main/..%2F..", None),
    ("POST", "/api/models/{repo}/branch/..%2F..%2Fescape", {}),
    ("POST", "/api/models/{repo}/tag/main", {"tag": "../escape"}),
]


@pytest.mark.parametrize(("method", "path", "body"), TRAVERSAL_REQUESTS)
def test_traversal_in_repo_ids_paths_and_refs_is_rejected_with_400(local_hub, model_repo, method, path, body):
    url = local_hub.endpoint + path.format(repo=model_repo)
    response = httpx.request(method, url, json=body, headers={"Authorization": f"Bearer {local_hub.token}"})
    assert response.status_code == 400, response.text


@pytest.mark.parametrize(
    "bad_path", ["../escape.txt", "/abs.txt", "a/../../escape.txt", "a\\..\\escape.txt", "a\x00b", "./x"]
)
def test_commit_with_unsafe_file_path_is_rejected_and_changes_nothing(local_hub, hub_api, model_repo, bad_path):
    head = hub_api.repo_info(model_repo).sha
    response = httpx.post(
        f"{local_hub.endpoint}/api/models/{model_repo}/commit/main",
        content=_commit_body(bad_path),
        headers={"Content-Type": "application/x-ndjson", "Authorization": f"Bearer {local_hub.token}"},
    )
    assert response.status_code == 400, response.text
    assert hub_api.repo_info(model_repo).sha == head
    root = Path(local_hub.data_dir)  # (not a glob of all of /tmp: other processes delete files there meanwhile)
    assert not (root.parent / "escape.txt").exists() and not list(root.glob("**/escape.txt"))


def test_concurrent_commits_from_threads_are_all_kept(hub_api, model_repo):
    threads_n, commits_each = 6, 3
    errors: list[BaseException] = []

    def worker(worker_id: int) -> None:
        api = HfApi()
        try:
            for n in range(commits_each):
                api.create_commit(
                    model_repo, [_add(f"t{worker_id}/{n}.txt", f"{worker_id}-{n}")], commit_message=f"t{worker_id}-{n}"
                )
        except BaseException as exc:  # surfaced by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    titles = [c.title for c in hub_api.list_repo_commits(model_repo)]
    assert len(titles) == 2 + threads_n * commits_each
    assert {f"t{i}-{n}" for i in range(threads_n) for n in range(commits_each)} <= set(titles)
    files = set(hub_api.list_repo_files(model_repo))
    assert {f"t{i}/{n}.txt" for i in range(threads_n) for n in range(commits_each)} <= files


def test_concurrent_commits_from_processes_are_all_kept(hub_api, model_repo):
    script = textwrap.dedent(
        """
        import sys
        from huggingface_hub import CommitOperationAdd, HfApi
        repo, worker = sys.argv[1], sys.argv[2]
        api = HfApi()
        for n in range(3):
            op = CommitOperationAdd(path_in_repo=f"p{worker}/{n}.txt", path_or_fileobj=f"{worker}-{n}".encode())
            api.create_commit(repo, [op], commit_message=f"p{worker}-{n}")
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, model_repo, str(i)], stderr=subprocess.PIPE, text=True)
        for i in range(3)
    ]
    for proc in procs:
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
    commits = hub_api.list_repo_commits(model_repo)
    assert {f"p{i}-{n}" for i in range(3) for n in range(3)} <= {c.title for c in commits}
    assert len(commits) == 2 + 9
    # The history is one chain: each commit's tree contains everything its parent had.
    files = set(hub_api.list_repo_files(model_repo))
    assert {f"p{i}/{n}.txt" for i in range(3) for n in range(3)} <= files


def test_resolve_headers_ranges_and_encoded_revision(local_hub, hub_api, model_repo):
    big = os.urandom(10 * 1024 * 1024 + 1)
    commit = hub_api.create_commit(
        model_repo, [_add("w.safetensors", big), _add("notes.txt", "0123456789")], commit_message="pr", create_pr=True
    )
    base = f"{local_hub.endpoint}/{model_repo}/resolve/refs%2Fpr%2F1"
    head = httpx.head(f"{base}/notes.txt")
    assert head.status_code == 200 and head.headers["X-Repo-Commit"] == commit.oid
    assert head.headers["Content-Length"] == "10" and head.headers["ETag"].strip('"')
    lfs = httpx.head(f"{base}/w.safetensors")
    assert lfs.headers["X-Linked-Etag"] == f'"{hashlib.sha256(big).hexdigest()}"'
    assert lfs.headers["X-Linked-Size"] == str(len(big))
    part = httpx.get(f"{base}/notes.txt", headers={"Range": "bytes=2-5"})
    assert part.status_code == 206 and part.content == b"2345" and part.headers["Content-Range"] == "bytes 2-5/10"
    assert httpx.get(f"{base}/notes.txt", headers={"Range": "bytes=-3"}).content == b"789"
    assert httpx.get(f"{base}/notes.txt", headers={"Range": "bytes=20-"}).status_code == 416
    missing = httpx.head(f"{base}/nope.txt")
    assert missing.status_code == 404 and missing.headers["X-Error-Code"] == "EntryNotFound"


def test_lfs_upload_with_wrong_content_and_commit_of_unuploaded_object_are_rejected(local_hub, hub_api, model_repo):
    auth = {"Authorization": f"Bearer {local_hub.token}"}
    claimed = hashlib.sha256(b"the real content").hexdigest()
    batch = httpx.post(
        f"{local_hub.endpoint}/{model_repo}.git/info/lfs/objects/batch",
        json={"operation": "upload", "transfers": ["basic"], "objects": [{"oid": claimed, "size": 16}]},
        headers=auth,
    )
    assert batch.status_code == 200
    href = batch.json()["objects"][0]["actions"]["upload"]["href"]
    assert httpx.put(href, content=b"something else!!").status_code == 400
    header = {"key": "header", "value": {"summary": "lfs", "description": ""}}
    lfs_file = {"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "oid": claimed, "size": 16}}
    commit = httpx.post(
        f"{local_hub.endpoint}/api/models/{model_repo}/commit/main",
        content=_ndjson(header, lfs_file),
        headers={**auth, "Content-Type": "application/x-ndjson"},
    )
    assert commit.status_code == 400 and "not uploaded" in commit.json()["error"]
    assert not hub_api.file_exists(model_repo, "w.bin")


def test_xet_token_route_explains_how_to_disable_xet(local_hub, model_repo):
    response = httpx.get(
        f"{local_hub.endpoint}/api/models/{model_repo}/xet-write-token/main",
        headers={"Authorization": f"Bearer {local_hub.token}"},
    )
    assert response.status_code == 501 and "HF_HUB_DISABLE_XET=1" in response.json()["error"]


def test_repo_id_without_namespace_raises_repository_not_found(hub_api, tmp_path):
    from huggingface_hub.errors import RepositoryNotFoundError

    with pytest.raises(RepositoryNotFoundError):
        hub_api.model_info("no-namespace")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("no-namespace", "config.json", cache_dir=tmp_path)


def test_testing_and_server_modules_do_not_import_the_hub_clients():
    code = (
        "import sys, star1_hub.hubserver.testing, star1_hub.hubserver.server, star1_hub.hubserver.cli; "
        "bad = {'huggingface_hub', 'datasets'} & set(sys.modules); assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_local_hub_context_manager_owns_and_removes_its_temp_data_dir():
    with LocalHub(in_thread=True) as hub:
        data_dir = hub.data_dir
        whoami = httpx.get(f"{hub.endpoint}/api/whoami-v2", headers={"Authorization": f"Bearer {hub.token}"})
        assert whoami.status_code == 200 and whoami.json()["auth"]["accessToken"]["role"] == "admin"
        assert data_dir.is_dir()
    assert not data_dir.exists() and hub.endpoint == ""


def test_lfs_upload_accepts_a_chunked_body_then_commit_uses_it(local_hub, hub_api, model_repo):
    auth = {"Authorization": f"Bearer {local_hub.token}"}
    content = os.urandom(3 * 1024 * 1024 + 7)
    oid = hashlib.sha256(content).hexdigest()
    batch = httpx.post(
        f"{local_hub.endpoint}/{model_repo}.git/info/lfs/objects/batch",
        json={"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": len(content)}]},
        headers=auth,
    ).json()
    href = batch["objects"][0]["actions"]["upload"]["href"]

    def chunks():  # a generator body makes httpx use Transfer-Encoding: chunked
        for start in range(0, len(content), 1024 * 1024):
            yield content[start : start + 1024 * 1024]

    assert httpx.put(href, content=chunks()).status_code == 200
    again = httpx.post(
        f"{local_hub.endpoint}/{model_repo}.git/info/lfs/objects/batch",
        json={"operation": "upload", "objects": [{"oid": oid, "size": len(content)}]},
        headers=auth,
    ).json()
    assert "actions" not in again["objects"][0], "an uploaded object must not be asked for again"
    header = {"key": "header", "value": {"summary": "lfs", "description": ""}}
    lfs_file = {"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "oid": oid, "size": len(content)}}
    response = httpx.post(
        f"{local_hub.endpoint}/api/models/{model_repo}/commit/main",
        content=_ndjson(header, lfs_file),
        headers={**auth, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    assert Path(hf_hub_download(model_repo, "w.bin")).read_bytes() == content
