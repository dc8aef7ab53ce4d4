"""Hostile replies: a body that never ends is read only up to a bound, and fails its row with a clear reason."""

from __future__ import annotations

import tracemalloc

import pytest

from star1_hub.teacher import EngineConfig, TeacherEngine
from star1_hub.teacher.transport import MAX_RESPONSE_BYTES, ResponseRefused, check_head
from star1_hub.testing.scripted_server import ScriptedServer
from tests.teacher.helpers import echo, fast_config, questions

MiB = 2**20


@pytest.mark.parametrize("transport", ["openai", "aiohttp"])
def test_a_64_mib_reply_is_read_only_up_to_the_limit_and_fails_its_row(transport):
    limit = 2 * MiB
    with ScriptedServer(faults={"huge": 1.0}, huge_bytes=64 * MiB) as server:
        engine = TeacherEngine(
            fast_config(server.base_url, transport=transport, max_response_bytes=limit, timeout_s=30.0, concurrency=4)
        )
        engine.run(questions(1, prefix="warm-up"))  # imports and connects outside the measurement
        tracemalloc.start()
        try:
            results = engine.run(questions(4))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # Unbounded, one such reply costs well over 64 MiB (the body, then its text); four of them several times that.
    assert peak < 40 * MiB, f"reading hostile replies peaked at {peak / MiB:.0f} MiB of Python memory"
    for result in results:
        assert result.error == "server_error"
        assert "2,097,152-byte limit" in result.error_detail and "max_response_bytes" in result.error_detail
        assert result.attempts == 1  # not retried within the run: the same gateway sends the same body
    assert engine.accounting.failed_by_reason["server_error"] == 5


@pytest.mark.parametrize("transport", ["openai", "aiohttp"])
def test_huge_replies_fail_their_rows_only(transport):
    with ScriptedServer(faults={"huge": 0.3}, huge_bytes=8 * MiB, responder=echo) as server:
        engine = TeacherEngine(fast_config(server.base_url, transport=transport, max_response_bytes=MiB))
        results = engine.run(questions(30))
        huge = server.outcomes()["huge"]
    failed = [r for r in results if not r.ok]
    assert huge > 0 and len(failed) == huge  # every huge reply failed one row (first attempts only: no retries)
    assert all(r.error == "server_error" and "byte limit" in r.error_detail for r in failed)
    assert all(r.text == f"echo: q{i}" for i, r in enumerate(results) if r.ok)
    assert engine.accounting.succeeded + sum(engine.accounting.failed_by_reason.values()) == 30


def test_declared_length_above_the_limit_and_compressed_bodies_are_refused_before_reading():
    with pytest.raises(ResponseRefused, match="declares 300,000,000 bytes"):
        check_head({"content-length": "300000000"}, 16 * MiB)
    with pytest.raises(ResponseRefused, match=r"compressed \(gzip\)"):
        check_head({"content-encoding": "gzip", "content-length": "100"}, 16 * MiB)
    check_head({"content-length": "1000", "content-encoding": "identity"}, 16 * MiB)  # an ordinary reply passes


def test_the_limit_is_validated_and_defaults_to_the_transport_bound():
    assert (
        EngineConfig(base_url="http://127.0.0.1:8000/v1", model="m").max_response_bytes
        == MAX_RESPONSE_BYTES
        == 8 * MiB
    )
    with pytest.raises(ValueError, match="max_response_bytes"):
        fast_config("http://127.0.0.1:1/v1", max_response_bytes=0)
