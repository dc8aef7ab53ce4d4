"""Teacher engine throughput against the scripted server (200 ms latency, no faults).

    .venv/bin/python -m bench.teacher_throughput [--small]

For each transport (`openai` = the openai SDK, the engine's default; `aiohttp` = the lean session, the fast
lane for local servers) and each concurrency level, runs ~10 rounds of requests through TeacherEngine (with its
sqlite cache, as a stage would) and reports achieved req/s ÷ ideal (concurrency ÷ latency), with the CPU the
client and the server spent per request. Then measures a sequential one-request-at-a-time client (the original
pipeline's method) on the same server. The scripted server runs in a child process so client and server each
can get a core. The last line is `ratio_to_ideal=<x> speedup_vs_sequential=<y>` for the LAST transport listed:
x is its worst ratio over the levels whose ideal rate is ≤ 500 req/s (the target range), y its best rate ÷ the
sequential rate. `--small` (seconds, run by tests/test_bench_small.py): levels 1 and 32, 3 rounds, 5 sequential
requests, 50 ms latency (unless --latency is given): the same measurement with a quarter of the waiting.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

from star1_hub.teacher import ChatRequest, EngineConfig, TeacherEngine
from star1_hub.testing.scripted_server import ScriptedServer


def _requests(n: int, prefix: str) -> list[ChatRequest]:
    return [
        ChatRequest(messages=[{"role": "user", "content": f"{prefix} {i}"}], params={"max_tokens": 32})
        for i in range(n)
    ]


def _engine(base_url: str, concurrency: int, cache_dir: Path, transport: str) -> TeacherEngine:
    config = EngineConfig(
        base_url=base_url,
        model="bench",
        api_key="bench",
        concurrency=concurrency,
        timeout_s=30,
        cache_dir=cache_dir,
        progress=False,
        stage="bench",
        transport=transport,
    )
    return TeacherEngine(config)


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sequential_rate(base_url: str, n: int) -> float:
    """Requests/s of a plain synchronous OpenAI client sending one request at a time."""
    import openai

    client = openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0)
    started = time.perf_counter()
    for request in _requests(n, "sequential"):
        client.chat.completions.create(model="bench", messages=request.messages, max_tokens=32)
    elapsed = time.perf_counter() - started
    client.close()
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=None, help="seconds per reply (default 0.2; 0.05 --small)")
    parser.add_argument("--levels", default="1,64,100,256", help="comma-separated concurrency levels")
    parser.add_argument("--transports", default="openai,aiohttp", help="comma-separated; the last one is summarised")
    parser.add_argument("--rounds", type=int, default=10, help="requests per level = concurrency × rounds")
    parser.add_argument("--sequential", type=int, default=20, help="requests of the sequential client")
    parser.add_argument(
        "--small", action="store_true", help="seconds, not minutes: levels 1,32, 3 rounds, 5 sequential, 50 ms latency"
    )
    args = parser.parse_args()
    if args.small:
        args.levels, args.rounds, args.sequential = "1,32", 3, 5
    if args.latency is None:
        args.latency = 0.05 if args.small else 0.2
    logging.basicConfig(level=logging.WARNING)
    levels = [int(x) for x in args.levels.split(",")]
    transports = args.transports.split(",")
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    rows = []
    with ScriptedServer(latency_s=args.latency, process=True) as server, tempfile.TemporaryDirectory() as tmp:
        for transport in transports:
            warm = _engine(server.base_url, 8, Path(tmp) / f"warm-{transport}", transport)
            warm.run(_requests(16, f"warm-up {transport}"))  # imports and first connections, not timed
            for concurrency in levels:
                n = max(20, concurrency * args.rounds)
                engine = _engine(server.base_url, concurrency, Path(tmp) / f"{transport}-{concurrency}", transport)
                requests = _requests(n, f"{transport} c{concurrency}")
                server_cpu, started, cpu = _cpu_s(server._child.pid), time.perf_counter(), time.process_time()
                results = engine.run(requests)
                elapsed = time.perf_counter() - started
                client_ms = (time.process_time() - cpu) / n * 1000
                server_ms = (_cpu_s(server._child.pid) - server_cpu) / n * 1000
                assert all(r.ok for r in results) and engine.accounting.requests_sent == n
                achieved, ideal = n / elapsed, concurrency / args.latency
                rows.append(
                    (transport, concurrency, n, elapsed, achieved, ideal, achieved / ideal, client_ms, server_ms)
                )
        seq_rate = sequential_rate(server.base_url, args.sequential)
    load_after = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"scripted server latency {args.latency * 1000:.0f} ms, no faults; engine with sqlite cache")
    print(
        f"load average before / after: {load_before} / {load_after} on {os.cpu_count()} CPUs "
        "(other work on the machine depresses these figures)"
    )
    print(
        f"{'transport':>9} {'concurrency':>11} {'requests':>8} {'wall_s':>7} {'req/s':>8} {'ideal':>7} {'ratio':>6} "
        f"{'client_cpu_ms/req':>17} {'server_cpu_ms/req':>17}"
    )
    for transport, concurrency, n, elapsed, achieved, ideal, ratio, client_ms, server_ms in rows:
        print(
            f"{transport:>9} {concurrency:>11} {n:>8} {elapsed:>7.2f} {achieved:>8.1f} {ideal:>7.0f} {ratio:>6.3f} "
            f"{client_ms:>17.2f} {server_ms:>17.2f}"
        )
    print(
        f"sequential client (openai SDK, one request at a time): {args.sequential} requests, {seq_rate:.2f} req/s "
        f"(ideal {1 / args.latency:.1f})"
    )
    for transport in transports:
        mine = [row for row in rows if row[0] == transport]
        top = max(mine, key=lambda row: row[1])
        print(
            f"{transport}: best {max(r[4] for r in mine):.1f} req/s = {max(r[4] for r in mine) / seq_rate:.1f}x "
            f"sequential; client CPU {top[7]:.2f} ms/request -> ~{1000 / top[7]:.0f} req/s per free core"
        )
    summary = [row for row in rows if row[0] == transports[-1]]
    in_target = [row[6] for row in summary if row[5] <= 500] or [row[6] for row in summary]
    best = max(row[4] for row in summary)
    print(
        f"summary for transport {transports[-1]!r}: worst ratio over levels with ideal <= 500 req/s, best rate / "
        "sequential rate"
    )
    print(f"ratio_to_ideal={min(in_target):.3f} speedup_vs_sequential={best / seq_rate:.1f}")


if __name__ == "__main__":
    main()
