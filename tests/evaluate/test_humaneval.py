"""HumanEval execution."""

from __future__ import annotations

from star1_hub.evaluate.humaneval import build_humaneval_program, run_humaneval

PROMPT = 'from typing import List\n\ndef add(a: int, b: int) -> int:\n    """Add two numbers."""\n'
TEST = "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(-1, 1) == 0\n"


def test_humaneval_full_function_and_body():
    assert run_humaneval(PROMPT, "def add(a, b):\n    return a + b\n", TEST, "add")["passed"]
    assert run_humaneval(PROMPT, "    return a + b\n", TEST, "add")["passed"]
    assert run_humaneval(PROMPT, "def add(a, b):\n    return a - b\n", TEST, "add")["status"] == "failed"
    assert run_humaneval(PROMPT, None, TEST, "add")["status"] == "no_code"


def test_humaneval_timeout():
    result = run_humaneval(PROMPT, "def add(a, b):\n    while True:\n        pass\n", TEST, "add", timeout_s=1.0)
    assert result == {"passed": False, "status": "timeout"}


def test_program_keeps_prompt_imports():
    program = build_humaneval_program(PROMPT, "def add(a, b):\n    return a + b\n", TEST, "add")
    assert program.startswith("from typing import List")
    assert program.rstrip().endswith("check(add)")


def _process_state(pid: int) -> str | None:
    """The /proc state letter of `pid` (R, S, Z, …), None when the process no longer exists."""
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return None


def test_humaneval_kills_forked_children_on_timeout(tmp_path):
    marker = tmp_path / "child.pid"
    survived = tmp_path / "survived"
    code = (
        "import os, time\n"
        "def add(a, b):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        f"        open({str(marker)!r}, 'w').write(str(os.getpid()))\n"
        "        time.sleep(3)\n"
        f"        open({str(survived)!r}, 'w').write('still here')\n"
        "        os._exit(0)\n"
        "    while True:\n"
        "        pass\n"
    )
    assert run_humaneval(PROMPT, code, TEST, "add", timeout_s=1.5)["status"] == "timeout"
    if marker.exists():  # the fork succeeded (root ignores the process limit): the child must be gone too
        import time

        pid = int(marker.read_text())
        deadline = time.monotonic() + 5  # SIGKILL is delivered asynchronously; a generous bound against a hang
        while _process_state(pid) not in (None, "Z") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _process_state(pid) in (None, "Z")
    import time

    time.sleep(3.5)  # longer than the child's sleep: it would have written the file by now
    assert not survived.exists()


def test_humaneval_runs_in_a_fresh_directory_with_limits(tmp_path):
    code = (
        "import os, resource\n"
        "def add(a, b):\n"
        "    assert os.listdir('.') == ['candidate.py'], os.listdir('.')\n"
        "    assert os.environ['HOME'] == os.getcwd()\n"
        "    assert resource.getrlimit(resource.RLIMIT_FSIZE)[0] == 16 * 1024**2\n"
        "    assert resource.getrlimit(resource.RLIMIT_AS)[0] == 2 * 1024**3\n"
        "    assert os.getpgid(0) == os.getpid() == os.getsid(0)\n"
        "    return a + b\n"
    )
    assert run_humaneval(PROMPT, code, TEST, "add")["status"] == "passed"
    big_write = "def add(a, b):\n    open('big', 'wb').write(b'0' * (64 * 1024**2))\n    return a + b\n"
    assert run_humaneval(PROMPT, big_write, TEST, "add")["status"] == "failed"  # file-size limit
