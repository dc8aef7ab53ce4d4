"""Fixtures shared by every area: reference data, the embedded model, the session Hub."""

from __future__ import annotations

from pathlib import Path

import pytest

from star1_hub.home import shared_data_dir


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only reference data folder (../shared/data); skips the test when it is absent."""
    path = shared_data_dir()
    if path is None:
        pytest.skip("reference data ../shared/data is absent (set STAR1_SHARED_DATA); this test needs it")
    return path


@pytest.fixture(scope="session")
def embedded_model() -> Path:
    """The embedded SmolLM2-135M-Instruct checkpoint directory (materialised once per machine)."""
    from star1_hub.embedded import embedded_model_path

    return embedded_model_path()


@pytest.fixture(scope="session")
def local_hub():
    """The session's local Hub server (already running; the client env points at it)."""
    from tests.conftest import SESSION_HUB

    return SESSION_HUB
