"""Push a model / dataset card to whatever Hub `HF_ENDPOINT` names.

huggingface_hub 1.33.0 (pinned because lighteval 0.13 breaks on 2.x) validates cards in `RepoCard.validate` by
posting to the hard-coded `https://huggingface.co/api/validate-yaml`, so `ModelCard.push_to_hub`,
`DatasetCard.push_to_hub` and `metadata_update` fail offline and would send the card to the public Hub from a
machine configured for another endpoint. `push_card` does the same two steps (validate, commit `README.md`)
against the configured endpoint (`star1_hub.hub.card_validation`), as one commit of the single Hub write path
(`star1_hub.hub.commit`). Use it instead of `card.push_to_hub(...)`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from star1_hub.hub.commit import Changes, CommitResult, commit_to_hub

if TYPE_CHECKING:
    from huggingface_hub import HfApi

logger = logging.getLogger(__name__)


def push_card(
    content: str,
    repo_id: str,
    *,
    repo_type: str = "model",
    revision: str | None = None,
    commit_message: str = "Update card",
    create_pr: bool = False,
    api: HfApi | None = None,
) -> CommitResult:
    """Validate `content` and commit it as the repo's README.md (through `star1_hub.hub.commit.commit_to_hub`).

    Args:
        content: Card text, e.g. `str(ModelCard(...))` or a rendered Jinja template.
        repo_id: `namespace/name` (created if missing).
        repo_type: "model", "dataset" or "space".
        revision: Branch to commit to (default main).
        commit_message: Commit title.
        create_pr: Open a pull request instead of committing to the branch.
        api: Client to use (default: `HfApi()`).

    Returns:
        The `CommitResult` of the new commit (`.sha`, `.pr_revision` when `create_pr`).

    Raises:
        CardValidationError: the card's YAML metadata is invalid; nothing is committed.
    """
    result = commit_to_hub(
        repo_id,
        Changes(card=content),
        message=commit_message,
        repo_type=repo_type,
        revision=revision,
        create_pr=create_pr,
        api=api,
    )
    logger.info("pushed card of %s %s (%s)", repo_type, repo_id, result.sha[:8])
    return result
