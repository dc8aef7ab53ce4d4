"""The one Hub write path: `commit_to_hub` makes ONE commit (files + card + optional tag), and `parse_ref` reads
`org/name@rev`.

Every publisher (data publish, curation stages, collection, eval details, model push, leaderboard, Space) goes
through `commit_to_hub`, so each push is one consistent snapshot and concurrent writers cannot lose each other's
work: the commit names the head it was built on (`parent_commit`); when another writer moved the branch in the
meantime the Hub answers 412 Precondition Failed (409 Conflict while another commit is in flight), and the
commit is rebuilt on the new head and retried, a bounded number of times.

```python
from star1_hub.hub.commit import Changes, commit_to_hub

def build(head: str) -> Changes:            # called again after every 412, with the new head
    rows = read_rows(repo_id, revision=head) + [new_row]
    return Changes(files={"data/rows.jsonl": to_jsonl(rows)}, card=render_readme(rows))

commit_to_hub(repo_id, build, message="add a row", repo_type="dataset")
```

A card is validated against the configured Hub (`HF_ENDPOINT`, never the hard-coded huggingface.co of
huggingface_hub 1.33) before anything is committed; a taken tag is refused before the commit too.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from star1_hub.errors import Star1Error
from star1_hub.hub.card_validation import CardValidationError, validate_card

if TYPE_CHECKING:
    from huggingface_hub import HfApi

logger = logging.getLogger(__name__)

DEFAULT_ATTEMPTS = 10
RETRY_STATUSES = (409, 412)  # 409: another commit in flight; 412: parent_commit is no longer the head
_BACKOFF_BASE_S = 0.05
_BACKOFF_MAX_S = 2.0
_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_REPO_ID_RE = re.compile(rf"^(?:{_NAME}/)?{_NAME}$")


class RefError(Star1Error, ValueError):
    """A `repo[@revision]` reference that cannot name a Hub repo."""


class TagExistsError(Star1Error, ValueError):
    """The requested tag already names a commit of the repository (tags are immutable)."""


class CommitConflictError(Star1Error, RuntimeError):
    """Other writers kept moving the branch: the commit was rebuilt and refused `attempts` times."""


class RepoRef(NamedTuple):
    """`org/name@rev` split: `repo_id` and `revision` (None = the default branch)."""

    repo_id: str
    revision: str | None

    def __str__(self) -> str:
        return f"{self.repo_id}@{self.revision}" if self.revision else self.repo_id


def parse_ref(ref: str, *, require_namespace: bool = True, what: str = "repo") -> RepoRef:
    """Split `org/name[@revision]` into `RepoRef(repo_id, revision)`.

    Args:
        ref: e.g. `my-org/STAR-1`, `my-org/STAR-1@v1`, `my-org/STAR-1@<sha>`.
        require_namespace: refuse ids without `org/` (datasets and models we publish always have one).
        what: the noun used in the error message (`"dataset"`, `"model"`, `"--input"` …).

    Raises:
        RefError: empty id, empty revision after `@`, or characters the Hub does not accept; the message
            names the value and the expected form.
    """
    repo_id, at, revision = ref.strip().partition("@")
    expected = "'org/name' or 'org/name@revision'" if require_namespace else "'name', 'org/name' or 'org/name@rev'"
    if at and not revision:
        raise RefError(f"{what} {ref!r}: empty revision after '@'; expected {expected}")
    if not _REPO_ID_RE.match(repo_id) or (require_namespace and "/" not in repo_id) or ".." in repo_id:
        raise RefError(f"{what} {ref!r} is not a Hub repo id; expected {expected}")
    return RepoRef(repo_id, revision or None)


FileContent = bytes | str | Path
"""`bytes` or `str` = the file's content; `Path` = a local file to upload."""


@dataclass
class Changes:
    """What one commit changes.

    Attributes:
        files: `path_in_repo -> content` (`bytes`/`str` content, or a local `Path`).
        delete: paths to delete; a trailing `/` names a folder: its files that this commit does not write are
            deleted (so `files={"data/new.parquet": …}, delete=["data/"]` replaces the folder's content).
            Paths absent from the head are skipped.
        card: the README.md text (validated with the Hub before the commit).
    """

    files: Mapping[str, FileContent] = field(default_factory=dict)
    delete: Iterable[str] = ()
    card: str | None = None


@dataclass(frozen=True)
class CommitResult:
    repo_id: str
    repo_type: str
    sha: str
    tag: str | None
    attempts: int
    parent: str
    pr_revision: str | None = None


class UnsafeFolderError(Star1Error, ValueError):
    """A folder to push holds symbolic links that lead outside it (or nowhere): nothing is pushed."""


def folder_files(folder: str | Path, ignore_patterns: Iterable[str] = ()) -> dict[str, Path]:
    """`path_in_repo -> Path` for every file under `folder` (posix paths), minus `ignore_patterns` (fnmatch).

    Symbolic links are never followed out of `folder`: a link to a file inside it is pushed with that file's
    content; a link to anything outside (a secret in the home folder, a cache), a dangling link or a link to a
    folder raises `UnsafeFolderError` naming every such link, and nothing is pushed. Ignored paths are not
    checked. Copy a file into the folder to push it.
    """
    from huggingface_hub.utils import filter_repo_objects

    folder = Path(folder)
    root = folder.resolve()
    found: dict[str, Path] = {}
    links: dict[str, Path] = {}
    for directory, subdirs, files in os.walk(folder, followlinks=False):
        here = Path(directory)
        for name in files + [d for d in subdirs if (here / d).is_symlink()]:
            path = here / name
            relative = path.relative_to(folder).as_posix()
            if path.is_symlink():
                links[relative] = path
            elif path.is_file():
                found[relative] = path
    kept = set(filter_repo_objects(sorted(found) + sorted(links), ignore_patterns=list(ignore_patterns) or None))
    refused = []
    for relative, path in sorted(links.items()):
        if relative not in kept:
            continue
        target = path.resolve()
        if not target.is_file() or not target.is_relative_to(root):
            refused.append(f"{relative} -> {os.readlink(path)}")
        else:
            found[relative] = path
    if refused:
        raise UnsafeFolderError(
            f"{folder}: {len(refused)} symbolic link(s) lead outside the folder, to a folder, or nowhere; nothing "
            f"was pushed (copy the file in to push it, or ignore the link): {', '.join(refused[:10])}"
        )
    return {path: found[path] for path in sorted(kept)}


def _operations(changes: Changes, head_files: set[str]) -> list:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    operations = []
    for path, content in changes.files.items():
        if path == "README.md" and changes.card is not None:
            raise ValueError("README.md given both as a file and as the card; pass it once, as `card`")
        if isinstance(content, Path):
            operations.append(CommitOperationAdd(path, str(content)))
        else:
            operations.append(
                CommitOperationAdd(path, content.encode("utf-8") if isinstance(content, str) else content)
            )
    if changes.card is not None:
        operations.append(CommitOperationAdd("README.md", changes.card.encode("utf-8")))
    added = set(changes.files) | ({"README.md"} if changes.card is not None else set())
    doomed: set[str] = set()
    for path in changes.delete:
        if path.endswith("/"):  # the folder's files that this commit does not (re)write
            doomed.update(f for f in head_files if f.startswith(path) and f not in added)
        elif path in head_files and path not in added:
            doomed.add(path)
    operations.extend(CommitOperationDelete(path) for path in sorted(doomed))
    return operations


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _existing_tags(api: HfApi, repo_id: str, repo_type: str) -> set[str]:
    return {ref.name for ref in api.list_repo_refs(repo_id, repo_type=repo_type).tags}


def ensure_tag_free(repo_id: str, tag: str, *, repo_type: str = "dataset", api: HfApi | None = None) -> None:
    """Refuse `tag` when it already names a commit of `repo_id` (a repo that does not exist has no tags).

    Long runs call this before their work starts, so a taken tag fails in seconds, not after the run;
    `commit_to_hub(tag=…)` checks again before it commits.

    Raises:
        TagExistsError: the tag exists already.
    """
    from huggingface_hub import HfApi

    api = api or HfApi()
    if api.repo_exists(repo_id, repo_type=repo_type) and tag in _existing_tags(api, repo_id, repo_type):
        raise TagExistsError(
            f"tag {tag!r} already exists on {repo_type} {repo_id}; pick a new tag (tags are immutable)"
        )


def tag_revision(
    repo_id: str,
    tag: str,
    revision: str,
    *,
    message: str | None = None,
    repo_type: str = "dataset",
    api: HfApi | None = None,
) -> None:
    """Tag `revision` (a commit sha, branch or tag) of `repo_id`; tags are immutable.

    Raises:
        TagExistsError: a tag of that name exists already.
    """
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api = api or HfApi()
    try:
        api.create_tag(repo_id, tag=tag, revision=revision, tag_message=message, repo_type=repo_type)
    except HfHubHTTPError as exc:
        if _status(exc) == 409:
            raise TagExistsError(
                f"tag {tag!r} already exists on {repo_type} {repo_id}; pick a new tag (tags are immutable); "
                f"{revision} is untagged"
            ) from exc
        raise


def commit_to_hub(
    repo_id: str,
    changes: Changes | Callable[[str], Changes],
    *,
    message: str,
    repo_type: str = "dataset",
    revision: str | None = None,
    create_branch: bool = False,
    tag: str | None = None,
    tag_message: str | None = None,
    private: bool = False,
    space_sdk: str | None = None,
    description: str | None = None,
    create_pr: bool = False,
    max_attempts: int = DEFAULT_ATTEMPTS,
    api: HfApi | None = None,
) -> CommitResult:
    """Create the repo if needed and push `changes` as ONE commit on top of the current head, then tag it.

    Args:
        repo_id: `org/name`.
        changes: the files, deletions and card; or `build(head_sha) -> Changes` when they depend on what is on
            the Hub (read-modify-write: it is called again with the new head after a concurrent commit).
        message: commit title.
        repo_type: "model", "dataset" or "space".
        revision: branch to commit to (default: main).
        create_branch: create `revision` from main when it does not exist.
        tag: tag the new commit; a tag that already exists is refused before anything is committed.
        tag_message: annotation of the tag.
        private: create the repo private (an existing repo keeps its visibility).
        space_sdk: SDK of a new Space repo ("gradio", "docker", "static").
        description: commit description.
        create_pr: open a pull request (from the current head) instead of committing to the branch.
        max_attempts: commits tried before giving up on a branch that other writers keep moving.
        api: client (default `HfApi()`: `HF_ENDPOINT`, `HF_TOKEN`).

    Returns:
        `CommitResult` with the new commit's sha (the head when nothing changed: the Hub makes no empty commit).

    Raises:
        TagExistsError: `tag` exists already (nothing committed).
        CardValidationError: the card's YAML is rejected by the Hub (nothing committed).
        CommitConflictError: still refused after `max_attempts` rebuilds.
    """
    from huggingface_hub import HfApi

    api = api or HfApi()
    if repo_type == "space" and space_sdk is None:
        space_sdk = "gradio"
    validate = _card_validator(repo_id, repo_type, api)
    if not callable(changes) and changes.card is not None:
        validate(changes.card)  # before anything is written, a new repo included
    if tag:
        ensure_tag_free(repo_id, tag, repo_type=repo_type, api=api)  # before anything is written
    branch = revision or "main"
    if not api.repo_exists(repo_id, repo_type=repo_type):
        api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True, space_sdk=space_sdk)
    if create_branch and branch != "main":
        api.create_branch(repo_id, branch=branch, repo_type=repo_type, exist_ok=True)
    build = changes if callable(changes) else (lambda _head: changes)
    commit, head, attempt = _commit_on_head(
        api,
        repo_id,
        repo_type,
        revision,
        build,
        validate,
        message=message,
        description=description,
        create_pr=create_pr,
        max_attempts=max_attempts,
    )
    sha = commit.oid
    if tag:
        tag_revision(repo_id, tag, sha, message=tag_message, repo_type=repo_type, api=api)
    logger.info(
        "%s %s: commit %s (%d attempt(s))%s", repo_type, repo_id, sha[:8], attempt, f" tag {tag}" if tag else ""
    )
    return CommitResult(
        repo_id=repo_id,
        repo_type=repo_type,
        sha=sha,
        tag=tag,
        attempts=attempt,
        parent=head,
        pr_revision=commit.pr_revision if create_pr else None,
    )


def _card_validator(repo_id: str, repo_type: str, api: HfApi) -> Callable[[str], None]:
    """`validate(card)`: the Hub's check of a card, once per distinct card text; a rejection commits nothing."""
    validated: set[str] = set()

    def validate(card: str) -> None:
        if card in validated:
            return
        try:
            validate_card(card, repo_type=repo_type, api=api)
        except CardValidationError as exc:
            raise CardValidationError(f"{repo_type} {repo_id}: nothing committed: {exc}") from None
        validated.add(card)

    return validate


def _commit_on_head(
    api: HfApi,
    repo_id: str,
    repo_type: str,
    revision: str | None,
    build: Callable[[str], Changes],
    validate: Callable[[str], None],
    *,
    message: str,
    description: str | None,
    create_pr: bool,
    max_attempts: int,
):
    """Build the changes on the branch's current head and commit them with that head as parent; when another
    writer moved the branch (409/412), rebuild on the new head after a jittered back-off.

    Returns (the commit, the head it was built on, attempts used)."""
    from huggingface_hub.errors import HfHubHTTPError

    branch = revision or "main"
    for attempt in range(1, max_attempts + 1):
        info = api.repo_info(repo_id, repo_type=repo_type, revision=branch, files_metadata=False)
        head = info.sha
        head_files = {s.rfilename for s in info.siblings or []}
        current = build(head)
        if current.card is not None:
            validate(current.card)
        try:
            commit = api.create_commit(
                repo_id,
                _operations(current, head_files),
                commit_message=message,
                commit_description=description,
                repo_type=repo_type,
                revision=revision,
                parent_commit=head,
                create_pr=create_pr,
            )
        except HfHubHTTPError as exc:
            if _status(exc) not in RETRY_STATUSES or attempt == max_attempts:
                if _status(exc) in RETRY_STATUSES:
                    raise CommitConflictError(
                        f"{repo_type} {repo_id}@{branch}: other writers moved the branch during {attempt} attempts; "
                        "nothing committed, run again"
                    ) from exc
                raise
            delay = min(_BACKOFF_MAX_S, _BACKOFF_BASE_S * 2 ** (attempt - 1)) * (0.5 + random.random())
            logger.info("%s %s: head moved past %s (HTTP %s); rebuilding", repo_type, repo_id, head[:8], _status(exc))
            time.sleep(delay)
            continue
        return commit, head, attempt
    raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
