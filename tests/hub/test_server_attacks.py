"""Attacks on the local Hub from issue 22 (round two), each followed by what must hold: the legitimate path keeps
working through the unmodified client.

Users of the team Hub (tests/plugins/hub.py): root (admin), alice (write, org `team`), bob (read), carol (write).
Timing: no test asserts on how long something took; threads and loops carry generous bounds against a hang only.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import socket
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationCopy, HfApi
from huggingface_hub.errors import BadRequestError

from star1_hub.hub.commit import UnsafeFolderError, folder_files
from star1_hub.hubserver.handler_base import split_lines
from star1_hub.hubserver.testing import LocalHub

HANG_BOUND_S = 60.0  # a bound against a hang, never a performance assertion


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _add(path: str, content: bytes | str) -> CommitOperationAdd:
    return CommitOperationAdd(
        path_in_repo=path, path_or_fileobj=content.encode() if isinstance(content, str) else content
    )


def _ndjson(*items: dict) -> bytes:
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


def _header(summary: str = "raw") -> dict:
    return {"key": "header", "value": {"summary": summary, "description": ""}}


def _file_line(path: str, content: bytes = b"x") -> dict:
    return {
        "key": "file",
        "value": {"path": path, "content": base64.b64encode(content).decode(), "encoding": "base64"},
    }


def _lfs_line(path: str, data: bytes) -> dict:
    return {
        "key": "lfsFile",
        "value": {"path": path, "algo": "sha256", "oid": hashlib.sha256(data).hexdigest(), "size": len(data)},
    }


def _host_port(endpoint: str) -> tuple[str, int]:
    host, port = endpoint.rsplit("/", 1)[1].split(":")
    return host, int(port)


def _bounded(target, *args) -> object:  # noqa: ANN001
    """Run `target(*args)` in a thread; fail (instead of hanging the suite) if it has not returned in time."""
    result: list = []
    thread = threading.Thread(target=lambda: result.append(target(*args)), daemon=True)
    thread.start()
    thread.join(HANG_BOUND_S)
    assert not thread.is_alive(), f"{target.__name__} did not finish within {HANG_BOUND_S:.0f}s"
    return result[0]


def _batch(endpoint: str, repo_id: str, token: str, data: bytes) -> dict:
    response = httpx.post(
        f"{endpoint}/{repo_id}.git/info/lfs/objects/batch",
        json={"operation": "upload", "objects": [{"oid": hashlib.sha256(data).hexdigest(), "size": len(data)}]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    return response.json()["objects"][0]


def _raw_commit(endpoint: str, repo_id: str, token: str, body: bytes) -> httpx.Response:
    return httpx.post(
        f"{endpoint}/api/models/{repo_id}/commit/main",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"},
        timeout=HANG_BOUND_S,
    )


# ---------------------------------------------------------------------------------------------- 1 cross-repo blobs


def test_a_private_lfs_object_cannot_be_claimed_or_probed_by_its_sha256(team_hub, team_api):
    secret = b"private weights of carol " + uuid.uuid4().bytes
    carol_repo, alice_repo = f"carol/{_name('secret')}", f"alice/{_name('thief')}"
    team_api("carol").create_repo(carol_repo, private=True)
    team_api("carol").create_commit(carol_repo, [_add("weights.bin", secret)], commit_message="secret")
    alice = team_api("alice")
    alice.create_repo(alice_repo)

    # The attack: alice knows the sha256. The LFS batch answers exactly as for content nobody has...
    unknown = _batch(team_hub.endpoint, alice_repo, team_hub.tokens["alice"], b"nobody has this " + uuid.uuid4().bytes)
    probe = _batch(team_hub.endpoint, alice_repo, team_hub.tokens["alice"], secret)
    assert "actions" in probe and "actions" in unknown  # "upload it": nothing says the content exists elsewhere
    # ...and a commit naming the object is refused, so nothing can be downloaded from alice's public repo.
    claim = _raw_commit(
        team_hub.endpoint, alice_repo, team_hub.tokens["alice"], _ndjson(_header(), _lfs_line("stolen.bin", secret))
    )
    assert claim.status_code == 400 and "not uploaded to this repo" in claim.json()["error"]
    assert httpx.get(f"{team_hub.endpoint}/{alice_repo}/resolve/main/stolen.bin").status_code == 404

    # What must hold: whoever has the content uploads it (once per repo) and commits it...
    alice.create_commit(alice_repo, [_add("own-copy.bin", secret)], commit_message="uploaded it myself")
    assert httpx.get(f"{team_hub.endpoint}/{alice_repo}/resolve/main/own-copy.bin").content == secret
    # ...and an object already in a repo's history is reused there without a new upload.
    carol_token = team_hub.tokens["carol"]
    assert "actions" not in _batch(team_hub.endpoint, carol_repo, carol_token, secret)
    carol = team_api("carol")
    carol.create_commit(carol_repo, [CommitOperationCopy("weights.bin", "copy.bin")], commit_message="copy")
    assert carol.get_paths_info(carol_repo, ["copy.bin"])[0].lfs.sha256 == hashlib.sha256(secret).hexdigest()


def test_repos_from_before_the_object_markers_still_reuse_their_history(tmp_path):
    data_dir = tmp_path / "hub"
    content = b"weights from an old data dir " + uuid.uuid4().bytes
    with LocalHub(data_dir=data_dir, in_thread=True) as hub:
        api = HfApi(endpoint=hub.endpoint, token=hub.token)
        api.create_repo("org/old")
        api.create_commit("org/old", [_add("w.bin", content)], commit_message="old")
    import shutil

    shutil.rmtree(data_dir / "repos" / "model" / "org" / "old" / "objects")  # as written by the previous version
    with LocalHub(data_dir=data_dir, in_thread=True) as hub:
        assert "actions" not in _batch(hub.endpoint, "org/old", hub.token, content)
        reuse = _raw_commit(hub.endpoint, "org/old", hub.token, _ndjson(_header(), _lfs_line("again.bin", content)))
        assert reuse.status_code == 200, reuse.text


# ---------------------------------------------------------------------------------------------- 2 slowloris


@pytest.fixture(scope="module")
def strict_hub():
    """A Hub with scaled-down slow-client limits: 8 connections, 4 per address, 1 s for a request head, bodies at
    least 2,000 B/s after 0.5 s. The idle (stall) timeout stays at its 30 s default: only the new rules act."""
    args = ["--max-connections", "8", "--max-connections-per-address", "4", "--header-timeout", "1"]
    args += ["--min-body-rate", "2000", "--body-grace", "0.5"]
    with LocalHub(extra_args=args) as hub:
        yield hub


def _drip_until_closed(sockets: list[socket.socket], interval_s: float = 0.1) -> int:
    """Send one byte on each socket every `interval_s` until the server has closed them all; return how many
    rounds that took."""
    open_ = list(sockets)
    rounds = 0
    while open_:
        rounds += 1
        for sock in list(open_):
            try:
                sock.sendall(b"X")
                sock.setblocking(False)
                try:
                    if sock.recv(65536) == b"":
                        open_.remove(sock)
                except BlockingIOError:
                    pass
                finally:
                    sock.setblocking(True)
            except OSError:  # reset by the server
                open_.remove(sock)
        time.sleep(interval_s)
    return rounds


def test_slowloris_from_one_address_cannot_lock_other_users_out(strict_hub):
    host, port = _host_port(strict_hub.endpoint)
    attackers = []
    for _ in range(12):  # more than the server's 8 slots
        sock = socket.socket()
        sock.bind(("127.0.0.2", 0))  # the attacker's own address (all of 127/8 is loopback on Linux)
        sock.connect((host, port))
        sock.sendall(b"GET /api/models HTTP/1.1\r\nHost: x\r\nX-Drip: ")
        attackers.append(sock)
    time.sleep(0.2)
    # While every attacking socket drips a byte, a user from another address is served.
    assert httpx.get(f"{strict_hub.endpoint}/api/models", timeout=10).status_code == 200
    # The server closed the attacking sockets despite the drip: the head has an absolute deadline.
    rounds = _bounded(_drip_until_closed, attackers)
    assert rounds > 1  # they did drip for a while
    for sock in attackers:
        sock.close()
    assert httpx.get(f"{strict_hub.endpoint}/api/models", timeout=10).status_code == 200


def test_a_body_dripped_below_the_minimum_rate_is_cut_off_and_a_normal_one_is_not(strict_hub):
    host, port = _host_port(strict_hub.endpoint)
    body = json.dumps({"name": _name("slow"), "organization": "star1-local"}).encode().ljust(100_000)
    head = (
        "POST /api/repos/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {strict_hub.token}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()

    def drip_body() -> bytes:
        with socket.create_connection((host, port), timeout=HANG_BOUND_S) as sock:
            sock.sendall(head)
            for offset in range(0, len(body), 20):  # ~200 B/s, far below the 2,000 B/s minimum
                try:
                    sock.sendall(body[offset : offset + 20])
                except OSError:
                    break
                time.sleep(0.1)
            try:
                return sock.recv(65536)
            except OSError:
                return b""

    answer = _bounded(drip_body)
    assert b" 200 " not in answer.split(b"\r\n", 1)[0]  # the server hung up; the repo was not created
    created = httpx.post(
        f"{strict_hub.endpoint}/api/repos/create",
        content=body,
        headers={"Authorization": f"Bearer {strict_hub.token}", "Content-Type": "application/json"},
    )
    assert created.status_code == 200, created.text


# ---------------------------------------------------------------------------------------------- 5 paths-info


@pytest.fixture(scope="module")
def history_repo(local_hub):
    """A repo of 17 commits: commit k (1..16) rewrites `f{k % 6}.txt` and, every 5th, `dir/sub/g.txt`.

    Returns (repo_id, {path: sha of the commit that last changed it}).
    """
    api = HfApi(endpoint=local_hub.endpoint, token=local_hub.token)
    repo_id = f"star1-hub-tests/{_name('history')}"
    api.create_repo(repo_id)
    last: dict[str, str] = {}
    for k in range(1, 17):
        paths = [f"f{k % 6}.txt"] + (["dir/sub/g.txt"] if k % 5 == 0 else [])
        lines = [_header(f"c{k}")] + [_file_line(p, f"{p} v{k}".encode()) for p in paths]
        response = _raw_commit(local_hub.endpoint, repo_id, local_hub.token, _ndjson(*lines))
        assert response.status_code == 200, response.text
        for path in [*paths, "dir", "dir/sub"] if k % 5 == 0 else paths:
            last[path] = response.json()["commitOid"]
    return repo_id, last


def test_paths_info_with_50k_copies_of_one_path_is_answered_once(local_hub, history_repo):
    repo_id, last = history_repo
    form = {"paths": ["f3.txt"] * 50_000, "expand": "true"}
    response = _bounded(
        lambda: httpx.post(
            f"{local_hub.endpoint}/api/models/{repo_id}/paths-info/main", data=form, timeout=HANG_BOUND_S
        )
    )
    assert response.status_code == 200, response.text
    entries = response.json()
    assert [e["path"] for e in entries] == ["f3.txt"] and entries[0]["lastCommit"]["id"] == last["f3.txt"]


def test_paths_info_caps_distinct_paths(local_hub, history_repo):
    repo_id, _ = history_repo
    response = httpx.post(
        f"{local_hub.endpoint}/api/models/{repo_id}/paths-info/main",
        json={"paths": [f"p{i}.txt" for i in range(10_001)]},
    )
    assert response.status_code == 400 and "at most 10000" in response.json()["error"]


def test_last_commit_of_every_path_walks_history_once_and_stays_right(hub_api, history_repo):
    repo_id, last = history_repo
    infos = hub_api.get_paths_info(repo_id, ["f0.txt", "f5.txt", "dir", "dir/sub/g.txt", "missing.txt"], expand=True)
    assert {i.path: i.last_commit.oid for i in infos} == {
        p: last[p] for p in ("f0.txt", "f5.txt", "dir", "dir/sub/g.txt")
    }
    tree = hub_api.list_repo_tree(repo_id, recursive=True, expand=True)
    got = {item.path: item.last_commit.oid for item in tree if item.path != ".gitattributes"}
    assert got == last


# ---------------------------------------------------------------------------------------------- 6 quadratic inputs


def test_line_splitting_is_linear_for_tiny_chunks():
    chunks, size = 500_000, 16_000_000  # one 16 MB line in 32-byte chunks: re-joining the buffer per chunk (the
    # old reader) copies ~4 TB; the splitter copies each byte a bounded number of times

    def split() -> list[bytes]:
        return list(split_lines(itertools.repeat(b"a" * 32, chunks), max_line=size))

    assert _bounded(split) == [b"a" * size]
    assert list(split_lines([b"x\ny", b"\n\nz"], 10)) == [b"x", b"y", b"", b"z"]


def test_a_commit_sent_in_one_byte_chunks_is_accepted(local_hub, hub_api, make_repo_id):
    repo_id = make_repo_id("chunks")
    hub_api.create_repo(repo_id)
    body = _ndjson(_header(), _file_line("chunked.txt", b"c" * 20_000))
    response = _bounded(
        lambda: httpx.post(
            f"{local_hub.endpoint}/api/models/{repo_id}/commit/main",
            content=(body[i : i + 1] for i in range(len(body))),  # chunked transfer encoding, one byte per chunk
            headers={"Authorization": f"Bearer {local_hub.token}", "Content-Type": "application/x-ndjson"},
            timeout=HANG_BOUND_S,
        )
    )
    assert response.status_code == 200, response.text
    assert hub_api.file_exists(repo_id, "chunked.txt")


def test_n_added_folders_and_n_deleted_folders_in_one_commit(local_hub, hub_api, make_repo_id):
    repo_id = make_repo_id("folders")
    hub_api.create_repo(repo_id)
    n = 4000
    lines = [_header()] + [_file_line(f"d{i}/f.txt") for i in range(n)]
    lines += [{"key": "deletedFolder", "value": {"path": f"d{i}/"}} for i in range(0, n, 2)]
    response = _bounded(lambda: _raw_commit(local_hub.endpoint, repo_id, local_hub.token, _ndjson(*lines)))
    assert response.status_code == 200, response.text
    files = set(hub_api.list_repo_files(repo_id))
    assert "d1/f.txt" in files and "d0/f.txt" not in files and len(files) == n // 2 + 1


def test_tree_builder_deletes_thousands_of_folders_linearly(tmp_path):
    from star1_hub.hubserver.store import HubStore

    store = HubStore(tmp_path / "hub")
    store.create_repo("model", "org/many", False, "t")
    entry = store.regular_entry(b"x")

    def build() -> list[str]:
        builder = store.trees("model", "org/many").builder(None)
        for i in range(40_000):
            builder.add(f"d{i}/e/f.txt", entry)
        for i in range(40_000):
            builder.delete_folder(f"d{i}")
        builder.add("kept.txt", entry)
        return sorted(store.trees("model", "org/many").flatten(builder.write()))

    assert _bounded(build) == ["kept.txt"]


# ---------------------------------------------------------------------------------------------- 9 nesting


DEEP_JSON = "[" * 5000 + "]" * 5000
DEEP_YAML_CARD = "---\nmeta: " + "[" * 3000 + "]" * 3000 + "\n---\n# card\n"


def _assert_short_400(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text[:300]
    assert len(response.content) < 1000 and "Traceback" not in response.text


def test_deeply_nested_json_and_yaml_are_400_on_every_route(local_hub, make_repo_id, hub_api):
    repo_id = make_repo_id("nested")
    hub_api.create_repo(repo_id)
    auth = {"Authorization": f"Bearer {local_hub.token}"}
    as_json = {**auth, "Content-Type": "application/json"}
    base = local_hub.endpoint
    _assert_short_400(httpx.post(f"{base}/api/repos/create", content=f'{{"name": {DEEP_JSON}}}', headers=as_json))
    _assert_short_400(httpx.post(f"{base}/api/models/{repo_id}/paths-info/main", content=DEEP_JSON, headers=as_json))
    _assert_short_400(httpx.post(f"{base}/{repo_id}.git/info/lfs/objects/batch", content=DEEP_JSON, headers=as_json))
    deep_line = f'{{"key": "file", "value": {{"path": "a.txt", "x": {DEEP_JSON}}}}}\n'.encode()
    _assert_short_400(_raw_commit(base, repo_id, local_hub.token, _ndjson(_header()) + deep_line))
    validate = httpx.post(f"{base}/api/validate-yaml", json={"content": DEEP_YAML_CARD}, headers=auth)
    _assert_short_400(validate)
    assert "nested" in validate.json()["error"]


def test_a_readme_sent_through_lfs_meets_the_card_checks(local_hub, hub_api, make_repo_id):
    repo_id = make_repo_id("lfs-readme")
    hub_api.create_repo(repo_id)
    for card in (DEEP_YAML_CARD, "---\na: &a [x, x]\nb: [*a, *a]\n---\n"):
        data = card.encode()
        upload = _batch(local_hub.endpoint, repo_id, local_hub.token, data)
        assert httpx.put(upload["actions"]["upload"]["href"], content=data).status_code == 200
        commit = _raw_commit(
            local_hub.endpoint, repo_id, local_hub.token, _ndjson(_header(), _lfs_line("README.md", data))
        )
        _assert_short_400(commit)
        assert "README.md rejected" in commit.json()["error"]
    good = b"---\nlicense: mit\n---\n# fine\n"
    upload = _batch(local_hub.endpoint, repo_id, local_hub.token, good)
    assert httpx.put(upload["actions"]["upload"]["href"], content=good).status_code == 200
    ok = _raw_commit(local_hub.endpoint, repo_id, local_hub.token, _ndjson(_header(), _lfs_line("README.md", good)))
    assert ok.status_code == 200, ok.text
    assert httpx.get(f"{local_hub.endpoint}/api/models/{repo_id}").json()["cardData"] == {"license": "mit"}


def test_a_deep_readme_already_stored_does_not_break_repo_info(tmp_path):
    from star1_hub.hubserver.store import HubStore

    data_dir = tmp_path / "hub"
    store = HubStore(data_dir)
    store.create_repo("model", "org/deep", False, "t")
    readme = store.regular_entry(DEEP_YAML_CARD.encode())  # as an older server let it in
    store.commit("model", "org/deep", "main", [("add", "README.md", readme)], "deep card", "", "t")
    with LocalHub(data_dir=data_dir, in_thread=True) as hub:
        info = httpx.get(f"{hub.endpoint}/api/models/org/deep")
        assert info.status_code == 200 and info.json()["cardData"] is None


# ---------------------------------------------------------------------------------------------- 10 smuggling


def _exchange(endpoint: str, request: bytes) -> bytes:
    with socket.create_connection(_host_port(endpoint), timeout=10) as sock:
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
    return b"".join(chunks)


@pytest.mark.parametrize(
    "framing, status",
    [
        ("Content-Length: 2\r\nContent-Length: {n}\r\n", b"400"),
        ("Content-Length: {n}\r\nContent-Length: 2\r\n", b"400"),
        ("Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n", b"400"),
        ("Content-Length: {n}\r\nContent-Length: {n}\r\n", b"200"),  # the same value twice is unambiguous
    ],
)
def test_ambiguous_body_length_is_400_and_nothing_is_smuggled(local_hub, framing, status):
    smuggled = b"GET /api/whoami-v2 HTTP/1.1\r\nHost: x\r\n\r\n"
    body = json.dumps({"content": "---\nlicense: mit\n---\n"}).encode()
    if status == b"400":
        body = b"{}" + smuggled
    head = (
        "POST /api/validate-yaml HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
        + framing.format(n=len(body))
        + "\r\n"
    )
    answer = _exchange(local_hub.endpoint, head.encode() + body)
    assert answer.startswith(b"HTTP/1.1 " + status + b" "), answer[:500]
    assert answer.count(b"HTTP/1.1 ") == 1, answer[:1000]  # no second (smuggled) request was answered


# ---------------------------------------------------------------------------------------------- 11 letter case


def test_repo_names_are_unique_whatever_their_case(hub_api):
    suffix = uuid.uuid4().hex[:8]
    first = f"star1-hub-tests/CaseRepo-{suffix}"
    hub_api.create_repo(first)
    for twin in (f"star1-hub-tests/caserepo-{suffix}", f"Star1-Hub-Tests/CASEREPO-{suffix}"):
        with pytest.raises(BadRequestError, match="letter case"):
            hub_api.create_repo(twin, exist_ok=True)  # exist_ok must not hide it: the twin would not exist
        assert not hub_api.repo_exists(twin)
    assert hub_api.create_repo(first, exist_ok=True)  # the exact name is still "already exists", fine
    hub_api.create_repo(f"star1-hub-tests/caserepo-{suffix}", repo_type="dataset")  # another type: no clash


# ---------------------------------------------------------------------------------------------- 13 symlinks


def test_pushing_a_folder_never_follows_a_link_out_of_it(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("HF_TOKEN=hf_do_not_upload")
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "sub" / "weights.bin").write_bytes(b"w")
    os.symlink(folder / "config.json", folder / "alias.json")  # inside the folder: fine
    os.symlink(secret, folder / "notes.txt")  # the attack
    os.symlink(tmp_path, folder / "up")  # a link to a folder above
    os.symlink(tmp_path / "gone", folder / "dangling")
    with pytest.raises(UnsafeFolderError) as excinfo:
        folder_files(folder)
    message = str(excinfo.value)
    assert "notes.txt" in message and "up ->" in message and "dangling" in message and "nothing was pushed" in message
    files = folder_files(folder, ignore_patterns=["notes.txt", "up", "dangling"])
    assert sorted(files) == ["alias.json", "config.json", "sub/weights.bin"]
    assert files["alias.json"].read_text() == "{}"
    assert all(Path(p).resolve().is_relative_to(folder.resolve()) for p in files.values())
