"""python -m bench.select [--ref-rows 6000] [--n 1000] [--rows 41000] [--small]

Diversity selection (spec §5.5): the incremental `select_indices` against `reference_select`, a straightforward
re-implementation of the original loop (all weights recomputed after every removal, O(N) per removal).
Synthetic scored rows follow STAR-1's source and category mix (spec §7). Both run on the same `--ref-rows`
input (the reference is too slow for 41K) and must keep identical rows; the incremental one is also timed on
`--rows`. Last line: `speedup=<x> identical=<bool>`. `--small` (seconds, run by tests/test_bench_small.py):
600 -> 100 rows for both, 4,000 -> 100 for the incremental one.
"""

from __future__ import annotations

import argparse
import random
import time

from star1_hub.curate.select import reference_select, select_indices
from star1_hub.data.schema import CATEGORIES

# Released STAR-1 (spec §7): rows per source, label counts per category, labels per row.
SOURCES = {
    "SaladBench": 298, "wildjailbreak": 261, "ALERT": 139, "PKUSafeRLHF": 94, "BeaverTails": 67,
    "SafetyInstructions": 37, "HarmBench": 31, "AttaQ": 24, "UltraSafety": 19, "HExPHI": 16,
    "SimpleSafetyTests": 4, "GPTFuzz": 2, "MaliciousInstructions": 2, "HarmfulQA": 2, "MaliciousInstruct": 1,
    "QHarm": 1, "TDCRedTeaming": 1, "HarmfulQ": 1,
}  # fmt: skip
CATEGORY_WEIGHTS = dict(zip(CATEGORIES, (165, 52, 93, 85, 381, 152, 229, 159), strict=True))
LABELS_PER_ROW = {1: 700, 2: 285, 3: 14, 4: 1}


def synthetic_rows(count: int, seed: int = 0) -> list[dict]:
    """`count` scored rows with STAR-1's source / category / label-count mix, ids "1".."count" shuffled."""
    rng = random.Random(seed)
    sources, source_w = list(SOURCES), list(SOURCES.values())
    rows = []
    for i in range(count):
        k = rng.choices(list(LABELS_PER_ROW), weights=list(LABELS_PER_ROW.values()))[0]
        labels: list[str] = []
        while len(labels) < k:
            label = rng.choices(CATEGORIES, weights=list(CATEGORY_WEIGHTS.values()))[0]
            if label not in labels:
                labels.append(label)
        rows.append({"id": str(i + 1), "source": rng.choices(sources, weights=source_w)[0], "category": labels})
    rng.shuffle(rows)
    return rows


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref-rows", type=int, default=6000, help="input size where both implementations run")
    parser.add_argument("--n", type=int, default=1000, help="rows to keep")
    parser.add_argument("--rows", type=int, default=41000, help="input size for the incremental-only timing")
    parser.add_argument("--small", action="store_true", help="seconds, not minutes: 600 -> 100, then 4,000 -> 100")
    args = parser.parse_args()
    if args.small:
        args.ref_rows, args.n, args.rows = 600, 100, 4000

    small = synthetic_rows(args.ref_rows, seed=1)
    fast, t_fast = timed(select_indices, small, args.n)
    ref, t_ref = timed(reference_select, small, args.n)
    identical = sorted(fast) == sorted(ref) and len(fast) == args.n
    print(f"{args.ref_rows} -> {args.n}: reference {t_ref:.2f} s, incremental {t_fast:.3f} s")

    big = synthetic_rows(args.rows, seed=2)
    kept, t_big = timed(select_indices, big, args.n)
    assert len(kept) == args.n
    print(f"{args.rows} -> {args.n}: incremental {t_big:.2f} s ({args.rows - args.n} removals)")
    # The reference is O(N) per removal: extrapolate its 41K time from the measured per-row-removal cost.
    removals_small, removals_big = args.ref_rows - args.n, args.rows - args.n
    mean_small = (args.ref_rows + args.n) / 2
    mean_big = (args.rows + args.n) / 2
    est_ref_big = t_ref / (removals_small * mean_small) * removals_big * mean_big
    print(f"{args.rows} -> {args.n}: reference estimated {est_ref_big / 60:.0f} min (not run; O(N^2) extrapolation)")
    if not identical:
        raise SystemExit(f"speedup={t_ref / t_fast:.1f} identical=False")
    print(f"speedup={t_ref / t_fast:.1f} identical={identical}")


if __name__ == "__main__":
    main()
