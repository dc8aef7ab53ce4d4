"""The error type of the local Hub: an HTTP status plus the `X-Error-Code` the clients map to typed errors."""

from __future__ import annotations


class HubError(Exception):
    """An error the server turns into an HTTP status, an `X-Error-Code` header and a JSON `{"error": ...}` body."""

    def __init__(self, status: int, message: str, code: str | None = None, extra: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.extra = extra or {}


def repo_not_found(repo_type: str, repo_id: str) -> HubError:
    return HubError(404, f"Repository Not Found: {repo_type} {repo_id!r}", "RepoNotFound")


def revision_not_found(repo_id: str, revision: str) -> HubError:
    return HubError(404, f"Invalid rev id: {revision!r} does not exist in {repo_id!r}", "RevisionNotFound")


def entry_not_found(path: str, message: str | None = None) -> HubError:
    return HubError(404, message or f"Entry not found: {path!r}", "EntryNotFound")


def bad_request(message: str) -> HubError:
    return HubError(400, message)


def too_large(message: str) -> HubError:
    return HubError(413, message)
