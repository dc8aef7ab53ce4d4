"""`star1 serve --model org/name` on first use (issue 23 item 2): a Hub model that is not in the local cache is
downloaded from HF_ENDPOINT first (one line says so), then vLLM starts OFFLINE on the downloaded snapshot; with
offline asked for (HF_HUB_OFFLINE=1 or --offline) and nothing cached, one line names the model and exit code is 2.

The model is the embedded SmolLM2's config and tokenizer files pushed to the session's local Hub (the weights are
not needed: vLLM is a stand-in interpreter that records how it was started and serves the scripted server).
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from star1_hub.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
STAR1 = Path(sys.executable).with_name("star1")
MODEL_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json")


@pytest.fixture(scope="module")
def hub_model(local_hub, embedded_model, tmp_path_factory) -> str:
    """A small model repo on the session Hub: the embedded model's config and tokenizer files."""
    from huggingface_hub import HfApi

    folder = tmp_path_factory.mktemp("hub-model")
    for name in MODEL_FILES:
        (folder / name).write_bytes((embedded_model / name).read_bytes())
    repo = f"serve-tests/smollm2-{uuid.uuid4().hex[:8]}"
    api = HfApi()
    api.create_repo(repo)
    api.upload_folder(repo_id=repo, folder_path=folder)
    return repo


def _fake_vllm(tmp_path: Path) -> Path:
    """A stand-in vLLM interpreter: writes its argv and HF_HUB_OFFLINE to launch.json, then serves the scripted
    OpenAI server on the --port it is given."""
    record = tmp_path / "launch.json"
    fake = tmp_path / "fake-python"
    fake.write_text(
        "#!/bin/sh\n"
        f'{sys.executable} -c \'import json, os, sys; json.dump({{"argv": sys.argv[1:], "offline": os.environ.get("HF_HUB_OFFLINE")}}, open("{record}", "w"))\' "$@"\n'
        'while [ "$1" != "--port" ]; do shift; done\n'
        f'PYTHONPATH={REPO_ROOT} exec {sys.executable} -m star1_hub.testing.scripted_server --port "$2"\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return fake


def _env(tmp_path: Path, hf_home: Path, **extra: str) -> dict[str, str]:
    """The session's Hub env with its own (empty at first) Hub cache under `hf_home`."""
    return {
        **os.environ,
        "STAR1_SERVE_PYTHON": str(_fake_vllm(tmp_path)),
        "HF_HOME": str(hf_home),
        "HF_HUB_CACHE": str(hf_home / "hub"),
        "STAR1_HOME": str(tmp_path / "star1-home"),
        **extra,
    }


def _serve_until_ready(args: list[str], env: dict[str, str]) -> str:
    """Run `star1 serve ARGS` until it says ready, stop it with SIGTERM, return everything it printed."""
    process = subprocess.Popen(
        [str(STAR1), "serve", *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if "vLLM ready:" in line:
                process.send_signal(signal.SIGTERM)
                break
        rest = process.communicate(timeout=120)[0]
    finally:
        if process.poll() is None:
            process.kill()
    output = "".join(lines) + rest
    assert "vLLM ready:" in output, output
    assert process.returncode == 0, output
    return output


def test_a_hub_model_not_in_the_cache_is_downloaded_then_served_offline_from_the_snapshot(hub_model, tmp_path):
    hf_home = tmp_path / "hf-home"
    env = _env(tmp_path, hf_home)
    output = _serve_until_ready(["--model", hub_model, "--port", str(free_port()), "--max-model-len", "2048"], env)

    downloading = [line for line in output.splitlines() if "downloading" in line]
    assert len(downloading) == 1, output
    assert hub_model in downloading[0] and os.environ["HF_ENDPOINT"] in downloading[0]
    launch = json.loads((tmp_path / "launch.json").read_text())
    snapshot = Path(launch["argv"][launch["argv"].index("--model") + 1])
    assert snapshot.is_relative_to(hf_home / "hub") and (snapshot / "config.json").is_file()
    assert all((snapshot / name).is_file() for name in MODEL_FILES)
    assert launch["offline"] == "1"  # vLLM itself never reaches the network
    served = launch["argv"][launch["argv"].index("--served-model-name") + 1]
    assert served == hub_model  # clients keep asking for the Hub id

    again = _serve_until_ready(["--model", hub_model, "--port", str(free_port()), "--max-model-len", "2048"], env)
    assert "downloading" not in again  # cached now: nothing is fetched twice


@pytest.mark.parametrize("how", ["HF_HUB_OFFLINE=1", "--offline"])
def test_offline_with_nothing_cached_is_one_line_naming_the_model_and_exit_2(hub_model, tmp_path, how):
    env = _env(tmp_path, tmp_path / "empty-hf-home", **({"HF_HUB_OFFLINE": "1"} if how != "--offline" else {}))
    args = ["serve", "--model", hub_model, "--port", str(free_port()), "--max-model-len", "2048"]
    args += ["--offline"] if how == "--offline" else []
    result = subprocess.run([str(STAR1), *args], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"model {hub_model!r} is not in the local Hub cache" in lines[0] and how in lines[0]
    assert not (tmp_path / "launch.json").exists()  # vLLM was never started


def test_a_model_missing_on_the_hub_is_one_line_and_exit_2(local_hub, tmp_path):
    missing = f"serve-tests/absent-{uuid.uuid4().hex[:8]}"
    env = _env(tmp_path, tmp_path / "hf-home")
    args = ["serve", "--model", missing, "--port", str(free_port()), "--max-model-len", "2048"]
    result = subprocess.run([str(STAR1), *args], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 2, result.stderr
    assert missing in result.stderr and "not found" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2
    assert not (tmp_path / "launch.json").exists()
