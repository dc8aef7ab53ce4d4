"""Fixtures shared by every area: the embedded model, the session Hub (reference data: `tests/conftest.py`)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def embedded_model() -> Path:
    """The embedded SmolLM2-135M-Instruct checkpoint directory (materialised once per machine)."""
    from star1_hub.embedded import embedded_model_path

    return embedded_model_path()


@pytest.fixture(scope="session")
def local_hub():
    """The session's local Hub server (running; the client env points at it): `.endpoint`, `.token`, `.data_dir`."""
    from tests.conftest import SESSION_HUB

    return SESSION_HUB.wait()
