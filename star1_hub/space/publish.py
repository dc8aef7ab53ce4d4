"""Publishing and serving the leaderboard Space (`star1 leaderboard space` / `serve`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from importlib import metadata, resources

from star1_hub.errors import Star1Error
from star1_hub.leaderboard import leaderboard_repo, require_leaderboard

logger = logging.getLogger(__name__)

GRADIO_VERSION = "6.31.0"  # the `space` extra's pin, and the Space's sdk_version
SPACE_NAME = "star1-leaderboard-space"
SPACE_PYTHON = "3.11"


def default_space_id(org: str) -> str:
    return f"{org}/{SPACE_NAME}"


def app_source() -> str:
    """The text of `star1_hub/space/app.py` (package data: works from an installed wheel)."""
    return resources.files("star1_hub.space").joinpath("app.py").read_text(encoding="utf-8")


def space_files(org: str) -> dict[str, str]:
    """`path -> text` of the Space repo for the leaderboard of `org`."""
    from huggingface_hub import constants

    import star1_hub
    from star1_hub.cards import render_card

    repo = leaderboard_repo(org)
    readme = render_card(
        "space_readme.md.jinja",
        org=org,
        leaderboard_repo=repo,
        leaderboard_url=f"{constants.ENDPOINT}/datasets/{repo}",
        gradio_version=GRADIO_VERSION,
        python_version=SPACE_PYTHON,
        tool_version=star1_hub.__version__,
    )
    requirements = render_card(
        "space_requirements.txt.jinja",
        gradio_version=GRADIO_VERSION,
        huggingface_hub_version=metadata.version("huggingface_hub"),
        pandas_min="2",
        matplotlib_min="3.8",
    )
    return {
        "README.md": readme,
        "app.py": app_source(),
        "requirements.txt": requirements,
        "space_config.json": json.dumps({"leaderboard_repo": repo}, indent=2) + "\n",
    }


def push_space(org: str, space_id: str | None = None, token: str | None = None) -> str:
    """Create or update the Space `space_id` (default `<org>/star1-leaderboard-space`) in one commit.

    Returns:
        The Space id.

    Raises:
        LeaderboardNotFoundError: `<org>/star1-leaderboard` does not exist (a Space over nothing is refused).
    """
    from huggingface_hub import HfApi

    from star1_hub.hub.commit import Changes, commit_to_hub, parse_ref

    require_leaderboard(org, token)
    space_id = parse_ref(space_id or default_space_id(org), what="--space").repo_id
    files = space_files(org)
    card = files.pop("README.md")
    result = commit_to_hub(
        space_id,
        Changes(files=files, card=card),
        message=f"leaderboard Space for {org}",
        repo_type="space",
        space_sdk="gradio",
        api=HfApi(token=token),
    )
    logger.info("Space %s at %s", space_id, result.sha[:8])
    return space_id


def runs_spaces(endpoint: str | None = None) -> bool:
    """Whether the Hub at `endpoint` (default: the configured one) runs Spaces: huggingface.co does, a local
    Hub (`star1 hub serve`) only stores their files."""
    from urllib.parse import urlsplit

    from huggingface_hub import constants

    host = (urlsplit(endpoint or constants.ENDPOINT).hostname or "").lower()
    return host in ("huggingface.co", "hf.co") or host.endswith(".huggingface.co")


def where_to_see(org: str, space_id: str) -> str:
    """What `star1 leaderboard space` prints after the push: the Space's page, or on a Hub that does not run
    Spaces, the command that serves the same app locally."""
    from huggingface_hub import constants

    if runs_spaces():
        return f"pushed Space {space_id}: {constants.ENDPOINT}/spaces/{space_id}"
    return (
        f"pushed Space {space_id} to {constants.ENDPOINT}, which stores a Space's files but does not run it; "
        f"see the app with: star1 leaderboard serve --org {org}"
    )


class SpaceDependencyError(Star1Error, RuntimeError):
    """gradio (the `space` extra) is not installed."""


def serve(
    org: str, port: int = 7860, host: str = "127.0.0.1", block: bool = True, announce: Callable[[], None] | None = None
):
    """Run the Space's app locally against the configured Hub (`HF_ENDPOINT`); `announce` is called once the
    checks passed, just before the app starts (the CLI prints its URL there).

    Raises:
        SpaceDependencyError: gradio is missing (the message says what to install).
        LeaderboardNotFoundError: `<org>/star1-leaderboard` does not exist.
    """
    from star1_hub.space.app import serve as serve_app

    try:
        import gradio  # noqa: F401
    except ImportError:
        raise SpaceDependencyError(
            f'the leaderboard app needs gradio: pip install "star1-hub[space]" (gradio=={GRADIO_VERSION})'
        ) from None

    require_leaderboard(org)
    if announce is not None:
        announce()
    return serve_app(leaderboard_repo(org), host=host, port=port, block=block)
