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
        max_paths_info: Most distinct paths one `paths-info` request may ask about (duplicates count once).
        socket_timeout_s: A connection stalled this long mid-request (no byte read or written) is closed.
        header_timeout_s: Once the first byte of a request has arrived, its line and headers must arrive in full
            within this many seconds, however often the client sends a byte: a drip-feeding client cannot hold
            a connection. (A kept-alive connection waiting for its next request idles up to `socket_timeout_s`.)
        min_body_rate: Bytes per second a request body must keep up, on average, once `body_grace_s` has passed;
            a slower upload is cut off (connection closed).
        body_grace_s: Seconds a body may take before `min_body_rate` applies.
        max_connections: Connections served at once; more are answered 503 and closed.
        max_connections_per_address: Connections served at once for one client address (503 beyond), so one
            client cannot take every slot. Behind a reverse proxy every client has the proxy's address: raise it
            to `max_connections` and let the proxy limit clients.
    """

    max_json_bytes: int = 1_000_000
    max_inline_file_bytes: int = 10 * MIB
    max_commit_bytes: int = 2048 * MIB
    max_commit_operations: int = 100_000
    max_lfs_file_bytes: int = 50 * 1024 * MIB
    max_paths_info: int = 10_000
    socket_timeout_s: float = 30.0
    header_timeout_s: float = 10.0
    min_body_rate: int = 1024
    body_grace_s: float = 10.0
    max_connections: int = 128
    max_connections_per_address: int = 64

    def __post_init__(self) -> None:
        for name in (
            "max_json_bytes",
            "max_inline_file_bytes",
            "max_commit_bytes",
            "max_commit_operations",
            "max_paths_info",
            "max_connections_per_address",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"Limits.{name} must be positive, got {getattr(self, name)}")
        if self.socket_timeout_s <= 0 or self.header_timeout_s <= 0 or self.max_connections <= 0:
            raise ValueError("Limits.socket_timeout_s, header_timeout_s and max_connections must be positive")
        if self.min_body_rate < 0 or self.body_grace_s < 0:
            raise ValueError("Limits.min_body_rate and Limits.body_grace_s must not be negative (0 = no minimum)")

    @property
    def max_commit_line_bytes(self) -> int:
        """Longest NDJSON line: one inline file (base64) plus its JSON envelope."""
        return (self.max_inline_file_bytes + 2) // 3 * 4 + 64 * 1024
