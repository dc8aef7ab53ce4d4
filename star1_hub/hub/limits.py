"""Size, time and connection limits of the local Hub (all configurable from `star1 hub serve`)."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one request or one server may use.

    Attributes:
        max_json_bytes: Largest JSON request body (create repo, branch, tag, preupload, LFS batch, ...).
        max_inline_file_bytes: Largest file sent inline (base64) in a commit, like the Hub's 10 MiB; bigger files
            go through LFS, which streams to disk. Preupload answers `lfs` from this size on.
        max_commit_bytes: Largest NDJSON commit body in all.
        max_commit_operations: Most add/delete operations in one commit.
        max_lfs_file_bytes: Largest LFS object an upload link is issued for.
        socket_timeout_s: A connection idle (or stalled mid-request) this long is closed.
        max_connections: Connections served at once; more are answered 503 and closed.
    """

    max_json_bytes: int = 1_000_000
    max_inline_file_bytes: int = 10 * MIB
    max_commit_bytes: int = 2048 * MIB
    max_commit_operations: int = 100_000
    max_lfs_file_bytes: int = 50 * 1024 * MIB
    socket_timeout_s: float = 30.0
    max_connections: int = 128

    def __post_init__(self) -> None:
        for name in ("max_json_bytes", "max_inline_file_bytes", "max_commit_bytes", "max_commit_operations"):
            if getattr(self, name) <= 0:
                raise ValueError(f"Limits.{name} must be positive, got {getattr(self, name)}")
        if self.socket_timeout_s <= 0 or self.max_connections <= 0:
            raise ValueError("Limits.socket_timeout_s and Limits.max_connections must be positive")

    @property
    def max_commit_line_bytes(self) -> int:
        """Longest NDJSON line: one inline file (base64) plus its JSON envelope."""
        return (self.max_inline_file_bytes + 2) // 3 * 4 + 64 * 1024
