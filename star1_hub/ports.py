"""The port check every `star1 … serve` command runs before it starts anything.

`star1 serve` (vLLM), `star1 hub serve` and `star1 leaderboard serve` bind a TCP port. When something already
listens there, each of them stops before starting with the same one line (exit code 2, no traceback):

    error: port 8000 on 127.0.0.1 is already in use (Address already in use); stop what serves there or pass --port 8001

`check_port_free` tries to bind the port itself (without SO_REUSEADDR, so a listener is never missed), which also
means another server answering there is never taken for ours.
"""

from __future__ import annotations

import errno
import socket

from star1_hub.errors import Star1Error

LOCALHOST = "127.0.0.1"


class PortInUseError(Star1Error):
    """A port a server was asked to bind is taken; the message names the port, the host and a free one to use."""


def free_port(host: str = LOCALHOST) -> int:
    """A TCP port on `host` that nothing listens on right now (the OS picks it)."""
    with socket.socket(_family(host)) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def check_port_free(port: int, host: str = LOCALHOST) -> None:
    """Return when `host:port` can be bound; raise `PortInUseError` when something already uses it.

    Port 0 (the OS picks one) is always free. Other bind failures (a privileged port, an address that is not this
    machine's) raise it too, with the system's reason: the fix is the same, another --port (or --host).
    """
    if port == 0:
        return
    with socket.socket(_family(host)) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            reason = exc.strerror or str(exc)
            try:
                other = f"pass --port {free_port(host)}"
            except OSError:
                other = "pass another --host"
            if exc.errno == errno.EADDRINUSE:
                message = f"port {port} on {host} is already in use ({reason}); stop what serves there or {other}"
            else:
                message = f"cannot bind port {port} on {host} ({reason}); {other}"
            raise PortInUseError(message) from None


__all__ = ["LOCALHOST", "PortInUseError", "check_port_free", "free_port"]
