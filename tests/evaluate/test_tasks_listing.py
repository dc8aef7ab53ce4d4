"""`star1 eval tasks` at 80 columns shows every task name whole; `--json` parses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from star1_hub.evaluate.registry import all_tasks

STAR1 = str(Path(sys.executable).with_name("star1"))


def _run(*args: str) -> str:
    env = {**os.environ, "COLUMNS": "80"}
    done = subprocess.run([STAR1, "eval", *args], capture_output=True, text=True, env=env, timeout=300, check=True)
    return done.stdout


def test_every_task_name_is_whole_at_80_columns():
    lines = _run("tasks").splitlines()
    assert max(len(line) for line in lines) <= 80
    for name in all_tasks():
        assert any(name in line.split("│")[1] for line in lines if line.count("│") > 1), name


def test_tasks_json_lists_every_task():
    rows = json.loads(_run("tasks", "--json"))
    assert {row["name"] for row in rows} == set(all_tasks())
