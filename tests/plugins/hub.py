"""Fixtures for the hub tests: a Hub client, unique repo ids, and the `RepoCard.validate` endpoint fix.

The session Hub is shared with every other area's tests, so each test creates repos under a unique name.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable

import pytest

TEST_NAMESPACE = "star1-hub-tests"


@pytest.fixture
def hub_api(local_hub):
    """An `HfApi` for the session Hub (the client env already points at it)."""
    from huggingface_hub import HfApi

    api = HfApi()
    assert api.endpoint == local_hub.endpoint, "the client env must point at the session Hub"
    return api


@pytest.fixture
def make_repo_id() -> Callable[[str], str]:
    """Factory of unique `namespace/name` repo ids: `make_repo_id("card")` → `star1-hub-tests/card-1a2b3c4d`."""

    def make(prefix: str = "repo") -> str:
        return f"{TEST_NAMESPACE}/{prefix}-{uuid.uuid4().hex[:8]}"

    return make


def repocard_validate_is_hardcoded() -> bool:
    """True when `RepoCard.validate` posts to huggingface.co whatever `HF_ENDPOINT` says (huggingface_hub 1.33)."""
    from huggingface_hub.repocard import RepoCard

    return "https://huggingface.co/api/validate-yaml" in inspect.getsource(RepoCard.validate)


@pytest.fixture
def repocard_validate_on_endpoint(monkeypatch, local_hub) -> bool:
    """Make `RepoCard.validate` call the configured endpoint when the client hardcodes huggingface.co.

    huggingface_hub 1.33.0 (pinned for lighteval) posts card validation to `https://huggingface.co/api/validate-yaml`
    regardless of `HF_ENDPOINT`, so `ModelCard.push_to_hub` and `metadata_update` cannot work offline (or would
    send the card to the public Hub). This fixture sends the same request to the local Hub instead; on a client
    without the bug it does nothing. Returns whether it patched.
    """
    if not repocard_validate_is_hardcoded():
        return False
    from huggingface_hub import constants
    from huggingface_hub.repocard import RepoCard
    from huggingface_hub.utils import get_session, hf_raise_for_status

    def validate(self, repo_type: str | None = None) -> None:
        body = {"repoType": repo_type or self.repo_type, "content": str(self)}
        response = get_session().post(
            f"{constants.ENDPOINT}/api/validate-yaml", json=body, headers={"Accept": "text/plain"}
        )
        if response.status_code == 400:
            raise ValueError(response.text)
        hf_raise_for_status(response)

    monkeypatch.setattr(RepoCard, "validate", validate)
    return True


TEAM_TOKENS = {
    "root": {"token": "hf_test_root_admin_0001", "user": "root", "role": "admin"},
    "alice": {"token": "hf_test_alice_write_0001", "user": "alice", "role": "write", "orgs": ["team"]},
    "bob": {"token": "hf_test_bob_read_00000001", "user": "bob", "role": "read"},
    "carol": {"token": "hf_test_carol_write_0001", "user": "carol", "role": "write"},
}


@pytest.fixture(scope="session")
def team_hub(tmp_path_factory):
    """A second local Hub (own process) started with `--tokens`: root (admin), alice (write, org team), bob
    (read), carol (write). `team_hub.tokens[user]` is each user's token."""
    import yaml

    from star1_hub.hubserver.testing import LocalHub

    folder = tmp_path_factory.mktemp("team-hub")
    tokens_file = folder / "tokens.yaml"
    tokens_file.write_text(yaml.safe_dump({"tokens": list(TEAM_TOKENS.values())}))
    hub = LocalHub(data_dir=folder / "data", tokens_file=tokens_file).start()
    hub.tokens = {user: item["token"] for user, item in TEAM_TOKENS.items()}
    yield hub
    hub.stop()


@pytest.fixture
def team_api(team_hub):
    """`team_api("alice")` → an `HfApi` on the team Hub with alice's token (None → anonymous)."""
    from huggingface_hub import HfApi

    def make(user: str | None) -> HfApi:
        return HfApi(endpoint=team_hub.endpoint, token=team_hub.tokens[user] if user else False)

    return make
