"""Tokens, roles and private repos on a local Hub started with `--tokens`, through the unmodified client.

Users (tests/plugins/hub.py): root (admin), alice (write, org `team`), bob (read), carol (write).
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _add(path: str, text: str) -> CommitOperationAdd:
    return CommitOperationAdd(path_in_repo=path, path_or_fileobj=text.encode())


def test_whoami_returns_each_tokens_user_orgs_and_role(team_api):
    alice = team_api("alice").whoami()
    assert alice["name"] == "alice" and [org["name"] for org in alice["orgs"]] == ["team"]
    assert alice["auth"]["accessToken"]["role"] == "write"
    assert team_api("bob").whoami()["auth"]["accessToken"]["role"] == "read"
    assert team_api("root").whoami()["auth"]["accessToken"]["role"] == "admin"


def test_garbage_or_missing_token_is_401(team_hub):
    from huggingface_hub import HfApi

    with pytest.raises(HfHubHTTPError) as excinfo:
        HfApi(endpoint=team_hub.endpoint, token="hf_not_a_real_token_at_all").whoami()
    assert excinfo.value.response.status_code == 401
    assert httpx.get(f"{team_hub.endpoint}/api/whoami-v2").status_code == 401
    anonymous_create = httpx.post(f"{team_hub.endpoint}/api/repos/create", json={"name": "x", "organization": "alice"})
    assert anonymous_create.status_code == 401
    wrong = httpx.post(
        f"{team_hub.endpoint}/api/repos/create",
        json={"name": "x", "organization": "alice"},
        headers={"Authorization": "Bearer hf_wrong_token_123"},
    )
    assert (
        wrong.status_code == 401 and wrong.headers["X-Error-Message"] == "Invalid credentials in Authorization header"
    )


def test_write_token_writes_only_in_its_user_and_org_namespaces(team_api):
    alice = team_api("alice")
    own = f"alice/{_name('own')}"
    org = f"team/{_name('org')}"
    alice.create_repo(own)
    alice.create_repo(org)
    alice.create_commit(org, [_add("a.txt", "a")], commit_message="by alice")
    assert [c.authors for c in alice.list_repo_commits(org)][0] == ["alice"]
    with pytest.raises(HfHubHTTPError) as excinfo:
        alice.create_repo(f"carol/{_name('foreign')}")
    assert excinfo.value.response.status_code == 403


def test_write_token_cannot_touch_someone_elses_repo(team_api):
    carol_repo = f"carol/{_name('mine')}"
    team_api("carol").create_repo(carol_repo)
    alice = team_api("alice")
    attempts = [
        lambda: alice.create_commit(carol_repo, [_add("x.txt", "x")], commit_message="intrusion"),
        lambda: alice.create_branch(carol_repo, branch="evil"),
        lambda: alice.create_tag(carol_repo, tag="evil"),
        lambda: alice.update_repo_settings(carol_repo, private=True),
        lambda: alice.delete_repo(carol_repo),
    ]
    for attempt in attempts:
        with pytest.raises(HfHubHTTPError) as excinfo:
            attempt()
        assert excinfo.value.response.status_code == 403
    carol = team_api("carol")
    assert carol.repo_exists(carol_repo)
    assert not carol.file_exists(carol_repo, "x.txt")
    assert [ref.name for ref in carol.list_repo_refs(carol_repo).branches] == ["main"]


def test_read_token_never_writes_and_admin_writes_everywhere(team_api):
    with pytest.raises(HfHubHTTPError) as excinfo:
        team_api("bob").create_repo(f"bob/{_name('ro')}")
    assert excinfo.value.response.status_code == 403
    root = team_api("root")
    carol_repo = f"carol/{_name('admin-target')}"
    root.create_repo(carol_repo)
    root.create_commit(carol_repo, [_add("by-admin.txt", "x")], commit_message="admin")
    root.delete_repo(carol_repo)
    assert not root.repo_exists(carol_repo)


def test_private_repo_is_404_to_others_and_hidden_from_listings(team_hub, team_api, tmp_path):
    alice = team_api("alice")
    repo = f"alice/{_name('secret')}"
    alice.create_repo(repo, private=True)
    alice.create_commit(repo, [_add("secret.txt", "s3cret")], commit_message="secret")
    assert alice.repo_info(repo).private is True
    for other in (None, "bob", "carol"):
        api = team_api(other)
        with pytest.raises(RepositoryNotFoundError):
            api.repo_info(repo)
        with pytest.raises(RepositoryNotFoundError):
            hf_hub_download(
                repo, "secret.txt", endpoint=team_hub.endpoint, token=api.token, cache_dir=tmp_path / str(other)
            )
        assert repo not in {m.id for m in api.list_models(author="alice")}
    raw = httpx.get(f"{team_hub.endpoint}/{repo}/resolve/main/secret.txt")
    assert raw.status_code == 404 and raw.headers["X-Error-Code"] == "RepoNotFound" and b"s3cret" not in raw.content
    assert repo in {m.id for m in alice.list_models(author="alice")}
    assert repo in {m.id for m in team_api("root").list_models(author="alice")}
    # Someone else's write attempt on it is a 404 too: its existence does not leak.
    with pytest.raises(RepositoryNotFoundError):
        team_api("carol").create_commit(repo, [_add("x.txt", "x")], commit_message="probe")


def test_org_member_reads_private_org_repo(team_api, team_hub):
    repo = f"team/{_name('private')}"
    team_api("alice").create_repo(repo, private=True)
    assert team_api("root").repo_info(repo).private is True
    with pytest.raises(RepositoryNotFoundError):
        team_api("carol").repo_info(repo)


def test_tokens_file_errors_name_the_entry(tmp_path):
    from star1_hub.hubserver.auth import TokenError, TokenRegistry

    bad = tmp_path / "tokens.yaml"
    bad.write_text("tokens:\n  - {token: hf_aaaaaaaaaa, user: alice, role: superuser}\n")
    with pytest.raises(TokenError, match=r"tokens\[0\].*role"):
        TokenRegistry.from_file(bad)
    bad.write_text("tokens:\n  - {token: hf_aaaaaaaaaa, user: 'bad name', role: read}\n")
    with pytest.raises(TokenError, match=r"tokens\[0\].*user name"):
        TokenRegistry.from_file(bad)


def test_without_tokens_the_server_makes_an_admin_token_in_a_private_file(tmp_path):
    from star1_hub.hubserver.server import make_server

    server = make_server(tmp_path / "data", "127.0.0.1", 0)
    try:
        token_file = tmp_path / "data" / "admin-token"
        assert token_file.read_text().strip() == server.admin_token
        assert token_file.stat().st_mode & 0o777 == 0o600
        assert server.tokens.identify(server.admin_token).role == "admin"
        assert server.tokens.identify("hf_guess") is None
    finally:
        server.server_close()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::"])
def test_binding_beyond_loopback_without_tokens_is_refused(tmp_path, host):
    from star1_hub.hubserver.server import make_server

    with pytest.raises(ValueError, match="without --tokens"):
        make_server(tmp_path / "data", host, 0)


def test_session_clients_use_the_generated_admin_token(local_hub):
    import os

    assert local_hub.token and os.environ["HF_TOKEN"] == local_hub.token
    assert (local_hub.data_dir / "admin-token").read_text().strip() == local_hub.token


def test_star1_hub_serve_refuses_a_public_bind_without_tokens(tmp_path):
    from typer.testing import CliRunner

    from star1_hub.cli import app

    result = CliRunner().invoke(app, ["hub", "serve", "--host", "0.0.0.0", "--port", "0", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2 and "without --tokens" in result.output
