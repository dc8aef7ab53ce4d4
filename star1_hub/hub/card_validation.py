"""Validate a card's YAML metadata with the configured Hub (`HF_ENDPOINT`), not the hard-coded huggingface.co.

huggingface_hub 1.33.0 (pinned because lighteval 0.13 breaks on 2.x) validates cards in `RepoCard.validate` by
posting to `https://huggingface.co/api/validate-yaml` whatever `HF_ENDPOINT` says; `validate_card` asks the
configured endpoint instead. `star1_hub.hub.commit.commit_to_hub` calls it before anything is committed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from star1_hub.errors import Star1Error

if TYPE_CHECKING:
    from huggingface_hub import HfApi


class CardValidationError(Star1Error, ValueError):
    """The Hub rejected a card's YAML metadata."""


def validate_card(content: str, repo_type: str = "model", api: HfApi | None = None) -> None:
    """Validate a card's YAML metadata with the configured Hub (`POST {endpoint}/api/validate-yaml`).

    Args:
        content: Full README.md text (YAML front matter + markdown).
        repo_type: "model", "dataset" or "space".
        api: Client to use (default: `HfApi()`, i.e. `HF_ENDPOINT` and `HF_TOKEN`).

    Raises:
        CardValidationError: the Hub answered 400; the message is the Hub's explanation.
        huggingface_hub.errors.HfHubHTTPError: any other HTTP failure.
    """
    from huggingface_hub import HfApi
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    api = api or HfApi()
    response = get_session().post(
        f"{api.endpoint}/api/validate-yaml",
        json={"repoType": repo_type, "content": content},
        headers={**build_hf_headers(token=api.token), "Accept": "text/plain"},
    )
    if response.status_code == 400:
        raise CardValidationError(f"card metadata rejected by {api.endpoint}: {response.text}")
    hf_raise_for_status(response)
