"""The mistakes a new user makes, through the real `star1` executable against the session Hub.

Each case must end with exit code 2 and at most 3 lines on stderr that name the value at fault — no traceback
unless `-v` is given — and library loggers must stay quiet. The cases are one table: when a command changes its
flags, adjust its row.

The recipe cases (`in_process=True`) run the same command through click's CliRunner in the test process: what
they check is the recipe validation's message and exit code, not the process, and each `star1 train` process
would import torch, transformers and TRL again (~9 CPU s). The quiet library loggers are checked on the
executable (the other cases and the two tests after the table). The module is one xdist group, so the published
repo the cases refer to is made once.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.xdist_group("cli-errors")

REPO_ROOT = Path(__file__).resolve().parents[1]
STAR1 = Path(sys.executable).with_name("star1")
SAMPLE = REPO_ROOT / "star1_hub" / "data" / "samples" / "star1_sample.json"
SMOKE_RECIPE = REPO_ROOT / "recipes" / "smoke" / "sft_full.yaml"
MAX_STDERR_LINES = 3


def run_star1(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run `.venv/bin/star1 ARGS` with the session's Hub environment (plus `env`), 80 columns wide."""
    full_env = {**os.environ, "COLUMNS": "80", **(env or {})}
    full_env.pop("STAR1_EVAL_SOURCE_AIME24", None)
    return subprocess.run(
        [str(STAR1), *args], capture_output=True, text=True, env=full_env, cwd=cwd or REPO_ROOT, timeout=600
    )


def run_in_process(*args: str) -> subprocess.CompletedProcess:
    """`star1 ARGS` through click's CliRunner in this process (80 columns), as a CompletedProcess."""
    from typer.testing import CliRunner

    from star1_hub.cli import app

    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "80"})
    return subprocess.CompletedProcess(["star1", *args], result.exit_code, result.stdout, result.stderr)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class World:
    """What the cases refer to: an org, a published STAR-1 repo (tag v1), recipes in a temp folder."""

    org: str
    repo: str
    tmp: Path
    embedded_model: Path
    recipes: dict[str, Path] = field(default_factory=dict)


@pytest.fixture(scope="module")
def world(local_hub, embedded_model, tmp_path_factory) -> World:
    org = f"cli-errors-{uuid.uuid4().hex[:8]}"
    repo = f"{org}/STAR-1"
    published = run_star1("data", "publish", str(SAMPLE), "--repo", repo, "--kind", "star1", "--tag", "v1")
    assert published.returncode == 0, published.stderr
    tmp = tmp_path_factory.mktemp("cli-errors")
    recipe = SMOKE_RECIPE.read_text(encoding="utf-8")
    good = "\n".join(
        f"dataset_name: {repo}" if line.startswith("dataset_name:") else line for line in recipe.splitlines()
    )
    assert "max_steps: 2" in good
    recipes = {
        "good": good,
        "broken": good.replace("max_steps: 2", "max_steps: [2"),  # unclosed flow sequence
        "bad-value": good.replace("max_steps: 2", "max_steps: two"),
    }
    paths = {}
    for name, text in recipes.items():
        paths[name] = tmp / f"{name}.yaml"
        paths[name].write_text(text + "\n", encoding="utf-8")
    return World(org, repo, tmp, embedded_model, paths)


@dataclass
class Case:
    """One user error: the command line (built from the world), the values stderr must name, extra env."""

    name: str
    args: object  # Callable[[World], list[str]]
    names: object  # Callable[[World], list[str]]
    env: dict[str, str] = field(default_factory=dict)
    in_process: bool = False  # through CliRunner (no env: the Hub libraries read theirs at import)


CASES = [
    Case("missing dataset repo", lambda w: ["data", "show", f"{w.org}/STAR-2"], lambda w: [f"{w.org}/STAR-2"]),
    Case("missing revision", lambda w: ["data", "show", f"{w.repo}@v9"], lambda w: ["v9", w.repo]),
    Case("missing config", lambda w: ["data", "show", w.repo, "--config", "scored"], lambda w: ["'scored'"]),
    Case(
        "curate input repo missing",
        lambda w: [
            "curate",
            "classify",
            "--input",
            f"{w.org}/nope",
            "--output",
            f"{w.org}/out",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--model",
            "m",
        ],
        lambda w: [f"{w.org}/nope"],
    ),  # fmt: skip
    Case(
        "stage config mismatch",  # reason reads config `classified`; the repo only has `default`
        lambda w: [
            "curate",
            "reason",
            "--input",
            w.repo,
            "--output",
            f"{w.org}/out",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--model",
            "m",
        ],
        lambda w: ["classified", "default"],
    ),  # fmt: skip
    Case(
        "train dataset missing",
        lambda w: ["train", str(w.recipes["good"]), "--dataset_name", f"{w.org}/nope", "--dry-run"],
        lambda w: [f"{w.org}/nope"],
        in_process=True,
    ),
    Case(
        "eval local model folder missing",
        lambda w: [
            "eval",
            "run",
            "--model",
            "./tiny-model",
            "--suite",
            "demo",
            "--recipe",
            "cpu-demo",
            "--backend",
            "inprocess",
            "--max-samples",
            "2",
        ],
        lambda w: ["./tiny-model"],
    ),  # fmt: skip
    Case(
        "eval task without offline data",
        lambda w: [
            "eval",
            "run",
            "--model",
            str(w.embedded_model),
            "--tasks",
            "aime24",
            "--recipe",
            "cpu-demo",
            "--backend",
            "inprocess",
            "--max-samples",
            "1",
        ],
        lambda w: ["aime_2024"],
        env={"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"},
    ),  # fmt: skip
    Case(
        "eval endpoint unreachable",
        lambda w: [
            "eval",
            "run",
            "--model",
            w.repo,
            "--tasks",
            "aime24",
            "--recipe",
            "cpu-demo",
            "--base-url",
            f"http://127.0.0.1:{_closed_port()}/v1",
            "--max-samples",
            "1",
        ],
        lambda w: ["http://127.0.0.1:"],
    ),  # fmt: skip
    Case(
        "offline without a local copy",
        lambda w: ["data", "show", f"{w.repo}@v1"],
        lambda w: [w.repo, "hf download"],
        env={"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"},
    ),
    Case(
        "recipe missing",
        lambda w: ["train", str(w.tmp / "missing.yaml")],
        lambda w: ["missing.yaml"],
        in_process=True,
    ),
    Case(
        "broken YAML",
        lambda w: ["train", str(w.recipes["broken"]), "--dry-run"],
        lambda w: ["broken.yaml"],
        in_process=True,
    ),
    Case(
        "bad YAML value",
        lambda w: ["train", str(w.recipes["bad-value"]), "--dry-run"],
        lambda w: ["max_steps", "two"],
        in_process=True,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_user_error_is_one_clear_line_and_exit_code_2(world, case):
    assert not (case.in_process and case.env), "a case with its own env runs the executable"
    result = run_in_process(*case.args(world)) if case.in_process else run_star1(*case.args(world), env=case.env)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    assert "Traceback" not in result.stderr and "╭" not in result.stderr, result.stderr[-2000:]
    assert len(lines) <= MAX_STDERR_LINES, result.stderr
    for value in case.names(world):
        assert value in result.stderr, (value, result.stderr)
    assert not any(line.startswith("INFO httpx") for line in lines)


def test_verbose_adds_the_traceback(world):
    result = run_star1("-v", "data", "show", f"{world.repo}@v9")
    assert result.returncode == 2
    assert "Traceback (most recent call last)" in result.stderr and "RevisionNotFoundError" in result.stderr
    assert f"error: dataset '{world.repo}' has no revision 'v9'" in result.stderr  # plus the short message


def test_library_logs_are_quiet_on_success(world):
    result = run_star1("data", "show", f"{world.repo}@v1")
    assert result.returncode == 0, result.stderr
    assert world.repo in result.stdout and "│ rows" in result.stdout
    for library in ("httpx", "huggingface_hub", "datasets", "urllib3", "filelock"):
        assert f" {library}" not in result.stderr and not result.stderr.startswith(library), result.stderr
    loud = run_star1("-v", "data", "show", f"{world.repo}@v1")
    assert loud.returncode == 0 and "httpx" in loud.stderr  # -v lets them speak


# ---------------------------------------------------------------- explain() on errors the table above cannot reach
def test_bugs_keep_their_traceback():
    from star1_hub.cli_errors import explain

    assert explain(ValueError("invalid literal for int()")) is None
    assert explain(KeyError("response")) is None
    assert explain(TypeError("'NoneType' object has no attribute 'replace'")) is None


def test_library_errors_name_the_value(tmp_path):
    import httpx
    import pydantic

    from star1_hub.cli_errors import explain

    missing = tmp_path / "nope.json"
    with pytest.raises(FileNotFoundError) as caught:
        missing.read_text()
    assert str(missing) in explain(caught.value)[0]

    broken = tmp_path / "broken.yaml"
    broken.write_text("a: 1\nb: [2\nc: 3\n")
    with pytest.raises(yaml.YAMLError) as caught, broken.open() as stream:
        yaml.safe_load(stream)
    assert str(broken) in explain(caught.value)[0] and "line 3" in explain(caught.value)[0]

    class Options(pydantic.BaseModel):
        max_steps: int

    with pytest.raises(pydantic.ValidationError) as caught:
        Options(max_steps="two")
    assert "'max_steps'" in explain(caught.value)[0] and "'two'" in explain(caught.value)[0]

    url = f"http://127.0.0.1:{_closed_port()}/v1/models"
    with pytest.raises(httpx.ConnectError) as caught:
        httpx.get(url, timeout=5)
    assert url in explain(caught.value)[0]


def test_our_message_wins_over_the_library_error_it_wraps():
    from star1_hub.cli_errors import explain
    from star1_hub.errors import RecipeError

    try:
        try:
            raise FileNotFoundError(2, "No such file or directory", "x.yaml")
        except FileNotFoundError as exc:
            raise RecipeError("recipe x.yaml does not exist; packaged recipes: smoke/sft_full.yaml") from exc
    except RecipeError as exc:
        assert explain(exc) == ["error: recipe x.yaml does not exist; packaged recipes: smoke/sft_full.yaml"]
