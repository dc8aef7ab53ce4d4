"""One behaviour for every `star1` command (issue 23 item 7, issue 24 item 7).

- A busy port: `star1 serve`, `star1 hub serve` and `star1 leaderboard serve` exit 2 with the same one line.
- Ctrl-C: exit 130 and one line saying what was kept; a stage that knows its cache names it and says a re-run resumes.
- The project's user errors share one base class (`Star1Error`); the error printer recognises them by it, and
  their exit code is the class's.
- A refused token on a read does not ask for write access; the price hint speaks CLI; library noise a user cannot
  act on is quiet without `-v`.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import typer
import typer.main
from typer.testing import CliRunner

import star1_hub
from star1_hub.errors import Star1Error

REPO_ROOT = Path(__file__).resolve().parents[1]
STAR1 = Path(sys.executable).with_name("star1")
SAMPLE = REPO_ROOT / "star1_hub" / "data" / "samples" / "star1_sample.json"


def run_star1(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(STAR1), *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=timeout
    )


# --- 1. a busy port ------------------------------------------------------------------------------------------


@pytest.fixture
def busy_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize(
    "command",
    [["serve", "--model", "embedded"], ["hub", "serve"], ["leaderboard", "serve", "--org", "nobody"]],
    ids=["serve", "hub serve", "leaderboard serve"],
)
def test_a_busy_port_is_the_same_one_line_and_exit_2_for_every_serve_command(command, busy_port, tmp_path):
    result = run_star1(*command, "--port", str(busy_port), env={"STAR1_HOME": str(tmp_path)})
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: port {busy_port} on 127.0.0.1 is already in use")
    assert "stop what serves there or pass --port " in lines[0]
    suggested = int(lines[0].rsplit("--port ", 1)[1])
    assert suggested != busy_port
    assert "ready" not in result.stdout and "serving" not in result.stdout


# --- 2. Ctrl-C -----------------------------------------------------------------------------------------------


def test_ctrl_c_in_any_command_exits_130_with_one_line(monkeypatch, tmp_path):
    from star1_hub.cli import app
    from star1_hub.hubserver.store import HubStore

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(HubStore, "collect_garbage", interrupted)
    (tmp_path / "blobs").mkdir()
    result = CliRunner().invoke(app, ["hub", "gc", "--data-dir", str(tmp_path)])
    assert result.exit_code == 130
    assert result.output.strip().splitlines() == ["interrupted (Ctrl-C)"]


def test_ctrl_c_mid_stage_names_the_cache_and_a_rerun_resumes(questions_repo, curate_repo, tmp_path):
    from star1_hub.testing.scripted_server import ScriptedServer
    from tests.plugins.curate import CURATE_QUESTIONS, StageResponder

    out, cache = curate_repo("interrupted"), tmp_path / "cache"
    args = ["curate", "classify", "--input", questions_repo, "--output", out, "--model", "scripted"]
    args += ["--cache-dir", str(cache), "--concurrency", "1"]
    # 0.15 s a reply: the Ctrl-C lands after 2 of 10 questions with >1 s of the stage left, and the re-run waits less
    with ScriptedServer(responder=StageResponder(), served_models=["scripted"], latency_s=0.15) as server:
        process = subprocess.Popen(
            [str(STAR1), *args, "--base-url", server.base_url],
            stderr=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 300  # a bound against a hang, not a timing assertion
            while server.request_count < 2 and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert process.poll() is None, "the stage ended before it could be interrupted"
            process.send_signal(signal.SIGINT)
            stdout, stderr = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
        sent_before = server.request_count
        assert process.returncode == 130, stderr
        assert "Traceback" not in stderr
        assert stderr.strip().splitlines()[-1] == (
            f"interrupted: finished requests are in the cache {cache}; re-run the same command to resume"
        )
        rerun = run_star1(*args, "--base-url", server.base_url)
        assert rerun.returncode == 0, rerun.stderr
        resent = server.request_count - sent_before
    assert resent < len(CURATE_QUESTIONS)  # what finished before Ctrl-C came from the cache


def test_ctrl_c_during_training_names_the_checkpoint_folder(monkeypatch, tmp_path):
    import star1_hub.train.sft as sft
    from star1_hub.cli import app

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sft, "run_sft", interrupted)
    recipe, output_dir = REPO_ROOT / "recipes" / "smoke" / "sft_full.yaml", tmp_path / "run"
    result = CliRunner().invoke(app, ["train", str(recipe), "--output_dir", str(output_dir)])
    assert result.exit_code == 130, result.output
    assert result.output.strip().splitlines()[-1] == (
        f"interrupted: checkpoints saved so far (if any) are in {output_dir}; re-run the same command to resume "
        "from the newest"
    )


# --- 3. one base class, its exit code ------------------------------------------------------------------------

# Exceptions the project defines that are NOT a user's mistake: internal signals and server-side errors.
INTERNAL_EXCEPTIONS = {
    "star1_hub.errors.UnparseableOutput",  # a model's bad reply: the engine records it as a row's failure
    "star1_hub.hubserver.errors.HubError",  # the local Hub server turns it into an HTTP status
    "star1_hub.hubserver.handler_base.LineTooLong",  # the local Hub server's request reader
    "star1_hub.teacher.transport.ResponseRefused",  # the transport's own signal, recorded as a row's failure
    "star1_hub.teacher.serve.StopRequested",  # SIGTERM/SIGHUP turned into an exception so cleanup runs
    # the Space app runs on its own (no star1_hub import there); star1_hub.leaderboard re-raises it as a Star1Error
    "star1_hub.space.app.LeaderboardNotFound",
}


def _project_exceptions() -> dict[str, type]:
    found: dict[str, type] = {}
    for module_info in pkgutil.walk_packages(star1_hub.__path__, "star1_hub."):
        name = module_info.name
        if name.endswith("__main__"):
            continue
        try:
            module = importlib.import_module(name)
        except ImportError:  # an optional extra that is not installed
            continue
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == name:
                found[f"{name}.{cls.__qualname__}"] = cls
    return found


def test_every_project_exception_is_a_star1_error_or_declared_internal():
    found = _project_exceptions()
    assert "star1_hub.teacher.serve.ServeError" in found and "star1_hub.ports.PortInUseError" in found
    neither = sorted(
        name for name, cls in found.items() if not issubclass(cls, Star1Error) and name not in INTERNAL_EXCEPTIONS
    )
    assert neither == [], f"derive these from star1_hub.errors.Star1Error or list them as internal: {neither}"
    wrongly = sorted(name for name in INTERNAL_EXCEPTIONS if issubclass(found[name], Star1Error))
    assert wrongly == []


def test_the_error_printer_knows_user_errors_by_class_not_by_module_name():
    from star1_hub.cli_errors import exit_code, explain

    class PluginError(Star1Error):  # defined outside star1_hub: still a user error
        pass

    class Crash(Star1Error):
        exit_code = 3

    assert explain(PluginError("the value 'x' is wrong\nuse 'y'")) == ["error: the value 'x' is wrong", "use 'y'"]
    assert exit_code(PluginError("x")) == 2 and exit_code(Crash("x")) == 3
    bug = type("Bug", (ValueError,), {"__module__": "star1_hub.curate.stage"})
    assert explain(bug("internal")) is None  # a star1_hub module alone no longer makes it the user's


def test_a_command_exits_with_the_error_class_exit_code(monkeypatch, tmp_path):
    from star1_hub.cli import app
    from star1_hub.hubserver.store import HubStore

    class RunFailed(Star1Error):
        exit_code = 1

    def failing(*args, **kwargs):
        raise RunFailed("the run failed: 3 rows refused")

    monkeypatch.setattr(HubStore, "collect_garbage", failing)
    (tmp_path / "blobs").mkdir()
    result = CliRunner().invoke(app, ["hub", "gc", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == ["error: the run failed: 3 rows refused"]


# --- 4. read vs write token, the price hint, quiet library noise -------------------------------------------


def test_a_refused_token_on_a_read_does_not_ask_for_write_access(local_hub, tmp_path):
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    from star1_hub.cli_errors import explain

    repo = f"cli-behaviour/private-{uuid.uuid4().hex[:8]}"
    HfApi().create_repo(repo, repo_type="dataset", private=True)
    bad = HfApi(token="hf_not-a-valid-token")
    with pytest.raises(HfHubHTTPError) as read:
        bad.dataset_info(repo)
    with pytest.raises(HfHubHTTPError) as write:
        bad.create_repo(f"cli-behaviour/new-{uuid.uuid4().hex[:8]}", repo_type="dataset")
    read_lines, write_lines = explain(read.value), explain(write.value)
    assert read_lines is not None and write_lines is not None
    assert "write" not in " ".join(read_lines) and "read access" in read_lines[-1], read_lines
    assert "write access" in write_lines[-1], write_lines


def test_a_missing_price_hint_names_the_cli_flags_not_the_python_api(caplog):
    from star1_hub.teacher.accounting import price_for

    with caplog.at_level("INFO", logger="star1_hub.teacher.accounting"):
        assert price_for(f"unlisted-{uuid.uuid4().hex[:6]}") == (0.0, 0.0)
    assert "--price-in/--price-out" in caplog.text and "EngineConfig" not in caplog.text


NOISE = """
import logging, sys, warnings
from star1_hub.logs import configure_logging
configure_logging(sys.argv[1] == "verbose")
from huggingface_hub import ModelCard
ModelCard("no metadata here")  # huggingface_hub: "Repo card metadata block was not found"
ModelCard("no metadata here")
logging.getLogger("DeepSpeed").warning("Setting accelerator to CPU. If you have GPU ...")  # DeepSpeed's own words
warnings.warn("this argument will change", FutureWarning)
logging.getLogger("star1_hub.demo").warning("a warning of ours")
"""


@pytest.mark.parametrize("mode", ["quiet", "verbose"])
def test_library_noise_a_user_cannot_act_on_is_quiet_without_v(mode):
    result = subprocess.run([sys.executable, "-c", NOISE, mode], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "a warning of ours" in output  # our own warnings always speak
    noise = ("Repo card metadata block was not found", "Setting accelerator to", "this argument will change")
    if mode == "quiet":
        assert not [line for line in noise if line in output], output
    else:
        assert all(line in output for line in noise), output


# --- 5. the command table is lazy ----------------------------------------------------------------------------

LAZY = """
import sys
import typer
import typer.main
from typer.testing import CliRunner
from star1_hub.cli import app
loaded_at_import = sorted(m for m in sys.modules if m.startswith(("star1_hub.curate", "numpy", "pydantic")))
result = CliRunner().invoke(app, ["hub", "--help"])
assert result.exit_code == 0, result.output
assert "serve" in result.output and "gc" in result.output, result.output
print(loaded_at_import)
print(sorted(m for m in sys.modules if m.startswith(("star1_hub.curate", "star1_hub.evaluate", "star1_hub.space"))))
"""


def test_a_command_loads_only_its_own_area_and_the_help_lists_every_area():
    result = subprocess.run([sys.executable, "-c", LAZY], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    at_import, after_hub = result.stdout.splitlines()
    assert at_import == "[]", f"importing star1_hub.cli loaded {at_import}"
    assert after_hub == "[]", f"`star1 hub --help` loaded other areas: {after_hub}"

    from star1_hub.cli import _COMMANDS, app

    listing = CliRunner().invoke(app, ["--help"], terminal_width=200)
    assert listing.exit_code == 0, listing.output
    for name, module_name in _COMMANDS.items():
        assert f" {name} " in listing.output, f"`star1 --help` does not list {name}"
        module = importlib.import_module(module_name)
        area = typer.Typer()
        module.register(area)
        group = typer.main.get_group(area)
        assert name in group.commands, f"{module_name} does not register {name!r}"
        help_line = (group.commands[name].help or "").split(".")[0].split("`")[0].strip()
        assert help_line[:30] in " ".join(listing.output.split()), f"the help of {name} is missing"
