"""The test session's local Hub: its address is fixed when `tests/conftest.py` is imported, the server starts later.

`huggingface_hub` and `datasets` read `HF_ENDPOINT` / `HF_HOME` when they are imported, so the client env must be
exported before any test module imports them. The server itself need not run by then: `SessionHub.prepare()`
reserves a free port (a bound socket) and makes the admin token in a temporary data dir, and exports the env for
that address. `start_in_background()` (called from `pytest_configure`, except in an xdist controller, which runs
no test) starts the server process while pytest collects; `wait()` (before the first test, and from the
`local_hub` fixture) returns once it answers. So a run pays no wait for the Hub, and a process that runs no test
(`--collect-only`, the xdist controller) starts none.

If the reserved port was taken between releasing it and the server's bind (another process can race for it),
the server starts on a fresh port instead and the client env, including the already-imported libraries'
constants, is pointed at it (`export_client_env` does that and logs a warning).

This module must not import `huggingface_hub` or `datasets`.
"""

from __future__ import annotations

import atexit
import logging
import shutil
import socket
import tempfile
import threading
from pathlib import Path

from star1_hub.hubserver.auth import ensure_admin_token
from star1_hub.hubserver.testing import LocalHub, client_env, export_client_env

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"


class SessionHub:
    """The session's local Hub (`local_hub` fixture): `endpoint`, `token`, `data_dir`, `port` are known before it
    starts; `pid` and `stop()` refer to the running server. Attribute access other than those waits for the start.
    """

    def __init__(self, data_dir: Path, hf_home: Path, reservation: socket.socket):
        self.data_dir = data_dir
        self.hf_home = hf_home
        self.host = HOST
        self._reservation: socket.socket | None = reservation
        self.port = reservation.getsockname()[1]
        self.endpoint = f"http://{HOST}:{self.port}"
        self.token = ensure_admin_token(data_dir)  # the server reuses this token (same data dir)
        self.starts = 0  # how many server processes this session started (1, or 2 after a port race)
        self._hub: LocalHub | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._failure: str | None = None  # set when no start worked: every later wait() raises it
        self._lock = threading.Lock()

    @classmethod
    def prepare(cls) -> SessionHub:
        """Reserve the address, make the token and export the client env; start nothing."""
        data_dir = Path(tempfile.mkdtemp(prefix="star1-hub-"))
        hf_home = Path(tempfile.mkdtemp(prefix="star1-hf-home-"))
        reservation = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        reservation.bind((HOST, 0))
        hub = cls(data_dir, hf_home, reservation)
        export_client_env(hub.endpoint, hub.token, hf_home)
        atexit.register(shutil.rmtree, hf_home, True)
        atexit.register(shutil.rmtree, data_dir, True)
        atexit.register(hub.stop)  # atexit runs last-registered first: the server stops before its dir goes
        return hub

    # -- starting ---------------------------------------------------------------------------------------------
    def start_in_background(self) -> None:
        """Start the server process from a thread (idempotent); `wait()` joins it."""
        with self._lock:
            if self._thread is not None or self._hub is not None:
                return
            self._thread = threading.Thread(target=self._start, name="star1-session-hub-start", daemon=True)
            self._thread.start()

    def _start(self) -> None:
        try:
            self._release_reservation()
            self._hub = self._launch(self.port)
        except BaseException as exc:  # reported by wait(), in the test that needs the Hub
            self._error = exc

    def _launch(self, port: int) -> LocalHub:
        self.starts += 1
        # --remove-data-dir-on-exit: the server removes the dir itself if this process dies without cleaning up
        hub = LocalHub(data_dir=self.data_dir, host=HOST, port=port, extra_args=["--remove-data-dir-on-exit"])
        return hub.start()

    def _release_reservation(self) -> None:
        if self._reservation is not None:
            self._reservation.close()
            self._reservation = None

    def wait(self) -> SessionHub:
        """Block until the server answers (starting it now if nobody did); raise if it could not start."""
        self.start_in_background()
        thread = self._thread
        if thread is not None:
            thread.join()
        with self._lock:
            if self._failure is not None:
                raise RuntimeError(self._failure)
            if self._hub is None and self._error is not None:
                first, self._error = self._error, None
                logger.warning(
                    "session Hub did not start on reserved port %s (%s); using a fresh port", self.port, first
                )
                try:
                    self._hub = self._launch(0)
                except BaseException as exc:
                    self._failure = (
                        f"the test session's local Hub did not start (reserved port {self.port}: {first}; "
                        f"fresh port: {exc})"
                    )
                    raise RuntimeError(self._failure) from exc
            if self._hub is None:
                raise RuntimeError("the test session's local Hub is not running (stopped?)")
            if (self._hub.endpoint, self._hub.token) != (self.endpoint, self.token):  # after a port race
                self.endpoint, self.port, self.token = self._hub.endpoint, self._hub.port, self._hub.token
                export_client_env(self.endpoint, self.token, self.hf_home)
        return self

    @property
    def started(self) -> bool:
        return self._hub is not None or self._thread is not None

    # -- the LocalHub surface ---------------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self.wait()._hub.pid

    def client_env(self, hf_home: str | Path) -> dict[str, str]:
        """`client_env(self.endpoint, self.token, hf_home)` (like `LocalHub.client_env`)."""
        return client_env(self.endpoint, self.token, hf_home)

    def stop(self) -> None:
        """Stop the server if it runs (idempotent)."""
        if self._thread is not None:
            self._thread.join()
        self._release_reservation()
        if self._hub is not None:
            self._hub.stop()

    def __repr__(self) -> str:
        state = "running" if self._hub is not None and self._hub.endpoint else "not started"
        return f"SessionHub(endpoint={self.endpoint!r}, data_dir={str(self.data_dir)!r}, {state})"
