"""Re-run of a finished 41,000-request stage: every answer comes from the cache, 0 requests are sent.

    .venv/bin/python -m bench.teacher_resume [--small]

The cache is first filled with 41,000 successful responses (by default written straight into the cache, as a
finished stage leaves it; `--populate engine` sends them through the engine to the scripted server instead,
which takes minutes on two cores). Then a fresh TeacherEngine re-runs all 41,000 requests against the live
scripted server, and the bench prints the wall time, the requests the server received during the re-run, and
checks every result is the cached answer in input order. Target: 0 sent, ≤ 10 s. The cache is filled with the
engine's own request keys, so a change to the key (it gained the endpoint URL) cannot make the bench stale.
`--small` (seconds, run by tests/test_bench_small.py): 2,000 requests.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

from star1_hub.teacher import ChatRequest, EngineConfig, TeacherEngine
from star1_hub.teacher.cache import RequestCache
from star1_hub.testing.scripted_server import ScriptedServer, default_responder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=41_000)
    parser.add_argument("--populate", choices=["direct", "engine"], default="direct")
    parser.add_argument("--small", action="store_true", help="seconds, not minutes: 2,000 requests")
    args = parser.parse_args()
    if args.small:
        args.requests = 2_000
    logging.basicConfig(level=logging.WARNING)
    requests = [
        ChatRequest(
            messages=[{"role": "user", "content": f"prompt number {i}: a mild placeholder"}],
            params={"temperature": 0, "max_tokens": 1024},
        )
        for i in range(args.requests)
    ]
    with ScriptedServer(process=True) as server, tempfile.TemporaryDirectory() as tmp:
        config = EngineConfig(
            base_url=server.base_url,
            model="bench",
            api_key="bench",
            concurrency=128,
            cache_dir=Path(tmp),
            progress=False,
            stage="resume",
        )
        started = time.perf_counter()
        if args.populate == "engine":
            TeacherEngine(config).run(requests)
        else:
            cache = RequestCache(Path(tmp))
            keyer = TeacherEngine(config)  # its own body and key for each request, exactly what a re-run looks up
            rows = []
            for position, request in enumerate(requests):
                body, key = keyer._prepare(position, request)
                text = default_responder(body)
                rows.append(
                    (
                        key,
                        "resume",
                        "bench",
                        {
                            "text": text,
                            "finish_reason": "stop",
                            "usage": {"prompt_tokens": 12, "completion_tokens": len(text.split())},
                        },
                    )
                )
            cache.put_results(rows)
            cache.close()
        populate_s = time.perf_counter() - started
        sent_before = server.request_count

        engine = TeacherEngine(config)
        started = time.perf_counter()
        results = engine.run(requests)
        rerun_s = time.perf_counter() - started
        sent = server.request_count - sent_before

    expected = [default_responder({"messages": r.messages}) for r in requests]
    wrong = sum(r.text != want for r, want in zip(results, expected, strict=True))
    not_cached = sum(not (r.cached and r.ok) for r in results)
    if wrong or not_cached or sent:
        raise SystemExit(
            f"re-run: {not_cached:,} of {len(requests):,} results not from the cache, {wrong:,} differ from the cached "
            f"answers, {sent:,} requests sent to the server (expected 0, 0, 0): the cache was filled with keys the "
            "engine does not look up"
        )
    acc = engine.accounting.to_dict()
    print(f"populated {args.requests:,} cached results ({args.populate}) in {populate_s:.1f} s")
    print(
        f"re-run: {args.requests:,} requests, {acc['cached_hits']:,} cache hits, {sent} sent to the server, "
        f"{rerun_s:.2f} s wall ({args.requests / rerun_s:,.0f} requests/s)"
    )
    print(f"requests_sent={sent} wall_s={rerun_s:.2f}")


if __name__ == "__main__":
    main()
