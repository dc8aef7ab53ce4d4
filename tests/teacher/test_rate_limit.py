"""Rate limits: the RPM bucket paces requests at R/min and never trips a server that enforces R."""

from __future__ import annotations

import asyncio

from star1_hub.teacher import TeacherEngine
from star1_hub.teacher.limits import TokenBucket, backoff_delay, parse_retry_after
from star1_hub.testing.scripted_server import ScriptedServer
from tests.teacher.helpers import fast_config, questions


def test_rpm_limit_is_met_within_5_percent_with_zero_429_from_an_enforcing_server():
    # 30 requests/s for ~6 s: the 5 % tolerance is 0.2 s of arrivals in a 4 s window, as it was at 20/s for 10 s
    rpm, n = 1800, 210
    with ScriptedServer(rpm_limit=rpm) as server:  # the server allows at most one second's worth in a burst
        engine = TeacherEngine(fast_config(server.base_url, rpm=rpm, concurrency=64, max_attempts=1))
        results = engine.run(questions(n))
        arrivals = sorted(server.arrivals())
        outcomes = server.outcomes()
    assert outcomes["rpm_429"] == 0 and all(r.ok for r in results)
    burst = int(TokenBucket(rpm).capacity)
    steady = arrivals[burst:]  # after the initial burst the bucket admits exactly R/60 per second
    achieved_per_minute = (len(steady) - 1) / (steady[-1] - steady[0]) * 60
    assert abs(achieved_per_minute - rpm) / rpm < 0.05, f"achieved {achieved_per_minute:.0f}/min for R={rpm}"
    per_window = round(rpm / 60 * 4.0)  # requests the limit admits in 4 s
    for start in range(0, len(steady) - per_window, 15):  # and in every 4 s window, not just on average
        window = [t for t in steady if steady[start] <= t < steady[start] + 4.0]
        assert abs(len(window) - per_window) <= 0.05 * per_window, f"{len(window)} requests in a 4 s window at R={rpm}"


def test_without_the_limiter_the_enforcing_server_does_answer_429():
    with ScriptedServer(rpm_limit=600) as server:  # proves the server-side check is live
        engine = TeacherEngine(fast_config(server.base_url, concurrency=32, max_attempts=1))
        results = engine.run(questions(60))
        assert server.outcomes()["rpm_429"] > 0
        assert {r.error for r in results} == {None, "rate_limited"}


def test_tpm_bucket_charges_estimates_and_refunds_the_difference():
    async def scenario():
        bucket = TokenBucket(per_minute=6000, capacity=100)
        await bucket.acquire(80)
        assert bucket.tokens < 21
        bucket.adjust(+50)  # the response used 50 tokens fewer than estimated
        assert 69 < bucket.tokens <= 72

    asyncio.run(scenario())


def test_backoff_grows_with_jitter_and_honours_retry_after():
    assert all(0 <= backoff_delay(1, 1.0, 60) <= 1.0 for _ in range(50))
    assert max(backoff_delay(5, 1.0, 60) for _ in range(200)) > 8.0
    assert all(backoff_delay(9, 1.0, 5.0) <= 5.0 for _ in range(50))
    assert 2.0 <= backoff_delay(1, 0.01, 60, retry_after_s=2.0) <= 2.2
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
