"""python -m bench.hub_commit [--sizes 5000 10000 20000] [--layout nested|flat] [--small]

Times one raw NDJSON commit of N small inline files against a fresh local Hub (its own process), then a one-file
commit on top of that tree, and counts the tree bytes each commit stored. The store applies a commit's N
operations with copy-on-write folders (O(N log N)) and writes only the folders a commit changes, so the one-file
commit after N files stays small and fast. Last line: `files=<N> commit_s=<t> next_commit_s=<t>` for the largest N,
with the one-file commit's time over the N-file commit's. `--small` (seconds, run by tests/test_bench_small.py):
N = 300 and 600.
"""

from __future__ import annotations

import argparse
import base64
import json
import time
import uuid
from pathlib import Path

import httpx

from star1_hub.hubserver.testing import LocalHub


def _body(paths: list[str], tag: str) -> bytes:
    lines = [json.dumps({"key": "header", "value": {"summary": f"{len(paths)} files", "description": ""}})]
    for number, path in enumerate(paths):
        content = base64.b64encode(f"{tag}-{number}\n".encode()).decode()
        lines.append(json.dumps({"key": "file", "value": {"path": path, "content": content, "encoding": "base64"}}))
    return ("\n".join(lines) + "\n").encode()


def _tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*.json")) if folder.is_dir() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 10000, 20000])
    parser.add_argument("--layout", choices=("nested", "flat"), default="nested")
    parser.add_argument("--small", action="store_true", help="seconds, not minutes: N = 300 and 600")
    args = parser.parse_args()
    if args.small:
        args.sizes = [300, 600]
    with LocalHub() as hub:
        headers = {"Authorization": f"Bearer {hub.token}", "Content-Type": "application/x-ndjson"}
        for size in args.sizes:
            name = f"r{size}-{uuid.uuid4().hex[:6]}"
            created = httpx.post(
                f"{hub.endpoint}/api/repos/create",
                json={"name": name, "organization": "bench"},
                headers={"Authorization": headers["Authorization"]},
            )
            created.raise_for_status()
            if args.layout == "nested":
                paths = [f"d{i % 50}/sub{i % 7}/f{i}.txt" for i in range(size)]
            else:
                paths = [f"f{i}.txt" for i in range(size)]
            trees = hub.data_dir / "repos" / "model" / "bench" / name / "trees"
            url = f"{hub.endpoint}/api/models/bench/{name}/commit/main"
            start = time.perf_counter()
            httpx.post(url, content=_body(paths, "a"), headers=headers, timeout=600).raise_for_status()
            commit_s = time.perf_counter() - start
            after_first = _tree_bytes(trees)
            start = time.perf_counter()
            httpx.post(url, content=_body(["d0/one.txt"], "b"), headers=headers, timeout=600).raise_for_status()
            next_s = time.perf_counter() - start
            added = _tree_bytes(trees) - after_first
            print(
                f"{args.layout} N={size}: commit {commit_s:.2f} s ({after_first} tree bytes); "
                f"next one-file commit {next_s:.2f} s (+{added} tree bytes)"
            )
    print(f"files={size} commit_s={commit_s:.2f} next_commit_s={next_s:.2f} next_over_first={next_s / commit_s:.3f}")


if __name__ == "__main__":
    main()
