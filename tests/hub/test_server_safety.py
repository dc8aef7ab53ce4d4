"""Cross-site requests, malformed HTTP, body limits, file names, durability and `gc` of the local Hub (raw HTTP
where no client call does it, the unmodified client where one does)."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
import unicodedata
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd
from huggingface_hub.errors import BadRequestError, HfHubHTTPError

from star1_hub.hubserver.testing import LocalHub


def _ndjson(*items: dict) -> bytes:
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


def _file_line(path: str, content: bytes = b"x") -> dict:
    return {
        "key": "file",
        "value": {"path": path, "content": base64.b64encode(content).decode(), "encoding": "base64"},
    }


def _commit_body(*paths: str) -> bytes:
    return _ndjson({"key": "header", "value": {"summary": "raw", "description": ""}}, *map(_file_line, paths))


def _add(path: str, content: str = "x") -> CommitOperationAdd:
    return CommitOperationAdd(path_in_repo=path, path_or_fileobj=content.encode())


@pytest.fixture
def auth(local_hub) -> dict[str, str]:
    return {"Authorization": f"Bearer {local_hub.token}"}


@pytest.fixture
def repo(hub_api, make_repo_id) -> str:
    repo_id = make_repo_id("safety")
    hub_api.create_repo(repo_id)
    hub_api.create_commit(repo_id, [_add("dir/child.txt"), _add("top.txt")], commit_message="v1")
    return repo_id


def _raw(endpoint: str, request: bytes, timeout: float = 10.0) -> bytes:
    host, port = endpoint.rsplit("/", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks):
                head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
                length = [ln for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length:")]
                if length and len(body) >= int(length[0].split(b":")[1]):
                    break
    return b"".join(chunks)


# ---------------------------------------------------------------------------------------------- cross-site


def test_text_plain_post_is_refused_and_creates_nothing(local_hub, hub_api, auth, make_repo_id):
    repo_id = make_repo_id("csrf")
    body = json.dumps({"name": repo_id.split("/")[1], "organization": repo_id.split("/")[0]})
    response = httpx.post(
        f"{local_hub.endpoint}/api/repos/create", content=body, headers={**auth, "Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert not hub_api.repo_exists(repo_id)


def test_foreign_origin_is_refused_even_with_a_token(local_hub, hub_api, auth, repo):
    head = hub_api.repo_info(repo).sha
    response = httpx.post(
        f"{local_hub.endpoint}/api/models/{repo}/commit/main",
        content=_commit_body("evil.txt"),
        headers={**auth, "Content-Type": "application/x-ndjson", "Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert hub_api.repo_info(repo).sha == head
    same_origin = httpx.get(f"{local_hub.endpoint}/api/models/{repo}", headers={"Origin": local_hub.endpoint})
    assert same_origin.status_code == 200


def test_links_come_from_the_public_url_never_from_host(local_hub, auth, repo):
    oid = "a" * 64
    batch = httpx.post(
        f"{local_hub.endpoint}/{repo}.git/info/lfs/objects/batch",
        json={"operation": "upload", "objects": [{"oid": oid, "size": 3}]},
        headers={**auth, "Host": "evil.example"},
    )
    assert batch.status_code == 200
    href = batch.json()["objects"][0]["actions"]["upload"]["href"]
    assert href.startswith(local_hub.endpoint + "/") and "evil" not in href
    commit = httpx.post(
        f"{local_hub.endpoint}/api/models/{repo}/commit/main",
        content=_commit_body("host.txt"),
        headers={**auth, "Content-Type": "application/x-ndjson", "Host": "evil.example"},
    )
    assert commit.json()["commitUrl"].startswith(local_hub.endpoint + "/")


def test_lfs_upload_link_cannot_be_forged_or_altered(local_hub, auth, repo):
    content = b"abc"
    import hashlib

    oid = hashlib.sha256(content).hexdigest()
    batch = httpx.post(
        f"{local_hub.endpoint}/{repo}.git/info/lfs/objects/batch",
        json={"operation": "upload", "objects": [{"oid": oid, "size": 3}]},
        headers=auth,
    ).json()
    href = batch["objects"][0]["actions"]["upload"]["href"]
    assert httpx.put(href.replace("size=3", "size=4"), content=content + b"d").status_code == 403
    forged = f"{local_hub.endpoint}/lfs-upload/model/{repo}/{oid}?size=3&expires=9999999999&sig=AAAA"
    assert httpx.put(forged, content=content).status_code == 403
    assert httpx.put(href, content=content).status_code == 200


# ---------------------------------------------------------------------------------------------- malformed HTTP


@pytest.mark.parametrize(
    "request_head",
    [
        "POST /api/repos/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n",
        "POST /api/repos/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -5\r\n",
        "POST /api/repos/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n",
        "POST /api/repos/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip\r\n",
    ],
)
def test_malformed_length_or_chunks_are_400_without_internals(local_hub, request_head):
    head = request_head.replace("Host: x\r\n", f"Host: x\r\nAuthorization: Bearer {local_hub.token}\r\n")
    raw = _raw(local_hub.endpoint, (head + ("" if head.endswith("0\r\n") else "\r\n") + "\r\n").encode())
    status_line = raw.split(b"\r\n", 1)[0]
    assert b" 400 " in status_line, raw[:300]
    assert b"Traceback" not in raw and b"ValueError" not in raw and b"Internal" not in raw


def test_invalid_json_body_is_a_short_400(local_hub, auth):
    response = httpx.post(
        f"{local_hub.endpoint}/api/repos/create",
        content=b'{"name": ',
        headers={**auth, "Content-Type": "application/json"},
    )
    assert response.status_code == 400 and len(response.json()["error"]) < 120


# ---------------------------------------------------------------------------------------------- limits


def test_json_body_over_1mb_is_413_before_reading(local_hub, auth):
    body = json.dumps({"name": "x", "organization": "star1-hub-tests", "pad": "a" * 1_100_000})
    response = httpx.post(
        f"{local_hub.endpoint}/api/repos/create", content=body, headers={**auth, "Content-Type": "application/json"}
    )
    assert response.status_code == 413


def test_inline_file_over_10_mib_is_413_and_preupload_sends_it_to_lfs(local_hub, hub_api, auth, repo):
    big = 10 * 1024 * 1024 + 1
    preupload = httpx.post(
        f"{local_hub.endpoint}/api/models/{repo}/preupload/main",
        json={"files": [{"path": "big.txt", "size": big, "sample": ""}]},
        headers=auth,
    )
    assert preupload.json()["files"][0]["uploadMode"] == "lfs"
    response = httpx.post(
        f"{local_hub.endpoint}/api/models/{repo}/commit/main",
        content=_ndjson({"key": "header", "value": {"summary": "big"}}, _file_line("big.txt", b"a" * big)),
        headers={**auth, "Content-Type": "application/x-ndjson"},
        timeout=60,
    )
    assert response.status_code == 413 and "LFS" in response.json()["error"]
    assert not hub_api.file_exists(repo, "big.txt")


def test_commit_to_missing_repo_or_without_rights_is_answered_before_the_body(local_hub, auth):
    for headers, expected in ((auth, 404), ({}, 401)):
        raw = _raw(
            local_hub.endpoint,
            (
                "POST /api/models/star1-hub-tests/does-not-exist/commit/main HTTP/1.1\r\nHost: x\r\n"
                "Content-Type: application/x-ndjson\r\nContent-Length: 500000000\r\n"
                + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                + "\r\n"
            ).encode(),
        )
        assert raw.split(b"\r\n", 1)[0].split()[1] == str(expected).encode()


def test_connection_cap_and_socket_timeout_free_stalled_connections(tmp_path):
    with LocalHub(extra_args=["--max-connections", "4", "--socket-timeout", "1"]) as hub:
        host, port = hub.endpoint.rsplit("/", 1)[1].split(":")
        stalled = [socket.create_connection((host, int(port))) for _ in range(4)]
        for sock in stalled:
            sock.sendall(b"GET /api/models HTTP/1.1\r\n")  # never finished
        time.sleep(0.3)
        over_cap = httpx.get(f"{hub.endpoint}/api/models", timeout=10)
        assert over_cap.status_code == 503
        deadline = time.monotonic() + 30  # the stalled ones time out after 1 s; a generous bound against a hang
        while time.monotonic() < deadline:
            if httpx.get(f"{hub.endpoint}/api/models", timeout=10).status_code == 200:
                break
            time.sleep(0.2)
        else:
            pytest.fail("stalled connections were never released")
        for sock in stalled:
            sock.close()


def test_readme_with_yaml_aliases_is_rejected_by_validate_yaml_and_commit(local_hub, hub_api, auth, repo):
    card = "---\na: &a [x, x, x]\nb: [*a, *a, *a]\n---\n# card\n"
    validate = httpx.post(
        f"{local_hub.endpoint}/api/validate-yaml", json={"content": card, "repoType": "model"}, headers=auth
    )
    assert validate.status_code == 400 and "alias" in validate.json()["error"].lower()
    with pytest.raises(ValueError, match="Invalid metadata"):  # the client validates the card first
        hub_api.create_commit(repo, [_add("README.md", card)], commit_message="bomb")
    raw_commit = httpx.post(  # a client that skips validate-yaml meets the same rule at the commit
        f"{local_hub.endpoint}/api/models/{repo}/commit/main",
        content=_ndjson({"key": "header", "value": {"summary": "bomb"}}, _file_line("README.md", card.encode())),
        headers={**auth, "Content-Type": "application/x-ndjson"},
    )
    assert raw_commit.status_code == 400 and "alias" in raw_commit.json()["error"]
    assert not hub_api.file_exists(repo, "README.md")


# ---------------------------------------------------------------------------------------------- names


BAD_NAMES = [
    "a\nb.txt",
    "tab\there.txt",
    "evil\u202etxt.exe",
    "x" * 256 + ".txt",
    "a:b",
    "C:/windows.txt",
    ".cache/x.txt",
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_names_the_client_cannot_write_are_rejected(local_hub, hub_api, auth, repo, name):
    head = hub_api.repo_info(repo).sha
    response = httpx.post(
        f"{local_hub.endpoint}/api/models/{repo}/commit/main",
        content=_commit_body(name),
        headers={**auth, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 400, response.text
    assert hub_api.repo_info(repo).sha == head


@pytest.mark.parametrize(
    "paths",
    [
        ["top.txt/inner.txt"],  # under an existing file
        ["dir"],  # over an existing folder
        ["new", "new/child.txt"],  # a clash inside one commit
        ["new2/child.txt", "new2"],
        [unicodedata.normalize("NFD", "café.txt"), unicodedata.normalize("NFC", "café.txt")],
    ],
)
def test_file_folder_clashes_and_nfc_twins_are_rejected(local_hub, hub_api, auth, repo, paths):
    head = hub_api.repo_info(repo).sha
    response = httpx.post(
        f"{local_hub.endpoint}/api/models/{repo}/commit/main",
        content=_commit_body(*paths),
        headers={**auth, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 400, response.text
    assert hub_api.repo_info(repo).sha == head


def test_nfc_twin_of_a_file_already_in_the_tree_is_rejected(hub_api, repo):
    hub_api.create_commit(repo, [_add(unicodedata.normalize("NFC", "café.txt"))], commit_message="nfc")
    with pytest.raises(BadRequestError):
        hub_api.create_commit(repo, [_add(unicodedata.normalize("NFD", "café.txt"))], commit_message="nfd")


@pytest.mark.parametrize("name", ["evil\n", "a" * 97, "-dash", "a..b"])
def test_repo_ids_are_matched_in_full(local_hub, auth, name):
    response = httpx.post(
        f"{local_hub.endpoint}/api/repos/create", json={"name": name, "organization": "star1-hub-tests"}, headers=auth
    )
    assert response.status_code == 400


# ---------------------------------------------------------------------------------------------- durability, gc


def test_partial_temp_blobs_are_removed_at_start_up(tmp_path):
    data_dir = tmp_path / "hub"
    with LocalHub(data_dir=data_dir, in_thread=True):
        pass
    debris = data_dir / "blobs" / "tmp" / ".tmp-killed-upload"
    debris.write_bytes(b"half an upload")
    with LocalHub(data_dir=data_dir, in_thread=True):
        assert not debris.exists()


def test_gc_removes_only_unreferenced_old_blobs_and_waits_for_commits(tmp_path):
    from huggingface_hub import HfApi

    from star1_hub.hubserver.store import HubStore

    data_dir = tmp_path / "hub"
    with LocalHub(data_dir=data_dir, in_thread=True) as hub:
        api = HfApi(endpoint=hub.endpoint, token=hub.token)
        api.create_repo("org/gc")
        api.create_commit("org/gc", [_add("kept.txt", "kept")], commit_message="keep")
        api.create_commit("org/gc", [_add("kept.txt", "newer")], commit_message="replace")  # old one still in history
    store = HubStore(data_dir)
    orphan = store.blobs.put_bytes(b"never committed")
    young = store.blobs.put_bytes(b"uploaded a moment ago")
    old = time.time() - 7200
    os.utime(store.blobs.path(orphan), (old, old))
    for sha in (b for b in (p.name for p in store.blobs.iter_all()) if b not in (orphan, young)):
        os.utime(store.blobs.path(sha), (old, old))

    holder_ready, release = threading.Event(), threading.Event()

    def in_flight_commit() -> None:
        with store.writing_blobs():
            holder_ready.set()
            release.wait(timeout=30)

    holder = threading.Thread(target=in_flight_commit)
    holder.start()
    holder_ready.wait(timeout=10)
    result: list = []
    collector = threading.Thread(target=lambda: result.append(store.collect_garbage()))
    collector.start()
    collector.join(timeout=0.5)
    assert collector.is_alive(), "gc must wait while a commit is storing blobs"
    release.set()
    collector.join(timeout=30)
    holder.join(timeout=10)
    report = result[0]
    assert report.blobs_removed == 1 and report.blobs_too_young == 1
    assert not store.blobs.has(orphan) and store.blobs.has(young)
    with LocalHub(data_dir=data_dir, in_thread=True) as hub:
        api = HfApi(endpoint=hub.endpoint, token=hub.token)
        first = api.list_repo_commits("org/gc")[1].commit_id
        for revision in ("main", first):
            path = Path(api.hf_hub_download("org/gc", "kept.txt", revision=revision, cache_dir=tmp_path / "c"))
            assert path.read_text() in ("kept", "newer")


def test_star1_hub_gc_cli(tmp_path):
    from typer.testing import CliRunner

    from star1_hub.cli import app
    from star1_hub.hubserver.store import HubStore

    store = HubStore(tmp_path / "hub")
    sha = store.blobs.put_bytes(b"orphan")
    os.utime(store.blobs.path(sha), (time.time() - 7200,) * 2)
    result = CliRunner().invoke(app, ["hub", "gc", "--data-dir", str(tmp_path / "hub")])
    assert result.exit_code == 0, result.output
    assert "removed 1 unreferenced" in result.output and not store.blobs.has(sha)


# ---------------------------------------------------------------------------------------------- scale


def test_a_small_commit_on_a_big_tree_stores_only_the_changed_folders(local_hub, hub_api, auth, make_repo_id):
    repo_id = make_repo_id("scale")
    hub_api.create_repo(repo_id)
    paths = [f"part{i % 20}/sub{i % 5}/f{i}.txt" for i in range(2000)]
    response = httpx.post(
        f"{local_hub.endpoint}/api/models/{repo_id}/commit/main",
        content=_commit_body(*paths),
        headers={**auth, "Content-Type": "application/x-ndjson"},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    trees_dir = Path(local_hub.data_dir) / "repos" / "model" / repo_id / "trees"
    before = set(trees_dir.rglob("*.json"))
    hub_api.create_commit(repo_id, [_add("part3/sub1/new.txt", "n")], commit_message="one more")
    added = set(trees_dir.rglob("*.json")) - before
    assert len(added) == 3  # root, part3, part3/sub1: the other 100 folders are shared with the parent commit
    assert len(hub_api.list_repo_files(repo_id)) == 2000 + 2
    with pytest.raises(HfHubHTTPError):
        hub_api.create_commit(repo_id, [_add("part3", "file over folder")], commit_message="clash")


def test_data_dir_from_before_incremental_trees_still_serves(tmp_path):
    """Commits that stored the full `{path: entry}` snapshot (the old layout) are read and extended."""
    import shutil

    from huggingface_hub import HfApi

    from star1_hub.hubserver.store import HubStore

    data_dir = tmp_path / "hub"
    with LocalHub(data_dir=data_dir, in_thread=True) as hub:
        api = HfApi(endpoint=hub.endpoint, token=hub.token)
        api.create_repo("org/legacy")
        api.create_commit("org/legacy", [_add("a/b.txt", "old"), _add("c.txt", "c")], commit_message="old")
    store = HubStore(data_dir)
    repo_dir = data_dir / "repos" / "model" / "org" / "legacy"
    for path in (repo_dir / "commits").glob("*.json"):
        commit = json.loads(path.read_text())
        commit["tree"] = dict(store.commit_files("model", "org/legacy", commit["id"]))
        if "c.txt" in commit["tree"]:  # what the old store let in: a file/folder clash and NFC twins
            commit["tree"]["c.txt/inner.txt"] = commit["tree"]["c.txt"]
            for form in ("NFC", "NFD"):
                commit["tree"][unicodedata.normalize(form, "café.txt")] = commit["tree"]["c.txt"]
        path.write_text(json.dumps(commit))
    shutil.rmtree(repo_dir / "trees")
    with LocalHub(data_dir=data_dir, in_thread=True) as hub:
        api = HfApi(endpoint=hub.endpoint, token=hub.token)
        files = sorted(api.list_repo_files("org/legacy"))
        assert files[:3] == [".gitattributes", "a/b.txt", "c.txt"] and len(files) == 5  # the clash is hidden
        api.create_commit("org/legacy", [_add("a/new.txt", "new")], commit_message="new")
        got = Path(api.hf_hub_download("org/legacy", "a/b.txt", cache_dir=tmp_path / "cache")).read_text()
        assert got == "old" and api.file_exists("org/legacy", "a/new.txt")
