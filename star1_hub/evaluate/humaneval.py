"""HumanEval execution: run one candidate program against the benchmark's tests.

Programs are executed in a separate `python -I` process in its own session/process group, with a fresh
temporary directory as cwd, a wall-clock timeout after which the whole group is killed, and limits on address
space, CPU time, processes, open files and file size. That contains crashes, infinite loops and forks, but it is
NOT a security sandbox: only evaluate models you trust, or run the evaluation inside a container.
"""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import sys
import tempfile


CANDIDATE_LIMITS = {
    "address_space_bytes": 2 * 1024**3,
    "file_size_bytes": 16 * 1024**2,
    "processes": 64,
    "open_files": 64,
}
"""Resource limits of one HumanEval candidate process (CPU seconds follow the timeout)."""


def _candidate_limits(cpu_seconds: int):
    """A `preexec_fn` that applies `CANDIDATE_LIMITS` (and the CPU limit) in the child before exec."""

    def apply() -> None:
        import resource

        for limit, value in (
            (resource.RLIMIT_AS, CANDIDATE_LIMITS["address_space_bytes"]),
            (resource.RLIMIT_FSIZE, CANDIDATE_LIMITS["file_size_bytes"]),
            (resource.RLIMIT_NPROC, CANDIDATE_LIMITS["processes"]),
            (resource.RLIMIT_NOFILE, CANDIDATE_LIMITS["open_files"]),
            (resource.RLIMIT_CPU, cpu_seconds),
            (resource.RLIMIT_CORE, 0),
        ):
            try:
                resource.setrlimit(limit, (value, value))
            except (ValueError, OSError):  # a hard limit already lower than ours stays as it is
                pass

    return apply


def _kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the candidate's whole process group (its own session), then reap the candidate."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def build_humaneval_program(prompt: str, code: str, test: str, entry_point: str) -> str:
    """Assemble the program to run: the candidate function (whole definition, or a body completing `prompt`)
    followed by the benchmark's `check` function and a call to it."""
    if re.search(rf"^\s*def\s+{re.escape(entry_point)}\s*\(", code, re.M):
        header = "\n".join(line for line in prompt.splitlines() if line.startswith(("import ", "from ")))
        program = f"{header}\n{code}"
    else:
        program = prompt + code
    return f"{program}\n\n{test}\n\ncheck({entry_point})\n"


def run_humaneval(prompt: str, code: str | None, test: str, entry_point: str, timeout_s: float = 3.0) -> dict:
    """Execute one HumanEval candidate; returns `{"passed": bool, "status": "passed"|"failed"|"timeout"|"no_code"}`.

    The candidate runs as `python -I` in its own session and process group, with a fresh temporary directory as
    its working directory and `HOME`/`TMPDIR`, a minimal environment and `CANDIDATE_LIMITS`. When it exits or
    times out, the whole process group is killed, so processes it forked do not outlive it. This contains
    accidents (loops, crashes, memory blow-ups, stray files in the cwd); it is not a sandbox for untrusted code:
    the candidate can still read and write anything the user running `star1 eval` can (see the evaluate README
    for running the evaluation in a container).
    """
    if not code or not code.strip():
        return {"passed": False, "status": "no_code"}
    if os.name != "posix":
        raise RuntimeError("HumanEval execution needs a POSIX system (process groups and resource limits)")
    program = build_humaneval_program(prompt, code, test, entry_point)
    with tempfile.TemporaryDirectory(prefix="star1-humaneval-") as workdir:
        path = os.path.join(workdir, "candidate.py")
        with open(path, "w") as handle:
            handle.write(program)
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONHASHSEED": "0", "HOME": workdir, "TMPDIR": workdir}
        process = subprocess.Popen(
            [sys.executable, "-I", path],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # its own session and process group: killpg reaches everything it forks
            preexec_fn=_candidate_limits(max(1, math.ceil(timeout_s)) + 1),
        )
        try:
            returncode = process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            return {"passed": False, "status": "timeout"}
        _kill_group(process)  # the candidate is gone; anything it left running in its group goes too
    return {"passed": returncode == 0, "status": "passed" if returncode == 0 else "failed"}
