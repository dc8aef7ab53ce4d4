"""A built wheel, installed outside the checkout, carries its package data: card templates, the Space app, eval
recipes and the task list (no `REPO_ROOT` lookups into a source tree)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
import star1_hub
from star1_hub.cards import render_card, template_names
from star1_hub.evaluate.recipe import load_recipe
from star1_hub.space.publish import space_files
card = render_card(
    "leaderboard_readme.md.jinja", org="o", rows=[], any_partial=False, rows_path="data/x.jsonl", plot_path=None
)
print(json.dumps({
    "package": star1_hub.__file__,
    "templates": template_names(),
    "card_ok": "# STAR-1 leaderboard (o)" in card,
    "space_app": len(space_files("o")["app.py"]),
    "paper_recipe": load_recipe("paper").name,
}))
"""


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory) -> tuple[Path, Path]:
    """`pip wheel . --no-deps` of a copy of the sources, installed with `--no-deps` into a fresh target dir."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, source / name)
    shutil.copytree(REPO_ROOT / "star1_hub", source / "star1_hub", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    built = subprocess.run(
        [*pip, "wheel", str(source), "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = next((tmp / "dist").glob("star1_hub-*.whl"))
    target = tmp / "target"
    installed = subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    outside = tmp / "elsewhere"
    outside.mkdir()
    return target, outside


def _run_outside(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    # -S: no site-packages .pth files, so the checkout's editable install cannot answer `import star1_hub`;
    # the virtualenv's site-packages still provide the dependencies.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), sysconfig.get_paths()["purelib"]])}
    return subprocess.run([sys.executable, "-S", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_wheel_outside_the_checkout_renders_cards_and_loads_the_paper_recipe(installed_wheel):
    target, outside = installed_wheel
    result = _run_outside(target, outside, "-c", PROBE)
    assert result.returncode == 0, result.stderr[-3000:]
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["package"].startswith(str(target))  # the wheel, not the checkout
    assert {"model_card.md.jinja", "leaderboard_readme.md.jinja", "space_readme.md.jinja"} <= set(probe["templates"])
    assert probe["card_ok"] and probe["space_app"] > 1000
    assert probe["paper_recipe"] == "paper"


@pytest.mark.slow
def test_wheel_outside_the_checkout_lists_every_task(installed_wheel):
    from star1_hub.evaluate.registry import all_tasks

    target, outside = installed_wheel
    result = _run_outside(target, outside, "-m", "star1_hub.cli", "eval", "tasks")
    assert result.returncode == 0, result.stderr[-3000:]
    listed = result.stdout
    missing = [name for name in all_tasks() if name not in listed]
    assert not missing, f"`star1 eval tasks` from the wheel does not list {missing}:\n{listed}"
