"""Provider Batch API mode against the scripted server's /v1/files and /v1/batches."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from star1_hub.teacher import TeacherEngine
from star1_hub.teacher.cache import CACHE_FILENAME
from star1_hub.testing.scripted_server import ScriptedServer
from tests.teacher.helpers import echo, fast_config, questions

REPO_ROOT = Path(__file__).resolve().parents[2]
PRICES = {"scripted-model": (1.0, 2.0)}

CHILD = """
import sys
from pathlib import Path
from star1_hub.teacher import ChatRequest, EngineConfig, TeacherEngine
base_url, cache_dir, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
requests = [ChatRequest(messages=[{"role": "user", "content": f"q{i}"}], params={"max_tokens": 16}) for i in range(n)]
engine = TeacherEngine(EngineConfig(base_url=base_url, model="scripted-model", api_key="test-key", batch_api=True,
                                    batch_poll_s=0.1, cache_dir=Path(cache_dir), progress=False, stage="test"))
engine.run(requests)
"""


def test_batch_mode_returns_ordered_results_at_half_price_and_caches_them(tmp_path):
    with ScriptedServer(responder=echo, batch_delay_s=0.2) as server:
        cfg = fast_config(server.base_url, batch_api=True, batch_poll_s=0.05, cache_dir=tmp_path, prices=PRICES)
        engine = TeacherEngine(cfg)
        results = engine.run(questions(30))
        assert server.batches_created == 1 and server.request_count == 30
        assert [r.text for r in results] == [f"echo: q{i}" for i in range(30)]
        acc = engine.accounting.to_dict()
        full_price = (acc["prompt_tokens"] * 1.0 + acc["completion_tokens"] * 2.0) / 1e6
        assert acc["requests_sent"] == 30 and acc["batch_api"] is True
        assert acc["cost_usd"] == round(full_price * 0.5, 6) > 0
        rerun = TeacherEngine(cfg).run(questions(30))  # served from the same cache, no new job
        assert server.batches_created == 1 and all(r.cached for r in rerun)


def test_batch_lines_with_bad_finish_reason_fail_with_their_reason(tmp_path):
    with ScriptedServer(responder=echo, faults={"length": 0.3, "server_error": 0.2}, seed=1) as server:
        cfg = fast_config(server.base_url, batch_api=True, batch_poll_s=0.05, cache_dir=tmp_path)
        results = TeacherEngine(cfg).run(questions(40))
    errors = {r.error for r in results}
    assert errors == {None, "length", "server_error"}
    assert all(r.text == f"echo: q{i}" for i, r in enumerate(results) if r.ok)


def _submitted_jobs(cache_dir: Path) -> int:
    if not (cache_dir / CACHE_FILENAME).exists():
        return 0
    db = sqlite3.connect(cache_dir / CACHE_FILENAME, timeout=30)
    try:
        return db.execute("SELECT COUNT(*) FROM batches WHERE state = 'submitted'").fetchone()[0]
    except sqlite3.OperationalError:  # the child has not created the tables yet
        return 0
    finally:
        db.close()


def test_killed_batch_run_resumes_by_polling_the_persisted_job(tmp_path):
    # The job stays in progress until released, so the child is killed while it surely is, however slowly it starts
    with ScriptedServer(hold_batches=True) as server:
        env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
        child = subprocess.Popen([sys.executable, "-c", CHILD, server.base_url, str(tmp_path), "25"], env=env)
        deadline = time.monotonic() + 60
        while _submitted_jobs(tmp_path) == 0 and time.monotonic() < deadline:  # the child persisted the job id
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert server.batches_created == 1 and _submitted_jobs(tmp_path) == 1
        threading.Timer(0.5, server.release_batches).start()  # the re-run polls the job in progress, then done
        engine = TeacherEngine(fast_config(server.base_url, batch_api=True, batch_poll_s=0.1, cache_dir=tmp_path))
        results = engine.run(questions(25))
        assert server.batches_created == 1, "the re-run submitted (and paid for) the job again"
        assert server.request_count == 25 and all(r.ok for r in results)
        assert engine.accounting.requests_sent == 0
