"""The task files are real lighteval custom-task files: `lighteval accelerate --custom-tasks <file>` runs one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_lighteval_accelerate_runs_a_task_file(embedded_model, eval_task_sources, tmp_path):
    # a relative model name keeps lighteval's sample cache under cache_dir (an absolute one writes into the model dir)
    (tmp_path / "model").symlink_to(embedded_model)
    lighteval = Path(sys.executable).with_name("lighteval")
    env = os.environ | {
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "STAR1_EVAL_MAX_NEW_TOKENS": "8",
        "STAR1_EVAL_SOURCE_AIME24": eval_task_sources["aime24"],
        "STAR1_HOME": str(tmp_path / "home"),
        "PYTHONPATH": str(REPO),
    }
    command = [
        str(lighteval), "accelerate", f"model_name=model,device=cpu,batch_size=2,dtype=float32,cache_dir={tmp_path / 'cache'}",
        "star1_aime24|0", "--custom-tasks", str(REPO / "star1_hub/evaluate/tasks/reasoning/aime24.py"),
        "--output-dir", str(tmp_path / "out"), "--save-details", "--max-samples", "2",
    ]  # fmt: skip
    proc = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (results_file,) = (tmp_path / "out" / "results").rglob("results_*.json")
    results = json.loads(results_file.read_text())["results"]
    assert "pass@1" in results["star1_aime24|0"]
    assert list((tmp_path / "out" / "details").rglob("details_star1_aime24*.parquet"))
