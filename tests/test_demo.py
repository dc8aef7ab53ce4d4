"""The demo explains itself: where its Hub is kept and how to serve it again (the closing hint works as printed),
what the score table's headline measures and which direction is better, and why its outputs are truncated."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from star1_hub import demo
from star1_hub.evaluate.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[1]
STAR1_BIN = Path(sys.executable).with_name("star1")


def test_without_keep_the_hub_is_temporary_and_the_hint_says_how_to_keep_it(monkeypatch):
    monkeypatch.delenv(demo.DATA_DIR_ENV, raising=False)
    assert demo.kept_hub_dir(None, keep=False) is None
    hint = demo.closing_hint(None)
    assert "python -m star1_hub.demo --keep" in hint and f"{demo.DATA_DIR_ENV}=DIR" in hint
    assert "star1 leaderboard serve --org demo" in hint


def test_keep_uses_the_data_dir_variable_then_star1_home(monkeypatch, tmp_path):
    monkeypatch.setenv("STAR1_HOME", str(tmp_path / "home"))
    monkeypatch.delenv(demo.DATA_DIR_ENV, raising=False)
    assert demo.kept_hub_dir(None, keep=True) == (tmp_path / "home" / "demo-hub").resolve()
    monkeypatch.setenv(demo.DATA_DIR_ENV, str(tmp_path / "mine"))
    assert demo.kept_hub_dir(None, keep=False) == (tmp_path / "mine").resolve()
    assert demo.kept_hub_dir(tmp_path / "flag", keep=False) == (tmp_path / "flag").resolve()  # --hub-dir wins


def test_an_earlier_demo_hub_is_replaced_and_any_other_folder_refused(monkeypatch, tmp_path):
    monkeypatch.delenv(demo.DATA_DIR_ENV, raising=False)
    earlier = tmp_path / "earlier"
    (earlier / "repos").mkdir(parents=True)
    (earlier / "admin-token").write_text("x")
    (earlier / demo.DEMO_MARKER).write_text("x")
    assert demo.kept_hub_dir(earlier, keep=False) == earlier.resolve() and not earlier.exists()
    own_hub = tmp_path / "star1-hub"  # a Hub of the user's own (`star1 hub serve --data-dir`): never touched
    (own_hub / "repos").mkdir(parents=True)
    (own_hub / "admin-token").write_text("x")
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"")
    for folder in (own_hub, foreign):
        with pytest.raises(ValueError, match="not empty and is not a Hub an earlier demo kept"):
            demo.kept_hub_dir(folder, keep=False)
    assert (own_hub / "admin-token").exists() and (foreign / "cat.jpg").exists()


def test_score_table_says_what_the_headline_measures_and_why_outputs_are_truncated(tmp_path, capsys):
    tasks = {
        "demo_xstest": {"headline": 75.0, "headline_metric": "compliance_rate_llm", "n": 8, "n_truncated": 8},
        "demo_harmful": {"headline": 62.5, "headline_metric": "safety_rate_full", "n": 8, "n_truncated": 7},
        "demo_math": {"headline": 0.0, "headline_metric": "pass@1", "n": 4, "n_truncated": 4},
    }
    (tmp_path / "results.json").write_text(json.dumps({"tasks": tasks}))
    rows = demo.score_rows(
        {"base": {"model": "demo/SmolLM2-135M-Instruct", "results_path": tmp_path / "results.json"}}
    )
    assert [(r["task"], r["headline"], r["truncated"]) for r in rows] == [
        ("demo_xstest", "75.0", 8),
        ("demo_harmful", "62.5", 7),
        ("demo_math", "0.0", 4),
    ]
    demo.print_scores({"base": {"model": "demo/SmolLM2-135M-Instruct", "results_path": tmp_path / "results.json"}})
    printed = capsys.readouterr().out
    assert "base (demo/SmolLM2-135M-Instruct)" in printed and "headline %" in printed
    text = "\n".join(demo.explain_scores(rows, load_recipe("cpu-demo")))
    assert " ".join(text.split()) in " ".join(printed.split())
    assert "higher is better for every task" in text
    for metric in ("compliance_rate_llm", "safety_rate_full", "pass@1"):
        assert f"  {metric}: {demo.HEADLINES[metric]}" in text
    assert "19 of 20 outputs stopped at the `cpu-demo` recipe's token budget (safety 64, default 96" in text
    assert "the 135M model at the demo's budget" in text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_kept_hub_serves_again_with_the_printed_commands(tmp_path, embedded_model):
    """`python -m star1_hub.demo --keep` (the Hub stages only) ends with lines that work when pasted: serve the kept
    Hub, export, read the demo's data. Only the port is changed here (8811 may be taken on a test machine)."""
    env = {**os.environ, demo.DATA_DIR_ENV: str(tmp_path / "kept"), "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "star1_hub.demo", "--skip-vllm"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    serve = next(line.strip() for line in lines if line.strip().startswith("star1 hub serve --data-dir"))
    export = next(line.strip() for line in lines if line.strip().startswith("export HF_ENDPOINT="))
    assert any(line.strip() == "star1 leaderboard serve --org demo" for line in lines)
    assert (tmp_path / "kept" / demo.DEMO_MARKER).is_file()  # a second run may replace it
    port = _free_port()
    serve, export = (re.sub(r"\b8811\b", str(port), text) for text in (serve, export))
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("HF_") or k == "HF_HOME"}
    clean_env["PATH"] = f"{STAR1_BIN.parent}:{clean_env.get('PATH', '')}"
    clean_env["HF_HOME"] = str(tmp_path / "hf-home")
    server = subprocess.Popen(["bash", "-c", f"exec {serve}"], env=clean_env, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120  # a bound against a hang, not a speed claim
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/whoami-v2", timeout=5)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "the printed `hub serve` did not start"
                time.sleep(0.1)
        shown = subprocess.run(
            ["bash", "-c", f"{export}; star1 data show demo/STAR-1-sample@v1 --json"],
            env=clean_env,
            capture_output=True,
            text=True,
        )
        assert shown.returncode == 0, shown.stdout + shown.stderr
        assert json.loads(shown.stdout)["rows"] == 20
    finally:
        server.terminate()
        server.wait(timeout=30)
