"""Start a local Hub for tests, demos and benches, and point the Hub clients at it.

```python
from star1_hub.hubserver.testing import LocalHub, export_client_env

with LocalHub() as hub:                      # temp data dir, 127.0.0.1, free port, own process
    export_client_env(hub.endpoint, hub.token, hf_home)   # BEFORE importing huggingface_hub / datasets
    ...
```

`huggingface_hub` and `datasets` read `HF_ENDPOINT`, `HF_HUB_DISABLE_XET` and `HF_HOME` when they are imported,
so this module imports neither: `tests/conftest.py` calls `start_session_hub()` before anything else.
"""

from __future__ import annotations

import atexit
import logging
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

logger = logging.getLogger(__name__)

_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
_START_TIMEOUT_S = 30.0


def client_env(endpoint: str, token: str, hf_home: str | Path) -> dict[str, str]:
    """The environment variables that make `huggingface_hub` / `datasets` talk to `endpoint`.

    Args:
        endpoint: Base URL of the Hub server, e.g. `http://127.0.0.1:8811`.
        token: The server's token: `LocalHub.token` (the admin token a server without `--tokens` makes; commits
            are recorded as `star1-local`) or one of its tokens file.
        hf_home: Client cache root (`HF_HOME`); use a temporary folder to keep the user's cache clean.

    Returns:
        A dict to merge into `os.environ` (or a subprocess `env`).
    """
    return {
        "HF_ENDPOINT": endpoint.rstrip("/"),
        "HF_TOKEN": token,
        "HF_HUB_DISABLE_XET": "1",  # the local Hub speaks the LFS batch API, not Xet
        "HF_HOME": str(hf_home),
        # Set explicitly so a user's own HF_HUB_CACHE / HF_DATASETS_CACHE cannot pull test files elsewhere.
        "HF_HUB_CACHE": str(Path(hf_home) / "hub"),
        "HF_DATASETS_CACHE": str(Path(hf_home) / "datasets"),
        "HF_HUB_OFFLINE": "0",
        "HF_DATASETS_OFFLINE": "0",
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }


def export_client_env(endpoint: str, token: str, hf_home: str | Path) -> dict[str, str]:
    """Write `client_env(...)` into `os.environ` and return it.

    Call it before `huggingface_hub` / `datasets` are imported. If they already are, their import-time
    constants for the endpoint, Xet and offline mode are patched too (the cache location is not), and a
    warning says so.
    """
    env = client_env(endpoint, token, hf_home)
    os.environ.update(env)
    Path(hf_home).mkdir(parents=True, exist_ok=True)
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        logger.warning("huggingface_hub was imported before the client env was exported; patching its constants")
        constants.ENDPOINT = env["HF_ENDPOINT"]
        constants.HUGGINGFACE_CO_URL_TEMPLATE = env["HF_ENDPOINT"] + "/{repo_id}/resolve/{revision}/{filename}"
        constants.HF_HUB_DISABLE_XET = True
        constants.HF_HUB_OFFLINE = False
    datasets_config = sys.modules.get("datasets.config")
    if datasets_config is not None:
        datasets_config.HF_ENDPOINT = env["HF_ENDPOINT"]
        datasets_config.HF_HUB_OFFLINE = False
    return env


class LocalHub:
    """A running local Hub server; also a context manager that stops it on exit.

    Args:
        data_dir: Where repos persist. None → a temporary folder removed by `stop()`.
        host: Interface to bind (keep 127.0.0.1; anything else needs `tokens_file`).
        port: TCP port; 0 picks a free one.
        tokens_file: YAML tokens file (`star1 hub serve --tokens`). None: the server makes one admin token, and
            `token` is set to it once the server is up.
        extra_args: More `python -m star1_hub.hubserver.server` options (limits), child-process mode only.
        in_thread: Serve from a thread of this process instead of a child process. The child process (default)
            keeps the GIL free for the test and survives `fork`; the thread starts faster.
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        tokens_file: str | Path | None = None,
        in_thread: bool = False,
        extra_args: list[str] | None = None,
    ):
        self._owns_data_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir is not None else Path(tempfile.mkdtemp(prefix="star1-hub-"))
        self.host = host
        self.port = port
        self.tokens_file = Path(tokens_file) if tokens_file is not None else None
        self.token = ""  # the admin token, once started without a tokens file
        self.in_thread = in_thread
        self.extra_args = list(extra_args or [])
        self.pid: int | None = None
        self.endpoint = ""
        self._process: subprocess.Popen | None = None
        self._server = None
        self._thread: threading.Thread | None = None

    def start(self) -> LocalHub:
        """Start serving and return self once the server accepts connections."""
        if self.endpoint:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.in_thread:
            from star1_hub.hubserver.server import make_server

            self._server = make_server(self.data_dir, self.host, self.port, self.tokens_file)
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="star1-local-hub", daemon=True
            )
            self._thread.start()
            self.endpoint = self._server.endpoint
        else:
            self._start_process()
        self.port = int(self.endpoint.rsplit(":", 1)[1])
        if self.tokens_file is None:
            from star1_hub.hubserver.auth import read_admin_token

            self.token = read_admin_token(self.data_dir)
        logger.info("local Hub serving %s from %s", self.endpoint, self.data_dir)
        return self

    def _start_process(self) -> None:
        from star1_hub.hubserver.server import READY_PREFIX

        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PACKAGE_ROOT), env.get("PYTHONPATH")) if p)
        command = [sys.executable, "-m", "star1_hub.hubserver.server", "--host", self.host, "--port", str(self.port)]
        command += ["--data-dir", str(self.data_dir), "--parent-pid", str(os.getpid()), *self.extra_args]
        if self.tokens_file is not None:
            command += ["--tokens", str(self.tokens_file)]
        if self._owns_data_dir:  # so the temp dir also goes when our process is killed and cannot clean up
            command.append("--remove-data-dir-on-exit")
        self._process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env, text=True)
        self.pid = self._process.pid
        deadline = time.monotonic() + _START_TIMEOUT_S
        with selectors.DefaultSelector() as selector:
            selector.register(self._process.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if not selector.select(timeout=max(deadline - time.monotonic(), 0)):
                    break
                line = self._process.stdout.readline()
                if not line:  # the server exited before becoming ready
                    break
                if line.startswith(READY_PREFIX):
                    self.endpoint = line[len(READY_PREFIX) :].strip()
                    return
        self.stop()
        raise RuntimeError(
            f"local Hub server did not start within {_START_TIMEOUT_S:.0f}s (command: {' '.join(command)}); "
            "see its stderr above, check that the port is free and the data dir writable"
        )

    def stop(self) -> None:
        """Stop the server (idempotent); remove the data dir if it was a temporary one."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._process is not None:
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait(timeout=10)
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None
        self.endpoint = ""
        self.pid = None
        if self._owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def client_env(self, hf_home: str | Path) -> dict[str, str]:
        """`client_env(self.endpoint, self.token, hf_home)`."""
        return client_env(self.endpoint, self.token, hf_home)

    def __enter__(self) -> LocalHub:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"LocalHub(endpoint={self.endpoint!r}, data_dir={str(self.data_dir)!r})"


def start_session_hub() -> LocalHub:
    """Start a local Hub (temp data dir, 127.0.0.1, free port) and export the client env (temp `HF_HOME`).

    The server and its temp folders go away when this process exits.
    """
    hub = LocalHub().start()
    hf_home = Path(tempfile.mkdtemp(prefix="star1-hf-home-"))
    export_client_env(hub.endpoint, hub.token, hf_home)
    atexit.register(shutil.rmtree, hf_home, True)
    atexit.register(hub.stop)
    return hub
