"""Server management without vLLM: interpreter lookup, the command line, and the start/wait/stop lifecycle."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from star1_hub.teacher import TeacherEngine
from star1_hub.teacher.serve import ServeError, find_vllm_python, free_port, start_vllm, vllm_command
from star1_hub.testing.scripted_server import ScriptedServer
from tests.teacher.helpers import fast_config, questions

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_cpu_command_line_uses_fp32_eager_on_localhost():
    cmd = vllm_command("/x/python", "/models/m", 8123, "smollm2", 2048, cpu=True)
    assert cmd[:3] == ["/x/python", "-m", "vllm.entrypoints.openai.api_server"]
    joined = " ".join(cmd)
    assert "--host 127.0.0.1 --port 8123" in joined and "--served-model-name smollm2" in joined
    assert "--dtype float32" in joined and "--enforce-eager" in joined and "--max-model-len 2048" in joined
    assert "--enforce-eager" not in vllm_command("/x/python", "m", 1, "s", 2048, cpu=False)


def test_missing_serve_python_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("STAR1_SERVE_PYTHON", "/nonexistent/python")
    with pytest.raises(ServeError, match="STAR1_SERVE_PYTHON"):
        find_vllm_python()


def test_start_waits_for_models_and_stop_ends_the_process_group(tmp_path, monkeypatch):
    # A stand-in "vLLM interpreter": it serves the scripted OpenAI server on the --port it is given.
    fake = tmp_path / "fake-python"
    fake.write_text(
        "#!/bin/sh\n"
        'while [ "$1" != "--port" ]; do shift; done\n'
        f'PYTHONPATH={REPO_ROOT} exec {sys.executable} -m star1_hub.testing.scripted_server --port "$2"\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("STAR1_SERVE_PYTHON", str(fake))
    server = start_vllm(model=str(tmp_path), port=0, served_model_name="smollm2", startup_timeout_s=60)
    try:
        with urllib.request.urlopen(f"{server.base_url}/models", timeout=10) as response:
            assert response.status == 200
        (result,) = TeacherEngine(fast_config(server.base_url, model=server.model)).run(questions(1))
        assert result.ok
    finally:
        server.stop()
    assert server.process.poll() is not None and not server.log_path.exists()
    with pytest.raises(ProcessLookupError):
        os.killpg(server.process.pid, 0)


def test_serve_command_is_registered():
    from star1_hub.cli import app

    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0 and "--model" in result.output and "/v1/models" in result.output


def test_scripted_server_in_a_child_process_counts_over_http():
    with ScriptedServer(latency_s=0.001, process=True) as server:
        results = TeacherEngine(fast_config(server.base_url)).run(questions(7))
        assert all(r.ok for r in results) and server.request_count == 7
        assert server.count_for(ScriptedServer.key_of(questions(1)[0].messages)) == 1


def _fake_vllm(tmp_path) -> Path:
    """A stand-in vLLM interpreter that records its pid and serves the scripted server on the given --port."""
    fake = tmp_path / "fake-python"
    fake.write_text(
        "#!/bin/sh\n"
        f"echo $$ > {tmp_path / 'child.pid'}\n"
        'while [ "$1" != "--port" ]; do shift; done\n'
        f'PYTHONPATH={REPO_ROOT} exec {sys.executable} -m star1_hub.testing.scripted_server --port "$2"\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return fake


def _serve_process(tmp_path, port: int) -> subprocess.Popen:
    env = dict(os.environ, STAR1_SERVE_PYTHON=str(_fake_vllm(tmp_path)), PYTHONPATH=str(REPO_ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "star1_hub.cli", "serve", "--model", str(tmp_path), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_serve_stops_the_server_on_sigterm_and_sighup(tmp_path, sig):
    port = free_port()
    process = _serve_process(tmp_path, port)
    try:
        line = process.stdout.readline()
        while line and "vLLM ready:" not in line:
            line = process.stdout.readline()
        assert "vLLM ready:" in line, "star1 serve never became ready"
        child = int((tmp_path / "child.pid").read_text())
        os.killpg(child, 0)  # the server's process group is alive
        process.send_signal(sig)
        output = process.communicate(timeout=60)[0]
    finally:
        if process.poll() is None:
            process.kill()
    assert "stopping vLLM" in output
    with pytest.raises(ProcessLookupError):
        os.killpg(child, 0)  # nothing left holding the port or the memory


def test_a_busy_port_is_an_error_before_anything_says_ready(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        process = _serve_process(tmp_path, port)
        output = process.communicate(timeout=60)[0]
    assert process.returncode == 2
    assert f"port {port} on 127.0.0.1 is already in use" in output and "vLLM ready" not in output
    assert not (tmp_path / "child.pid").exists()  # nothing was started


def test_small_machine_runs_the_engine_in_one_process_with_one_thread_unless_told_otherwise(monkeypatch):
    from star1_hub.teacher import serve

    monkeypatch.setattr(serve.os, "sched_getaffinity", lambda pid: {0, 1})
    assert serve.cpu_engine_env({}) == {"VLLM_ENABLE_V1_MULTIPROCESSING": "0", "OMP_NUM_THREADS": "1"}
    assert serve.cpu_engine_env({"OMP_NUM_THREADS": "2"}) == {"VLLM_ENABLE_V1_MULTIPROCESSING": "0"}  # the user's
    assert serve.cpu_engine_env({"VLLM_ENABLE_V1_MULTIPROCESSING": "1"}) == {}
    monkeypatch.setattr(serve.os, "sched_getaffinity", lambda pid: set(range(8)))
    assert serve.cpu_engine_env({}) == {}  # vLLM's own layout: a pinned worker with several threads
