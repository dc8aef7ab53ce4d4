"""The engine against the scripted server: order, faults, retries, Retry-After, duplicates, bad requests."""

from __future__ import annotations

import pytest

from star1_hub.teacher import FAILURE_REASONS, TeacherEngine
from star1_hub.testing.scripted_server import FAULT_KINDS, ScriptedServer
from tests.teacher.helpers import echo, fast_config, questions

# Every behaviour holds for both transports (the openai SDK and the lean aiohttp session).
pytestmark = pytest.mark.parametrize("transport", ["openai", "aiohttp"])


def test_results_come_back_in_input_order_with_usage_and_accounting(transport):
    with ScriptedServer(latency_s=0.005, responder=echo) as server:
        engine = TeacherEngine(fast_config(server.base_url, transport=transport, concurrency=32))
        results = engine.run(questions(200))
    assert [r.text for r in results] == [f"echo: q{i}" for i in range(200)]
    assert all(r.ok and r.finish_reason == "stop" and r.attempts == 1 and not r.cached for r in results)
    assert all(r.usage["completion_tokens"] == 2 and r.usage["prompt_tokens"] > 0 for r in results)
    acc = engine.accounting.to_dict()
    assert acc["requests"] == acc["requests_sent"] == acc["succeeded"] == 200 == server.request_count
    assert acc["completion_tokens"] == 400 and acc["failed"] == 0


def _run_with_faults(faults: dict[str, float], transport: str, n: int = 150):
    with ScriptedServer(
        latency_s=0.002, faults=faults, responder=echo, seed=7, retry_after_s=0.02, hang_s=10
    ) as server:
        # a hang ends as a timeout after 0.5 s as it would after 300 s; the answers that do come take milliseconds
        engine = TeacherEngine(
            fast_config(server.base_url, transport=transport, timeout_s=0.5, concurrency=24, output_retries=2)
        )
        results = engine.run(questions(n))
        return results, engine.accounting.to_dict(), server.request_count, server.outcomes()


def _check_every_request_accounted_for(results, acc, sent, n):
    assert len(results) == n
    for i, result in enumerate(results):
        if result.ok:
            assert result.text == f"echo: q{i}", f"result {i} holds another request's answer"
        else:
            assert result.error in FAILURE_REASONS and result.error_detail
    assert acc["succeeded"] + acc["failed"] == n
    # Every attempt that reached the server was counted by the engine (on a loaded machine an attempt can time out
    # before the server reads it, so the engine may count a few more than the server saw).
    assert sent <= acc["requests_sent"] == sum(r.attempts for r in results)


# Faults that make an attempt fail and are retried within the run (bad_usage is an answer; auth and huge are not
# retried; huge has its own tests in test_hostile_replies.py).
RETRIED_FAULTS = tuple(kind for kind in FAULT_KINDS if kind not in ("bad_usage", "auth", "huge"))
MIXED_FAULTS = tuple(kind for kind in FAULT_KINDS if kind != "huge")


@pytest.mark.parametrize("kind", RETRIED_FAULTS)
def test_each_fault_kind_at_20_percent_ends_succeeded_or_failed_with_reason(kind, transport):
    results, acc, sent, outcomes = _run_with_faults({kind: 0.2}, transport)
    assert outcomes[kind] > 10, "the fault was not injected often enough for the test to mean anything"
    _check_every_request_accounted_for(results, acc, sent, 150)
    assert acc["retries"] >= outcomes[kind] - acc["failed"] * 3  # faulted attempts were retried
    assert acc["succeeded"] >= 140  # 20 % faults with retries: nearly everything gets through


def test_all_fault_kinds_mixed_at_20_percent(transport):
    faults = {kind: 0.2 / len(MIXED_FAULTS) for kind in MIXED_FAULTS}
    results, acc, sent, outcomes = _run_with_faults(faults, transport, n=240)
    assert all(outcomes[kind] > 0 for kind in MIXED_FAULTS)
    _check_every_request_accounted_for(results, acc, sent, 240)


def test_persistent_faults_fail_with_their_reason_after_bounded_attempts(transport):
    cases = {
        "server_error": "server_error",
        "malformed": "server_error",
        "hang": "timeout",
        "rate_limit": "rate_limited",
        "length": "length",
        "content_filter": "content_filter",
        "not_chat": "server_error",
        "garbage": "server_error",
    }
    for kind, reason in cases.items():
        with ScriptedServer(faults={kind: 1.0}, responder=echo, retry_after_s=0.01, hang_s=10) as server:
            engine = TeacherEngine(
                fast_config(
                    server.base_url,
                    transport=transport,
                    timeout_s=0.2 if kind == "hang" else 10.0,
                    max_attempts=3,
                    output_retries=1,
                )
            )
            results = engine.run(questions(4))
            expected_attempts = 2 if kind in ("length", "content_filter") else 3
            assert [r.error for r in results] == [reason] * 4, kind
            assert all(r.attempts == expected_attempts for r in results), kind
            assert server.request_count == 4 * expected_attempts, kind
            assert engine.accounting.failed_by_reason[reason] == 4


def test_unreadable_usage_is_an_answer_with_zero_tokens_not_a_crash(transport):
    with ScriptedServer(faults={"bad_usage": 0.5}, responder=echo, seed=1) as server:
        engine = TeacherEngine(fast_config(server.base_url, transport=transport))
        results = engine.run(questions(20))
        assert server.outcomes()["bad_usage"] > 3
    assert [r.text for r in results] == [f"echo: q{i}" for i in range(20)]
    assert sum(r.usage["completion_tokens"] == 0 for r in results) == server.outcomes()["bad_usage"]


def test_a_refused_key_fails_as_auth_without_retrying(transport):
    with ScriptedServer(faults={"auth": 1.0}, responder=echo) as server:
        engine = TeacherEngine(fast_config(server.base_url, transport=transport, max_attempts=4))
        results = engine.run(questions(3))
        assert server.request_count == 3
    assert [r.error for r in results] == ["auth"] * 3 and all(r.attempts == 1 for r in results)
    assert all("api_key_env" in r.error_detail for r in results)


def test_truncated_output_keeps_its_text_for_inspection(transport):
    with ScriptedServer(faults={"length": 1.0}, responder=echo) as server:
        engine = TeacherEngine(fast_config(server.base_url, transport=transport, output_retries=0))
        (result,) = engine.run(questions(1))
    assert result.error == "length" and result.finish_reason == "length" and result.text == "echo"


def test_retry_after_is_honoured(transport):
    # 0.2 s: far above the 1 ms back-off the engine would wait if it ignored Retry-After
    with ScriptedServer(faults={"rate_limit": 1.0}, responder=echo, retry_after_s=0.2) as server:
        engine = TeacherEngine(fast_config(server.base_url, transport=transport, max_attempts=3, backoff_base_s=0.001))
        results = engine.run(questions(3))
        arrivals = [server.arrivals(server.key_of(r.messages)) for r in questions(3)]
    assert [r.error for r in results] == ["rate_limited"] * 3
    for times in arrivals:
        assert len(times) == 3
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert min(gaps) >= 0.2, f"retried after {min(gaps):.3f} s although the server said Retry-After: 0.2"


def test_bad_request_is_not_retried(transport):
    with ScriptedServer() as server:
        engine = TeacherEngine(
            fast_config(server.base_url.replace("/v1", "/v2"), transport=transport)
        )  # unknown route → 404
        results = engine.run(questions(2))
        assert [r.error for r in results] == ["bad_request"] * 2 and server.request_count == 0
        assert all(r.attempts == 1 for r in results)


def test_duplicate_requests_are_sent_once_and_answered_at_every_position(transport):
    with ScriptedServer(responder=echo) as server:
        engine = TeacherEngine(fast_config(server.base_url, transport=transport))
        requests = questions(3) + questions(3)
        results = engine.run(requests)
        assert server.request_count == 3
    assert [r.text for r in results] == [f"echo: q{i}" for i in (0, 1, 2, 0, 1, 2)]
    assert results[0] is not results[3]
    assert engine.accounting.succeeded == 6


def test_connection_refused_is_a_connection_failure(transport):
    from star1_hub.teacher.serve import free_port

    engine = TeacherEngine(fast_config(f"http://127.0.0.1:{free_port()}/v1", transport=transport, max_attempts=2))
    (result,) = engine.run(questions(1))
    assert result.error == "connection" and result.attempts == 2


def test_bad_requests_are_rejected_naming_the_position(transport):
    from star1_hub.teacher import ChatRequest

    engine = TeacherEngine(fast_config("http://127.0.0.1:9/v1", transport=transport))
    with pytest.raises(TypeError, match="request 1 is a dict"):
        engine.run([*questions(1), {"messages": []}])
    with pytest.raises(ValueError, match="request 0 .*non-empty list"):
        engine.run([ChatRequest(messages=[], metadata={"id": "row-7"})])
    with pytest.raises(ValueError, match="request 0 .*row-8.*JSON-serialisable"):
        engine.run(
            [
                ChatRequest(
                    messages=[{"role": "user", "content": "x"}], params={"seed": {1, 2}}, metadata={"id": "row-8"}
                )
            ]
        )
