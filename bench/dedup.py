"""`python -m bench.dedup [--rows 100000] [--check-rows 5000] [--current-check-rows 50000] [--embed-rows 2000] [--small]`

Benchmark of the collection dedup/decontamination pipeline (docs/curation.md) on synthetic prompts with planted
near-duplicates and planted test-set overlaps:

1. our TF-IDF + n-gram pipeline (stages 1–2) on `--rows` prompts in 18 sources, run in a child process so its
   peak RSS (ru_maxrss) is the pipeline's own — targets ≤ 120 s and ≤ 4 GB on 2 cores;
2. on a `--check-rows` corpus from the same generator (same planting rates), the same pipeline vs a brute-force dense reference (dense N×N float64 cosine
   matrices, pairwise n-gram overlap matrices, a Python greedy loop — the original's algorithm with union-find
   semantics for the self n-gram step): the kept rows must be identical; the dense reference's time and peak
   RSS at that size, and the memory its N×N matrix would need at 70K rows;
3. on a `--current-check-rows` corpus, the pipeline vs the implementation before (per-step TF-IDF refit on
   raw texts and the blocked common/rare pair search: `PipelineConfig(tokenise_once=False,
   pair_search="blocked")`): kept rows, per-stage counts and credits must be identical;
4. MiniLM embedding throughput (sentences/s) on `--embed-rows` prompts, in batches (skipped if the model is
   absent), with the time 1M prompts take at that rate.

`--small` runs every part on a few thousand rows in seconds, in one interpreter (the smoke test of
tests/test_bench_small.py: the identity checks are the same, the peak RSS is then the whole bench's).
Numbers are printed side by side, wall and CPU seconds (other processes share the cores: CPU seconds are the
comparable number); the last line is
`rows=<N> seconds=<s> cpu_seconds=<c> peak_gb=<g> identical_at_<k>k=<bool> identical_to_current_at_<k>k=<bool>`.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/ is sys.path[0] when run as a script; a bench file named like a stdlib module (bench/select.py) would
# shadow it (subprocess imports `select`), so the script folder is dropped from the path before other imports.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

# (name, share of rows, self-dedup n): shares follow the original raw sizes (docs/curation.md), small sources padded.
SOURCE_SHAPE = [
    ("GPTFuzz", 100, 8), ("SimpleSafetyTests", 100, 8), ("MaliciousInstruct", 100, 8), ("QHarm", 100, 8),
    ("TDCRedTeaming", 100, 8), ("MaliciousInstructions", 100, 8), ("HarmfulQ", 200, 8), ("HExPHI", 330, 8),
    ("HarmBench", 300, 8), ("AttaQ", 1400, 7), ("HarmfulQA", 2000, 7), ("SafetyInstructions", 2500, 7),
    ("UltraSafety", 3000, 7), ("ALERT", 14800, 7), ("SaladBench", 21300, 8), ("PKUSafeRLHF", 36300, 6),
    ("BeaverTails", 60000, 5), ("wildjailbreak", 90000, 5),
]  # fmt: skip
TEST_SHAPE = [("StrongREJECT", 313), ("JBB-Behaviors", 100), ("SG-Bench", 1442), ("WildJailbreak-eval", 250),
              ("XSTest", 250), ("WildChat", 370)]  # fmt: skip


# ------------------------------------------------------------------------------------------------ synthetic data


_VOCABULARIES: dict[tuple[str, int], tuple[list[str], dict]] = {}  # (generator state, size) -> (words, state after)


def _vocabulary(rng: np.random.Generator, size: int) -> list[str]:
    # drawn once per generator state: a repeat (the measurements of one bench run share seed 0) returns the same
    # words and leaves the generator in the same state as drawing them again would
    key = (repr(rng.bit_generator.state), size)
    if key in _VOCABULARIES:
        words, state_after = _VOCABULARIES[key]
        rng.bit_generator.state = state_after
        return list(words)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    drawn = set()
    while len(drawn) < size:
        drawn.add("".join(rng.choice(letters, size=rng.integers(3, 10))))
    _VOCABULARIES[key] = (sorted(drawn), rng.bit_generator.state)
    return list(_VOCABULARIES[key][0])


def _edit(rng: np.random.Generator, text: str, vocab: list[str]) -> str:
    words = text.split()
    for _ in range(int(rng.integers(1, 3))):
        kind = rng.integers(0, 4)
        pos = int(rng.integers(0, len(words)))
        if kind == 0:
            words[pos] = words[pos].upper()
        elif kind == 1 and len(words) > 4:
            del words[pos]
        elif kind == 2:
            words.insert(pos, vocab[int(rng.integers(0, 2000))])
        else:
            words[pos] = words[pos] + "?"
    return " ".join(words)


def synthetic_corpus(rows: int, seed: int = 0) -> tuple[list[tuple[str, list[str], int]], list[tuple[str, list[str]]]]:
    """Return (training sources, test sets): Zipfian prompts, ~8% edited near-duplicates, ~1% planted test rows."""
    train, tests, _ = synthetic_corpus_with_kinds(rows, seed)
    return train, tests


def synthetic_corpus_with_kinds(rows: int, seed: int = 0):
    """Like `synthetic_corpus`, plus per training row its kind: "fresh", "duplicate" or "test_overlap"."""
    rng = np.random.default_rng(seed)
    vocab = _vocabulary(rng, 40_000)
    weights = 1.0 / np.arange(1, len(vocab) + 1) ** 1.05
    weights /= weights.sum()
    # the draw `rng.choice(len(vocab), size=length, p=weights)` does exactly this (same stream, same words);
    # computing the CDF once instead of per sentence makes the million-row corpus take seconds, not minutes
    cdf = weights.cumsum()
    cdf /= cdf[-1]

    def sentence() -> str:
        length = int(np.clip(rng.lognormal(2.8, 0.5), 4, 120))
        return " ".join(vocab[i] for i in cdf.searchsorted(rng.random(length), side="right"))

    tests = [(name, [sentence() for _ in range(size)]) for name, size in TEST_SHAPE]
    test_rows = [q for _, qs in tests for q in qs]
    total_share = sum(share for _, share, _ in SOURCE_SHAPE)
    sizes = [max(20, round(rows * share / total_share)) for _, share, _ in SOURCE_SHAPE]
    sizes[-1] += rows - sum(sizes)
    produced: list[str] = []
    train, kinds = [], []
    for (name, _, n), size in zip(SOURCE_SHAPE, sizes, strict=True):
        questions = []
        for _ in range(size):
            roll = rng.random()
            if roll < 0.08 and produced:  # near-duplicate of an earlier prompt (any source)
                questions.append(_edit(rng, produced[int(rng.integers(0, len(produced)))], vocab))
                kinds.append("duplicate")
            elif roll < 0.09:  # planted test-set overlap
                questions.append(_edit(rng, test_rows[int(rng.integers(0, len(test_rows)))], vocab))
                kinds.append("test_overlap")
            else:
                questions.append(sentence())
                kinds.append("fresh")
            produced.append(questions[-1])
        train.append((name, questions, n))
    return train, tests, kinds


# ------------------------------------------------------------------------------------------------ dense reference


def dense_reference(train, tests, ngram_n: int = 8, threshold: float = 0.6) -> list[tuple[str, str]]:
    """Collection steps 1–2 with dense matrices (union-find semantics for the self n-gram step)."""
    from scipy.sparse.csgraph import connected_components
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    def norm(text: str) -> str:
        return " ".join(text.lower().split())

    def ngram_sets(texts, n):
        out = []
        for text in texts:
            tokens = norm(text).split()
            grams = {" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}
            grams.add("\x00" + " ".join(tokens))  # the whole-text key (short texts are checked too)
            out.append(grams)
        return out

    def overlap_matrix(left, right):
        vectorizer = CountVectorizer(analyzer=lambda grams: list(grams), binary=True)
        matrix = vectorizer.fit_transform(left + right)
        a, b = matrix[: len(left)], matrix[len(left) :]
        return (a @ b.T).toarray() > 0  # dense N×M boolean

    pool = [q for _, qs in tests for q in qs]
    stage1: list[tuple[str, str]] = []
    for name, questions, n in train:
        rows = list(questions)
        if rows:
            sets = ngram_sets(rows, n)
            linked = np.triu(overlap_matrix(sets, sets), 1)
            _, labels = connected_components(linked, directed=False)
            first = {}
            rows = [q for i, q in enumerate(rows) if first.setdefault(labels[i], i) == i]
        if rows and pool:
            hit = overlap_matrix(ngram_sets(rows, 8), ngram_sets(pool, 8)).any(axis=1)
            rows = [q for q, h in zip(rows, hit, strict=True) if not h]
        if rows and pool:
            matrix = TfidfVectorizer().fit_transform(pool + rows)
            sims = cosine_similarity(matrix[len(pool) :], matrix[: len(pool)])  # dense rows × |R| float64
            rows = [q for q, s in zip(rows, sims.max(axis=1), strict=True) if s < threshold]
        pool.extend(rows)
        stage1.extend((q, name) for q in rows)
    matrix = TfidfVectorizer().fit_transform([q for q, _ in stage1])
    sims = cosine_similarity(matrix)  # dense N×N float64, as in the original
    accepted: list[int] = []
    for j in range(len(stage1)):
        if not accepted or sims[j, accepted].max() < threshold:
            accepted.append(j)
    return [stage1[j] for j in accepted]


# ------------------------------------------------------------------------------------------------ child processes


def _ours(
    train, tests, current: bool = False, workers: int | None = None
) -> tuple[list[tuple[str, str]], dict[str, float], dict]:
    """The pipeline; `current=True` switches back to the implementation before (per-step refit, blocked search)."""
    from star1_hub.collect.decontaminate import PipelineConfig, SourceRows, run_pipeline

    config = PipelineConfig(tokenise_once=False, pair_search="blocked") if current else PipelineConfig(workers=workers)
    result = run_pipeline([SourceRows(n, q, k) for n, q, k in train], [SourceRows(n, q) for n, q in tests], config)
    accounting = {"counts": result.counts, "caught_by": result.caught_by}
    return list(zip(result.questions, result.sources, strict=True)), result.timings_s, accounting


def _cpu_seconds_and_peak_kb() -> tuple[float, int]:
    """CPU seconds of this process and its finished children, and the sum of their peak RSS (KiB on Linux).

    The pipeline forks a worker for one tokenisation; the sum of the two peaks bounds their joint peak from
    above, so the reported peak is never an understatement.
    """
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    return cpu, own.ru_maxrss + children.ru_maxrss


def _measure(mode: str, rows: int, check_rows: int, workers: int | None = None) -> dict:
    # the check corpus is drawn by the same generator at its own size, so it keeps the planted duplicate and
    # test-overlap rates (a slice of the 100K corpus would lose most duplicates' originals)
    train, tests, kinds = synthetic_corpus_with_kinds(check_rows or rows)
    n_in = sum(len(q) for _, q, _ in train)
    cpu_before, _ = _cpu_seconds_and_peak_kb()
    started = time.perf_counter()
    timings, accounting = {}, {}
    if mode in ("ours", "current"):
        kept, timings, accounting = _ours(train, tests, current=mode == "current", workers=workers)
    else:
        kept = dense_reference(train, tests)
    seconds = time.perf_counter() - started
    kept_set = {(q, name) for q, name in kept}
    planted = {"duplicate": [0, 0], "test_overlap": [0, 0]}  # kind -> [planted, removed]
    rows_in = [(q, name) for name, qs, _ in train for q in qs]
    for row, kind in zip(rows_in, kinds, strict=True):
        if kind in planted:
            planted[kind][0] += 1
            planted[kind][1] += row not in kept_set
    cpu_after, peak_kb = _cpu_seconds_and_peak_kb()
    cpu_s = cpu_after - cpu_before
    return {
        "rows": n_in,
        "seconds": seconds,
        "kept": kept,
        "timings": timings,
        "accounting": accounting,
        "peak_gb": peak_kb / 1024**2,
        "cpu_s": cpu_s,
        "planted": planted,
    }


def run_child(mode: str, rows: int, check_rows: int = 0, workers: int | None = None, in_process: bool = False) -> dict:
    """Run one measurement in a fresh interpreter; its result carries that process's own peak RSS (GB).

    `in_process=True` (the `--small` smoke run) measures in this interpreter instead: the same rows and the same
    identity checks without an interpreter start per measurement, but the peak RSS is then this process's.
    """
    if in_process:
        return json.loads(json.dumps(_measure(mode, rows, check_rows, workers)))  # the same types as from a child
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable, __file__, "--child", mode, "--rows", str(rows), "--check-rows", str(check_rows)]
        command += ["--out", str(out)] + (["--workers", str(workers)] if workers else [])
        subprocess.run(command, check=True)
        return json.loads(out.read_text())


def embedding_throughput(rows: int, num_threads: int | None = None) -> tuple[float, float, str] | None:
    """MiniLM sentences per wall second and per CPU second (None when the package is absent).

    Uses the real English XSTest prompts (repeated up to `rows`) when the reference data is present — the
    synthetic pseudo-words split into many word pieces and would understate the throughput — else synthetic ones.
    """
    try:
        from star1_hub.collect.dedup import MiniLMEncoder

        encoder = MiniLMEncoder(num_threads=num_threads)
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        print(f"embeddings skipped: {exc}")
        return None
    from star1_hub.home import shared_data_dir

    shared = shared_data_dir()
    if shared is not None and (shared / "xstest_prompts.csv").is_file():
        import csv

        with open(shared / "xstest_prompts.csv", encoding="utf-8") as handle:
            prompts = [row["prompt"] for row in csv.DictReader(handle)]
        texts, kind = (prompts * (rows // len(prompts) + 1))[:rows], "XSTest prompts"
    else:
        train, _ = synthetic_corpus(rows * 2)
        texts, kind = [q for _, qs, _ in train for q in qs][:rows], "synthetic prompts"
    encoder.encode(texts[:64])  # warm-up
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    encoder.encode(texts)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return len(texts) / seconds, len(texts) / (usage.ru_utime + usage.ru_stime - cpu_before), kind


def torch_threads() -> int:
    """torch's intra-op thread count (the embedding stage's parallelism)."""
    import torch

    return torch.get_num_threads()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--check-rows", type=int, default=5_000)
    parser.add_argument("--embed-rows", type=int, default=2_000)
    parser.add_argument("--current-check-rows", type=int, default=50_000, help="0 skips the check")
    parser.add_argument("--small", action="store_true", help="a few thousand rows: every part in seconds")
    parser.add_argument("--workers", type=int, help="processes/threads of the pipeline (default: the usable cores)")
    parser.add_argument("--child", choices=["ours", "current", "dense"])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.child:
        args.out.write_text(json.dumps(_measure(args.child, args.rows, args.check_rows, args.workers)))
        return
    if args.small:
        args.rows, args.check_rows, args.current_check_rows, args.embed_rows = 2_000, 600, 1_000, 0

    print(
        f"cpu cores available: {len(os.sched_getaffinity(0))}; load average {os.getloadavg()[0]:.1f} "
        "(other processes share these cores: wall times are contended, CPU seconds are not)"
    )
    here = args.small
    small_ours = run_child("ours", args.rows, args.check_rows, args.workers, in_process=here)
    small_dense = run_child("dense", args.rows, args.check_rows, in_process=here)
    identical = small_ours["kept"] == [list(pair) for pair in small_dense["kept"]]
    n_small = small_ours["rows"]
    print(f"\n== {n_small} rows: ours vs brute-force dense reference (stages 1–2) ==")
    print(f"{'':24}{'ours':>12}{'dense':>12}{'ratio':>10}")
    print(f"{'seconds':24}{small_ours['seconds']:>12.2f}{small_dense['seconds']:>12.2f}"
          f"{small_dense['seconds'] / small_ours['seconds']:>9.1f}x")  # fmt: skip
    print(f"{'CPU seconds':24}{small_ours.get('cpu_s', 0):>12.2f}{small_dense.get('cpu_s', 0):>12.2f}")
    print(f"{'peak RSS (GB)':24}{small_ours['peak_gb']:>12.2f}{small_dense['peak_gb']:>12.2f}")
    print(f"{'rows in':24}{small_ours['rows']:>12}{small_dense['rows']:>12}")
    print(f"{'rows kept':24}{len(small_ours['kept']):>12}{len(small_dense['kept']):>12}")
    print(f"identical kept rows (same order): {identical}")
    print(f"dense N×N float64 similarity matrix at 70,000 rows: {8 * 70_000**2 / 1024**3:.1f} GiB "
          f"(at {n_small}: {8 * n_small**2 / 1024**3:.2f} GiB)")  # fmt: skip

    same_as_current = None
    if args.current_check_rows:
        new = run_child("ours", args.rows, args.current_check_rows, args.workers, in_process=here)
        current = run_child("current", args.rows, args.current_check_rows, in_process=here)
        same_as_current = new["kept"] == current["kept"] and new["accounting"] == current["accounting"]
        print(f"\n== {new['rows']} rows: ours vs the implementation before (refit per step, blocked search) ==")
        print(f"{'':24}{'ours':>12}{'before':>12}")
        print(f"{'seconds':24}{new['seconds']:>12.2f}{current['seconds']:>12.2f}")
        print(f"{'CPU seconds':24}{new['cpu_s']:>12.2f}{current['cpu_s']:>12.2f}")
        print(f"{'peak RSS (GB)':24}{new['peak_gb']:>12.2f}{current['peak_gb']:>12.2f}")
        print(f"{'rows kept':24}{len(new['kept']):>12}{len(current['kept']):>12}")
        print(f"identical kept rows, counts and credits: {same_as_current}")

    full = run_child("ours", args.rows, 0, args.workers, in_process=here)
    print(f"\n== {full['rows']} rows: ours (TF-IDF + n-gram stages 1–2) ==")
    print(f"wall seconds {full['seconds']:.1f} (target ≤ 120), CPU seconds {full.get('cpu_s', 0):.1f}, "
          f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip
    for kind, (count, removed) in full["planted"].items():
        print(f"planted {kind.replace('_', ' ')} rows: {count}, removed {removed} ({removed / max(count, 1):.1%})")
    print(f"peak RSS {full['peak_gb']:.2f} GB (target ≤ 4); "
          f"kept {len(full['kept'])}; stage timings {json.dumps({k: round(v, 1) for k, v in full['timings'].items()})}")  # fmt: skip
    for threads in (None, 1):
        measured = embedding_throughput(args.embed_rows, threads) if args.embed_rows else None
        if measured is None:
            break
        throughput, per_cpu_second, kind = measured
        print(f"MiniLM embeddings, torch threads {threads or torch_threads()}: {throughput:.0f} sentences/s wall, "
              f"{per_cpu_second:.0f} per CPU second ({args.embed_rows} {kind}, batches of 64); "
              f"70,000 prompts ≈ {70_000 / throughput / 60:.1f} min, 1,000,000 ≈ {1e6 / throughput / 60:.0f} min "
              f"(≈ {1e6 / per_cpu_second / 3600:.1f} CPU hours)")  # fmt: skip
    current_part = ""
    if same_as_current is not None:
        current_part = f" identical_to_current_at_{round(new['rows'] / 1000)}k={same_as_current}"
    print(f"rows={full['rows']} seconds={full['seconds']:.1f} cpu_seconds={full['cpu_s']:.1f} "
          f"peak_gb={full['peak_gb']:.2f} identical_at_{round(n_small / 1000)}k={identical}{current_part}")  # fmt: skip
    if not identical or same_as_current is False:
        sys.exit(1)


if __name__ == "__main__":
    main()
